"""Row-wise symmetric int8 quantization in Triton.

quantize(x)            -> (q int8 (M, N), scale float32 (M,)), scale = absmax(row) / 127
dequantize(q, scale)   -> q * scale[:, None] in the dtype asked for
Test with:  python -m pytest katas/12_triton/21_int8_quant
"""
import torch
import triton
import triton.language as tl


@triton.jit
def quantize_kernel(x_ptr, q_ptr, scale_ptr, n_cols, stride_xm, stride_xn, BLOCK: tl.constexpr):
    """One program quantizes one row: absmax, scale, round to nearest (half away from zero)."""
    pass


@triton.jit
def dequantize_kernel(q_ptr, scale_ptr, out_ptr, n_cols, BLOCK: tl.constexpr):
    """One program dequantizes one row: q * scale, stored in out's dtype."""
    pass


def quantize(x: torch.Tensor):
    """x (M, N) float32/float16 (bfloat16 on a GPU), any strides, N <= 16384 -> (q, scale)."""
    raise NotImplementedError("int8_quant.py: quantize()")


def dequantize(q: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """q (M, N) int8 contiguous, scale (M,) float32 -> q * scale[:, None] as `dtype`."""
    raise NotImplementedError("int8_quant.py: dequantize()")
