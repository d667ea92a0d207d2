"""Pad (or truncate) a 1-D tensor to a given length in Triton.

pad(x, length, value)[i] is x[i] for i < min(len(x), length) and value after that.
Test with:  python -m pytest katas/12_triton/01_load_store_masks
"""
import torch
import triton
import triton.language as tl


@triton.jit
def pad_kernel(x_ptr, out_ptr, n, length, value, BLOCK_SIZE: tl.constexpr):
    """Program pid writes out[pid*BLOCK_SIZE : pid*BLOCK_SIZE + BLOCK_SIZE] (the part of it below length)."""
    # Two different bounds: x has n elements, out has length. Which lanes may load? Which may store?
    pass


def pad(x: torch.Tensor, length: int, value: float) -> torch.Tensor:
    """A new 1-D tensor of `length` elements, x's dtype and device: x, cut or padded with `value`."""
    raise NotImplementedError("pad.py: pad()")
