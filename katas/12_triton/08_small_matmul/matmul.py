"""A small tiled matmul in Triton with tl.dot: C = A @ B for any sizes and strides.

Test with:  python -m pytest katas/12_triton/08_small_matmul
"""
import torch
import triton
import triton.language as tl


@triton.jit
def matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K,
                  stride_am, stride_ak, stride_bk, stride_bn,
                  IS_INT: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    """Program (pid_m, pid_n) computes the tile C[rows, cols], walking K in BLOCK_K steps.

    IS_INT: the inputs are int8 (accumulate in int32); otherwise accumulate in float32."""
    pass


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """C = a @ b: float32 for fp32/fp16 inputs, int32 for int8 inputs; a new row-major (M, N) tensor."""
    raise NotImplementedError("matmul.py: matmul()")
