"""Pad (or truncate) a 1-D tensor to a given length in Triton (reference)."""
import torch
import triton
import triton.language as tl

BLOCK_SIZE = 1024


@triton.jit
def pad_kernel(x_ptr, out_ptr, n, length, value, BLOCK_SIZE: tl.constexpr):
    """Program pid writes out[pid*BLOCK_SIZE : pid*BLOCK_SIZE + BLOCK_SIZE] (the part of it below length)."""
    offsets = tl.program_id(axis=0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    in_out = offsets < length
    # A lane loads only if it is inside x AND its element will be stored; the others take `value`.
    x = tl.load(x_ptr + offsets, mask=in_out & (offsets < n), other=value)
    tl.store(out_ptr + offsets, x, mask=in_out)


def pad(x: torch.Tensor, length: int, value: float) -> torch.Tensor:
    """A new 1-D tensor of `length` elements, x's dtype and device: x, cut or padded with `value`."""
    if x.dim() != 1:
        raise ValueError(f"pad: x must be 1-D, got shape {tuple(x.shape)}")
    if length < 0:
        raise ValueError(f"pad: length must be >= 0, got {length}")
    x = x.contiguous()
    out = torch.empty(length, dtype=x.dtype, device=x.device)
    if length > 0:
        pad_kernel[(triton.cdiv(length, BLOCK_SIZE),)](x, out, x.numel(), length, value, BLOCK_SIZE=BLOCK_SIZE)
    return out
