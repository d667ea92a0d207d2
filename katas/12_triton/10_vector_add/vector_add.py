"""Vector add in Triton: out = x + y, read once, written once.

Write add_kernel (one program instance adds one block of elements) and add(x, y), which launches it.
Test with:  python -m pytest katas/12_triton/10_vector_add
"""
import torch
import triton
import triton.language as tl


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
    """Program instance pid adds elements pid*BLOCK_SIZE .. pid*BLOCK_SIZE + BLOCK_SIZE - 1."""
    # Which elements are mine? Load x and y, add, store. The last block may run past n_elements.
    pass


def add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A new tensor x + y (same shape, dtype and device), computed by add_kernel."""
    raise NotImplementedError("vector_add.py: add()")
