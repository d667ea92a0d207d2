"""Matrix-vector product in Triton: y = A @ x, each element of A read once.

Test with:  python -m pytest katas/12_triton/04_matvec
"""
import torch
import triton
import triton.language as tl


@triton.jit
def matvec_kernel(a_ptr, x_ptr, y_ptr, M, N, stride_am, stride_an,
                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Program pid computes y[pid*BLOCK_M : pid*BLOCK_M + BLOCK_M]: a row sum of A's rows times x."""
    pass


def matvec(a: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """y = a @ x as float32, for a 2-D a with any strides and a 1-D x."""
    raise NotImplementedError("matvec.py: matvec()")
