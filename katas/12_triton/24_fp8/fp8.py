"""Row-wise fp8 (float8_e4m3fn) quantization in Triton.

fp8_quantize(x)              -> (q float8_e4m3fn (M, N), scale float32 (M,)), scale = absmax(row) / 448
fp8_dequantize(q, scale, d)  -> q * scale[:, None] as dtype d
Test with:  python -m pytest katas/12_triton/24_fp8     (the values are graded on a GPU)
"""
import torch
import triton
import triton.language as tl

FP8_MAX = 448.0  # the largest finite float8_e4m3fn


@triton.jit
def fp8_quantize_kernel(x_ptr, q_ptr, scale_ptr, n_cols, stride_xm, stride_xn, BLOCK: tl.constexpr):
    """One program per row: absmax, scale, x * (448 / absmax) clamped to [-448, 448], cast to fp8."""
    pass


@triton.jit
def fp8_dequantize_kernel(q_ptr, scale_ptr, out_ptr, n_cols, BLOCK: tl.constexpr):
    """One program per row: q * scale in float32, stored in out's dtype."""
    pass


def fp8_quantize(x: torch.Tensor):
    """x (M, N) float32/float16/bfloat16, any strides, N <= 16384 -> (q, scale)."""
    raise NotImplementedError("fp8.py: fp8_quantize()")


def fp8_dequantize(q: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
    """q (M, N) float8_e4m3fn contiguous, scale (M,) float32 -> q * scale[:, None] as dtype."""
    raise NotImplementedError("fp8.py: fp8_dequantize()")
