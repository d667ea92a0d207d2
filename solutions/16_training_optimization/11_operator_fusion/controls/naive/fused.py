"""Naive control: the unfused chain, as eager PyTorch runs it. Three kernels: h = x + bias, g = gelu(h),
then dropout, which also stores its keep-mask (as torch's native_dropout does for the backward pass).
Correct, but h and g go to memory and back (float32) and the mask is written: about 6x the bytes of the
fused kernel, and a Philox call per element.

y = dropout(gelu(x + bias), p) (see README.md)."""
import torch
import triton
import triton.language as tl

BLOCK = 1024
INV_SQRT2 = tl.constexpr(0.7071067811865476)  # a compiled kernel reads only constexpr globals


@triton.jit
def add_bias_kernel(x_ptr, b_ptr, h_ptr, n, n_cols, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = offs < n
    x = tl.load(x_ptr + offs, mask=m).to(tl.float32)
    b = tl.load(b_ptr + offs % n_cols, mask=m).to(tl.float32)
    tl.store(h_ptr + offs, x + b, mask=m)


@triton.jit
def gelu_kernel(h_ptr, g_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = offs < n
    h = tl.load(h_ptr + offs, mask=m)
    tl.store(g_ptr + offs, 0.5 * h * (1.0 + tl.erf(h * INV_SQRT2)), mask=m)


@triton.jit
def dropout_kernel(g_ptr, y_ptr, keep_ptr, n, p, scale, seed, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = offs < n
    g = tl.load(g_ptr + offs, mask=m)
    keep = tl.rand(seed, offs) >= p
    tl.store(keep_ptr + offs, keep.to(tl.int8), mask=m)
    tl.store(y_ptr + offs, tl.where(keep, g * scale, 0.0).to(y_ptr.dtype.element_ty), mask=m)


def bias_gelu_dropout(x: torch.Tensor, bias: torch.Tensor, p: float, seed: int) -> torch.Tensor:
    if x.ndim != 2 or bias.ndim != 1 or bias.shape[0] != x.shape[1]:
        raise ValueError(f"bias_gelu_dropout: x must be (rows, cols) and bias (cols,), got {tuple(x.shape)} "
                         f"and {tuple(bias.shape)}")
    if x.dtype != bias.dtype or x.device != bias.device:
        raise ValueError("bias_gelu_dropout: x and bias must share dtype and device")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"bias_gelu_dropout: p must be in [0, 1), got {p}")
    x, bias = x.contiguous(), bias.contiguous()
    n_rows, n_cols = x.shape
    y = torch.empty((n_rows, n_cols), dtype=x.dtype, device=x.device)
    n = y.numel()
    if n == 0:
        return y
    h = torch.empty((n_rows, n_cols), dtype=torch.float32, device=x.device)
    g = torch.empty_like(h)
    keep = torch.empty((n_rows, n_cols), dtype=torch.int8, device=x.device)
    grid = (triton.cdiv(n, BLOCK),)
    add_bias_kernel[grid](x, bias, h, n, n_cols, BLOCK=BLOCK)
    gelu_kernel[grid](h, g, n, BLOCK=BLOCK)
    dropout_kernel[grid](g, y, keep, n, float(p), 1.0 / (1.0 - p), int(seed), BLOCK=BLOCK)
    return y
