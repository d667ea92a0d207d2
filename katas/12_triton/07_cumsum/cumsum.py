"""Row-wise inclusive prefix sums in Triton, for rows longer than a block.

out[i, j] = x[i, 0] + x[i, 1] + ... + x[i, j]
Test with:  python -m pytest katas/12_triton/07_cumsum
"""
import torch
import triton
import triton.language as tl


@triton.jit
def cumsum_kernel(x_ptr, out_ptr, N, stride_xm, stride_xn, ACC: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program pid writes the prefix sums of row pid of x into row pid of out (row-major, N wide).

    ACC is the dtype to add in (tl.float32 or tl.int32), chosen by the wrapper."""
    # tl.cumsum scans one block. What must each chunk know about the chunks before it?
    pass


def cumsum_rows(x: torch.Tensor) -> torch.Tensor:
    """out[i, j] = x[i, 0] + ... + x[i, j]; a new row-major tensor (fp32 for fp32/fp16 x, int32 for int32)."""
    raise NotImplementedError("cumsum.py: cumsum_rows()")
