"""Dynamic per-token int8 quantization fused into a W8A8 linear layer, in Triton.

dynamic_quant_linear(x, w_q, w_scale) -> y (M, N)
    per row m of x: s_m = absmax(x[m]) / 127, q[m, k] = round(x[m, k] / s_m) (half away from zero)
    y[m, n] = s_m * w_scale[n] * sum_k q[m, k] * w_q[n, k]        (int32 sum)
Test with:  python -m pytest katas/12_triton/25_dynamic_quant
"""
import torch
import triton
import triton.language as tl


@triton.jit
def dynamic_quant_linear_kernel(x_ptr, w_ptr, ws_ptr, y_ptr, M, N, K,
                                stride_xm, stride_xk, stride_wn, stride_wk,
                                BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    """One program: a BLOCK_M x BLOCK_N tile of y. First the rows' absmax over K, then the K loop that
    quantizes each x tile in registers and multiplies it with the int8 weight tile."""
    pass


def dynamic_quant_linear(x: torch.Tensor, w_q: torch.Tensor, w_scale: torch.Tensor) -> torch.Tensor:
    """x (M, K) float32/float16 (bfloat16 on a GPU), any strides; w_q (N, K) int8; w_scale (N,) float32.
    Returns y (M, N) contiguous in x's dtype."""
    raise NotImplementedError("dynamic_quant.py: dynamic_quant_linear()")
