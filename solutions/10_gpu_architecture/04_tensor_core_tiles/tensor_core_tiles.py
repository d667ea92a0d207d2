"""Tensor Core tiles: MMA shapes, padding, wave quantization and a tiled-matmul roofline. Reference."""
from __future__ import annotations

# Warp-level mma.sync shapes (m, n, k) on sm_80 and sm_90 (PTX ISA, "Matrix shape"): one instruction
# multiplies an m x k tile of A by a k x n tile of B into an m x n tile of C.
MMA_SHAPES = {
    "sm_80": {"fp16": (16, 8, 16), "bf16": (16, 8, 16), "tf32": (16, 8, 8), "int8": (16, 8, 32), "fp64": (8, 8, 4)},
    "sm_90": {"fp16": (16, 8, 16), "bf16": (16, 8, 16), "tf32": (16, 8, 8), "int8": (16, 8, 32), "fp64": (8, 8, 4),
              "fp8": (16, 8, 32)},
}


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _positive(**dims):
    for name, v in dims.items():
        if not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}={v!r}: must be a positive int")


def mma_shape(dtype, arch="sm_90"):
    """(m, n, k) of one mma.sync for this input dtype on this architecture; ValueError if it has none."""
    if arch not in MMA_SHAPES or dtype not in MMA_SHAPES[arch]:
        raise ValueError(f"no mma.sync for {dtype!r} on {arch!r}")
    return MMA_SHAPES[arch][dtype]


def padded(m, n, k, tm, tn, tk):
    """(M, N, K): each dimension rounded up to a whole number of tiles."""
    _positive(m=m, n=n, k=k, tm=tm, tn=tn, tk=tk)
    return _ceil(m, tm) * tm, _ceil(n, tn) * tn, _ceil(k, tk) * tk


def mma_instructions(m, n, k, dtype, arch="sm_90"):
    """How many mma.sync instructions C[m,n] += A[m,k] @ B[k,n] takes (partial tiles padded)."""
    tm, tn, tk = mma_shape(dtype, arch)
    _positive(m=m, n=n, k=k)
    return _ceil(m, tm) * _ceil(n, tn) * _ceil(k, tk)


def wasted_fraction(m, n, k, tm, tn, tk):
    """The fraction of the padded problem's multiply-adds that are padding: 1 - mnk / (M N K)."""
    M, N, K = padded(m, n, k, tm, tn, tk)
    return 1 - (m * n * k) / (M * N * K)


def waves(m, n, bm, bn, sms, ctas_per_sm=1):
    """(tiles, waves, efficiency) for a grid of one CTA per bm x bn output tile on `sms` SMs holding
    ctas_per_sm CTAs each: waves = ceil(tiles / slots); efficiency = tiles / (waves x slots)."""
    _positive(m=m, n=n, bm=bm, bn=bn, sms=sms, ctas_per_sm=ctas_per_sm)
    tiles = _ceil(m, bm) * _ceil(n, bn)
    slots = sms * ctas_per_sm
    w = _ceil(tiles, slots)
    return tiles, w, tiles / (w * slots)


def tile_intensity(bm, bn, dtype_bytes):
    """FLOPs per byte a CTA loads from global memory for its bm x bn tile, per step of k: each step
    loads a bm x 1 column of A and a 1 x bn row of B and does 2 bm bn FLOPs."""
    _positive(bm=bm, bn=bn, dtype_bytes=dtype_bytes)
    return 2 * bm * bn / ((bm + bn) * dtype_bytes)


def smallest_square_tile(peak_flops, bandwidth, dtype_bytes, multiple=16):
    """The smallest t, a multiple of `multiple`, whose t x t tile's intensity reaches the ridge point
    peak_flops / bandwidth (if no other CTA's loads were reused from L2)."""
    ridge = peak_flops / bandwidth
    t = multiple
    while tile_intensity(t, t, dtype_bytes) < ridge:
        t += multiple
    return t


def matmul_time(m, n, k, dtype_bytes, peak_flops, bandwidth, bm, bn, bk, sms, ctas_per_sm=1):
    """(seconds, bound) for a tiled matmul C[m,n] = A[m,k] @ B[k,n] on a GPU of `sms` SMs:
    compute: every wave runs like a full one: waves x slots x 2 bm bn K FLOPs (K = k padded to bk) at
             peak_flops;
    memory:  every tile reads its bm x K block of A and K x bn block of B, and C (m x n) is written
             once, all dtype_bytes an element, at `bandwidth`.
    bound is "compute" or "memory", whichever takes longer ("compute" on a tie)."""
    _positive(k=k, bk=bk, dtype_bytes=dtype_bytes)
    tiles, w, _ = waves(m, n, bm, bn, sms, ctas_per_sm)
    K = _ceil(k, bk) * bk
    compute = w * sms * ctas_per_sm * 2 * bm * bn * K / peak_flops
    memory = (tiles * (bm + bn) * K + m * n) * dtype_bytes / bandwidth
    return (compute, "compute") if compute >= memory else (memory, "memory")
