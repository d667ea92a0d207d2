"""The outer product in Triton: out[i, j] = x[i] * y[j], one 2-D tile per program.

Test with:  python -m pytest katas/12_triton/02_broadcast_outer
"""
import torch
import triton
import triton.language as tl


@triton.jit
def outer_kernel(x_ptr, y_ptr, out_ptr, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (pid_m, pid_n) writes the tile of rows pid_m*BLOCK_M.. and columns pid_n*BLOCK_N.. of out."""
    # A column of x times a row of y: give each 1-D block a new axis with [:, None] or [None, :].
    pass


def outer(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A new (len(x), len(y)) tensor, row-major, with out[i, j] = x[i] * y[j]."""
    raise NotImplementedError("outer.py: outer()")
