"""Naive control: correct, but two passes over the output. torch.full writes `value` everywhere, then a
kernel copies x over the first min(n, length) elements: those are written twice."""
import torch
import triton
import triton.language as tl

BLOCK_SIZE = 1024


@triton.jit
def copy_kernel(x_ptr, out_ptr, n, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n
    tl.store(out_ptr + offsets, tl.load(x_ptr + offsets, mask=mask), mask=mask)


def pad(x: torch.Tensor, length: int, value: float) -> torch.Tensor:
    if x.dim() != 1:
        raise ValueError("pad: x must be 1-D")
    if length < 0:
        raise ValueError("pad: length must be >= 0")
    x = x.contiguous()
    out = torch.full((length,), value, dtype=x.dtype, device=x.device)
    m = min(x.numel(), length)
    if length > 0:
        copy_kernel[(max(1, triton.cdiv(m, BLOCK_SIZE)),)](x, out, m, BLOCK_SIZE=BLOCK_SIZE)
    return out
