"""int8 x int8 matmul in Triton: int32 accumulation, dequantized in the epilogue.

int8_matmul(a_q, a_scale, b_q, b_scale, out_dtype) -> out (M, N)
    out[m, n] = (sum_k a_q[m, k] * b_q[n, k]) * a_scale[m] * b_scale[n]
Test with:  python -m pytest katas/12_triton/22_int8_matmul
"""
import torch
import triton
import triton.language as tl


@triton.jit
def int8_matmul_kernel(a_ptr, b_ptr, as_ptr, bs_ptr, c_ptr, M, N, K,
                       stride_am, stride_ak, stride_bn, stride_bk,
                       BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    """One program computes a BLOCK_M x BLOCK_N tile of the output."""
    pass


def int8_matmul(a_q: torch.Tensor, a_scale: torch.Tensor, b_q: torch.Tensor, b_scale: torch.Tensor,
                out_dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """a_q (M, K) int8, a_scale (M,) float32, b_q (N, K) int8 (a Linear weight), b_scale (N,) float32."""
    raise NotImplementedError("int8_matmul.py: int8_matmul()")
