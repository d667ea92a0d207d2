"""Wrong control: one mask for both. Loads use offsets < length, so where length > n the padding holds
whatever lies in memory after x instead of `value` (right only when length <= n)."""
import torch
import triton
import triton.language as tl

BLOCK_SIZE = 1024


@triton.jit
def pad_kernel(x_ptr, out_ptr, n, length, value, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < length
    x = tl.load(x_ptr + offsets, mask=mask, other=value)
    tl.store(out_ptr + offsets, x, mask=mask)


def pad(x: torch.Tensor, length: int, value: float) -> torch.Tensor:
    if x.dim() != 1:
        raise ValueError("pad: x must be 1-D")
    if length < 0:
        raise ValueError("pad: length must be >= 0")
    x = x.contiguous()
    out = torch.empty(length, dtype=x.dtype, device=x.device)
    if length > 0:
        pad_kernel[(triton.cdiv(length, BLOCK_SIZE),)](x, out, x.numel(), length, value, BLOCK_SIZE=BLOCK_SIZE)
    return out
