"""Naive control: correct, but unfused, three kernels: add (read x and residual, write residual), sum of
squares (read residual, write one rstd per row), scale (read residual and weight, write out). Six passes
over a row-sized tensor where the fused kernel makes four."""
import torch
import triton
import triton.language as tl


@triton.jit
def add_kernel(x_ptr, res_ptr, n_cols, xs, rs, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    h = tl.load(x_ptr + row * xs + cols, mask=mask).to(tl.float32) + tl.load(res_ptr + row * rs + cols, mask=mask).to(tl.float32)
    tl.store(res_ptr + row * rs + cols, h.to(res_ptr.dtype.element_ty), mask=mask)


@triton.jit
def rstd_kernel(res_ptr, rstd_ptr, n_cols, rs, eps, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    h = tl.load(res_ptr + row * rs + cols, mask=cols < n_cols, other=0.0).to(tl.float32)
    tl.store(rstd_ptr + row, 1.0 / tl.sqrt(tl.sum(h * h, axis=0) / n_cols + eps))


@triton.jit
def scale_kernel(res_ptr, rstd_ptr, w_ptr, out_ptr, n_cols, rs, os, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    h = tl.load(res_ptr + row * rs + cols, mask=mask).to(tl.float32)
    w = tl.load(w_ptr + cols, mask=mask).to(tl.float32)
    tl.store(out_ptr + row * os + cols, (h * tl.load(rstd_ptr + row) * w).to(out_ptr.dtype.element_ty), mask=mask)


def rmsnorm_residual(x, residual, weight, eps=1e-6):
    if x.dim() != 2 or x.shape != residual.shape or weight.shape != (x.shape[1],):
        raise ValueError("rmsnorm_residual: x and residual (rows, n) and weight (n,)")
    n_rows, n_cols = x.shape
    x = x if x.numel() == 0 or x.stride(1) == 1 else x.contiguous()
    out = torch.empty((n_rows, n_cols), dtype=x.dtype, device=x.device)
    if out.numel() == 0:
        return out
    block = triton.next_power_of_2(n_cols)
    nw = 4 if block <= 2048 else 8 if block <= 8192 else 16
    rstd = torch.empty(n_rows, dtype=torch.float32, device=x.device)
    g = (n_rows,)
    add_kernel[g](x, residual, n_cols, x.stride(0), residual.stride(0), BLOCK=block, num_warps=nw)
    rstd_kernel[g](residual, rstd, n_cols, residual.stride(0), eps, BLOCK=block, num_warps=nw)
    scale_kernel[g](residual, rstd, weight, out, n_cols, residual.stride(0), out.stride(0), BLOCK=block, num_warps=nw)
    return out
