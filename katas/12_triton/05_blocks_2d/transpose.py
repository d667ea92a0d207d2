"""Transpose in Triton with 2-D blocks and strides: out = x.T as a new row-major tensor.

Test with:  python -m pytest katas/12_triton/05_blocks_2d
"""
import torch
import triton
import triton.language as tl


@triton.jit
def transpose_kernel(x_ptr, out_ptr, M, N, stride_xm, stride_xn,
                     BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program (pid_m, pid_n) moves the tile x[rows, cols] to out[cols, rows]."""
    # Where is x[i, j] in memory (strides)? Where does it go in out, which is (N, M) row-major?
    pass


def transpose(x: torch.Tensor) -> torch.Tensor:
    """A new contiguous (N, M) tensor equal to x.T, for a 2-D x with any strides."""
    raise NotImplementedError("transpose.py: transpose()")
