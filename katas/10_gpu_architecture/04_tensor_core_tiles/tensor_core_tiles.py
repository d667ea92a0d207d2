"""Tensor Core tiles: MMA shapes, padding, wave quantization and a tiled-matmul roofline.

See README.md. Every function raises ValueError when a size is not a positive int."""
from __future__ import annotations

# Warp-level mma.sync shapes (m, n, k) on sm_80 and sm_90 (PTX ISA, "Matrix shape"): one instruction
# multiplies an m x k tile of A by a k x n tile of B into an m x n tile of C.
MMA_SHAPES = {
    "sm_80": {"fp16": (16, 8, 16), "bf16": (16, 8, 16), "tf32": (16, 8, 8), "int8": (16, 8, 32), "fp64": (8, 8, 4)},
    "sm_90": {"fp16": (16, 8, 16), "bf16": (16, 8, 16), "tf32": (16, 8, 8), "int8": (16, 8, 32), "fp64": (8, 8, 4),
              "fp8": (16, 8, 32)},
}



def mma_shape(dtype, arch="sm_90"):
    """(m, n, k) of one mma.sync for this input dtype on this architecture; ValueError if it has none."""
    raise NotImplementedError("tensor_core_tiles.py: mma_shape()")



def padded(m, n, k, tm, tn, tk):
    """(M, N, K): each dimension rounded up to a whole number of tiles."""
    raise NotImplementedError("tensor_core_tiles.py: padded()")



def mma_instructions(m, n, k, dtype, arch="sm_90"):
    """How many mma.sync instructions C[m,n] += A[m,k] @ B[k,n] takes (partial tiles padded)."""
    raise NotImplementedError("tensor_core_tiles.py: mma_instructions()")



def wasted_fraction(m, n, k, tm, tn, tk):
    """The fraction of the padded problem's multiply-adds that are padding: 1 - mnk / (M N K)."""
    raise NotImplementedError("tensor_core_tiles.py: wasted_fraction()")



def waves(m, n, bm, bn, sms, ctas_per_sm=1):
    """(tiles, waves, efficiency) for a grid of one CTA per bm x bn output tile on `sms` SMs holding
    ctas_per_sm CTAs each: waves = ceil(tiles / slots); efficiency = tiles / (waves x slots)."""
    raise NotImplementedError("tensor_core_tiles.py: waves()")



def tile_intensity(bm, bn, dtype_bytes):
    """FLOPs per byte a CTA loads from global memory for its bm x bn tile, per step of k: each step
    loads a bm x 1 column of A and a 1 x bn row of B and does 2 bm bn FLOPs."""
    raise NotImplementedError("tensor_core_tiles.py: tile_intensity()")



def smallest_square_tile(peak_flops, bandwidth, dtype_bytes, multiple=16):
    """The smallest t, a multiple of `multiple`, whose t x t tile's intensity reaches the ridge point
    peak_flops / bandwidth (if no other CTA's loads were reused from L2)."""
    raise NotImplementedError("tensor_core_tiles.py: smallest_square_tile()")



def matmul_time(m, n, k, dtype_bytes, peak_flops, bandwidth, bm, bn, bk, sms, ctas_per_sm=1):
    """(seconds, bound) for a tiled matmul C[m,n] = A[m,k] @ B[k,n] on a GPU of `sms` SMs:
    compute: every wave runs like a full one: waves x slots x 2 bm bn K FLOPs (K = k padded to bk) at
             peak_flops;
    memory:  every tile reads its bm x K block of A and K x bn block of B, and C (m x n) is written
             once, all dtype_bytes an element, at `bandwidth`.
    bound is "compute" or "memory", whichever takes longer ("compute" on a tie)."""
    raise NotImplementedError("tensor_core_tiles.py: matmul_time()")
