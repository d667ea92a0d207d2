"""Rotary position embedding (half-split layout, as in Llama / GPT-NeoX) in Triton.

rope(x, cos, sin, offset) -> a new tensor: for token position p = offset + s and i < D/2,
    out[..., i]       = x[..., i] * cos[p, i] - x[..., i + D/2] * sin[p, i]
    out[..., i + D/2] = x[..., i + D/2] * cos[p, i] + x[..., i] * sin[p, i]
Test with:  python -m pytest katas/12_triton/18_rope
"""
import torch
import triton
import triton.language as tl


@triton.jit
def rope_kernel(x_ptr, cos_ptr, sin_ptr, out_ptr, S, H, offset,
                stride_b, stride_s, stride_h, stride_d,
                HALF: tl.constexpr, BLOCK_H: tl.constexpr, BLOCK_HALF: tl.constexpr):
    """One program rotates every head of one token (b, s)."""
    pass


def rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, offset: int = 0) -> torch.Tensor:
    """x (B, S, H, D), any strides; cos, sin (P, D // 2) float32 with P >= offset + S."""
    raise NotImplementedError("rope.py: rope()")
