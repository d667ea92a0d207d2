"""Vector add in Triton: out = x + y, read once, written once (reference)."""
import torch
import triton
import triton.language as tl

BLOCK_SIZE = 1024


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    """Program instance pid adds elements pid*BLOCK_SIZE .. pid*BLOCK_SIZE + BLOCK_SIZE - 1."""
    pid = tl.program_id(axis=0)
    offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n_elements  # the last block runs past the end: switch those lanes off
    x = tl.load(x_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, x + y, mask=mask)


def add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A new tensor x + y (same shape, dtype and device), computed by add_kernel."""
    if x.shape != y.shape or x.dtype != y.dtype or x.device != y.device:
        raise ValueError(f"add: x and y must match, got {tuple(x.shape)} {x.dtype} {x.device} and "
                         f"{tuple(y.shape)} {y.dtype} {y.device}")
    # The kernel walks memory as one flat array: strided views need a contiguous copy first (free when
    # they already are), and the output is allocated after, so it is contiguous too.
    x, y = x.contiguous(), y.contiguous()
    out = torch.empty_like(x)
    n = out.numel()
    if n > 0:
        add_kernel[(triton.cdiv(n, BLOCK_SIZE),)](x, y, out, n, BLOCK_SIZE=BLOCK_SIZE)
    return out
