"""Row sums and column sums of a 2-D tensor in Triton.

row_sums(x)[i] = sum over j of x[i, j];  col_sums(x)[j] = sum over i of x[i, j]. float32 results.
Test with:  python -m pytest katas/12_triton/03_row_col_reductions
"""
import torch
import triton
import triton.language as tl


@triton.jit
def row_sum_kernel(x_ptr, out_ptr, M, N, stride_m, stride_n, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program pid sums rows pid*BLOCK_M .. pid*BLOCK_M + BLOCK_M - 1, however long they are."""
    # Rows may be longer than a block: loop over them in chunks, carrying one accumulator per row.
    pass


@triton.jit
def col_sum_kernel(x_ptr, out_ptr, M, N, stride_m, stride_n, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program pid sums columns pid*BLOCK_N .. pid*BLOCK_N + BLOCK_N - 1, however tall they are."""
    pass


def row_sums(x: torch.Tensor) -> torch.Tensor:
    """out[i] = sum_j x[i, j], float32, for a 2-D x with any strides."""
    raise NotImplementedError("reductions.py: row_sums()")


def col_sums(x: torch.Tensor) -> torch.Tensor:
    """out[j] = sum_i x[i, j], float32, for a 2-D x with any strides."""
    raise NotImplementedError("reductions.py: col_sums()")
