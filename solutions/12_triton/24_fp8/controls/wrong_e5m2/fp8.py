"""Wrong control: quantizes to float8_e5m2 (the format for gradients) instead of float8_e4m3fn."""
import torch
import triton
import triton.language as tl

FP8_MAX = 448.0
MAX_COLS = 16384


@triton.jit
def fp8_quantize_kernel(x_ptr, q_ptr, scale_ptr, n_cols, stride_xm, stride_xn, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    x = tl.load(x_ptr + row * stride_xm + cols * stride_xn, mask=mask, other=0.0).to(tl.float32)
    absmax = tl.max(tl.abs(x), axis=0)
    inv = tl.where(absmax > 0, 448.0 / absmax, 0.0)
    v = tl.minimum(tl.maximum(x * inv, -448.0), 448.0)  # saturate: e4m3fn has no inf, only NaN above 448
    tl.store(q_ptr + row * n_cols + cols, v.to(q_ptr.dtype.element_ty), mask=mask)
    tl.store(scale_ptr + row, absmax / 448.0)


@triton.jit
def fp8_dequantize_kernel(q_ptr, scale_ptr, out_ptr, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    s = tl.load(scale_ptr + row)
    q = tl.load(q_ptr + row * n_cols + cols, mask=mask, other=0.0).to(tl.float32)
    tl.store(out_ptr + row * n_cols + cols, (q * s).to(out_ptr.dtype.element_ty), mask=mask)


def fp8_quantize(x: torch.Tensor):
    if x.dim() != 2 or x.shape[1] > MAX_COLS:
        raise ValueError(f"fp8_quantize: x must be (M, N) with N <= {MAX_COLS}, got {tuple(x.shape)}")
    M, N = x.shape
    q = torch.empty((M, N), dtype=torch.float8_e5m2, device=x.device)  # WRONG format
    scale = torch.empty((M,), dtype=torch.float32, device=x.device)
    if M and N:
        fp8_quantize_kernel[(M,)](x, q, scale, N, x.stride(0), x.stride(1), BLOCK=triton.next_power_of_2(N),
                                  num_warps=8)
    return q, scale


def fp8_dequantize(q: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype = torch.bfloat16) -> torch.Tensor:
    q, scale = q.contiguous(), scale.contiguous()
    M, N = q.shape
    out = torch.empty((M, N), dtype=dtype, device=q.device)
    if M and N:
        fp8_dequantize_kernel[(M,)](q, scale, out, N, BLOCK=triton.next_power_of_2(N), num_warps=8)
    return out
