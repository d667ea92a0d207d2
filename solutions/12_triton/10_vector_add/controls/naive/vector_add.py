"""Naive control: correct, but two passes. One kernel copies x into out, a second adds y into out in
place: x, out and y are read (3n) and out is written twice (2n), 5n elements moved where 3n suffice."""
import torch
import triton
import triton.language as tl

BLOCK_SIZE = 1024


@triton.jit
def copy_kernel(src_ptr, dst_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    tl.store(dst_ptr + offsets, tl.load(src_ptr + offsets, mask=mask), mask=mask)


@triton.jit
def add_kernel(out_ptr, y_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements
    acc = tl.load(out_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, acc + tl.load(y_ptr + offsets, mask=mask), mask=mask)


def add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    if x.shape != y.shape or x.dtype != y.dtype or x.device != y.device:
        raise ValueError("add: x and y must have the same shape, dtype and device")
    x, y = x.contiguous(), y.contiguous()
    out = torch.empty_like(x)
    n = out.numel()
    if n > 0:
        grid = (triton.cdiv(n, BLOCK_SIZE),)
        copy_kernel[grid](x, out, n, BLOCK_SIZE=BLOCK_SIZE)
        add_kernel[grid](out, y, n, BLOCK_SIZE=BLOCK_SIZE)
    return out
