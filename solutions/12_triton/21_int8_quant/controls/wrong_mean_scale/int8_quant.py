"""Wrong control: the scale comes from the mean |x| of the row, not its absmax (values clip at 127)."""
import torch
import triton
import triton.language as tl

MAX_COLS = 16384


@triton.jit
def quantize_kernel(x_ptr, q_ptr, scale_ptr, n_cols, stride_xm, stride_xn, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    x = tl.load(x_ptr + row * stride_xm + cols * stride_xn, mask=mask, other=0.0).to(tl.float32)
    absmax = tl.sum(tl.abs(x), axis=0) / n_cols  # WRONG: the mean, not the max
    inv = tl.where(absmax > 0, 127.0 / absmax, 0.0)
    v = x * inv
    r = tl.where(v >= 0, tl.floor(v + 0.5), -tl.floor(0.5 - v))  # half away from zero
    r = tl.minimum(tl.maximum(r, -127.0), 127.0)
    tl.store(q_ptr + row * n_cols + cols, r.to(tl.int8), mask=mask)
    tl.store(scale_ptr + row, absmax / 127.0)


@triton.jit
def dequantize_kernel(q_ptr, scale_ptr, out_ptr, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    s = tl.load(scale_ptr + row)
    q = tl.load(q_ptr + row * n_cols + cols, mask=mask, other=0).to(tl.float32)
    tl.store(out_ptr + row * n_cols + cols, (q * s).to(out_ptr.dtype.element_ty), mask=mask)


def _check_2d(x, what):
    if x.dim() != 2:
        raise ValueError(f"{what} must be 2-D, got shape {tuple(x.shape)}")
    if x.shape[1] > MAX_COLS:
        raise ValueError(f"{what}: rows of {x.shape[1]} > {MAX_COLS} columns are not supported")


def quantize(x: torch.Tensor):
    _check_2d(x, "quantize: x")
    M, N = x.shape
    q = torch.empty((M, N), dtype=torch.int8, device=x.device)
    scale = torch.empty((M,), dtype=torch.float32, device=x.device)
    if M and N:
        quantize_kernel[(M,)](x, q, scale, N, x.stride(0), x.stride(1),
                              BLOCK=triton.next_power_of_2(N), num_warps=8)
    return q, scale


def dequantize(q: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    _check_2d(q, "dequantize: q")
    q, scale = q.contiguous(), scale.contiguous()
    M, N = q.shape
    out = torch.empty((M, N), dtype=dtype, device=q.device)
    if M and N:
        dequantize_kernel[(M,)](q, scale, out, N, BLOCK=triton.next_power_of_2(N), num_warps=8)
    return out
