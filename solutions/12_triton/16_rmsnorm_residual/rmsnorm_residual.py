"""Fused residual add + RMSNorm in Triton (reference): one program per row reads x, residual and
weight once, writes the new residual and the normalized output once."""
import torch
import triton
import triton.language as tl

MAX_COLS = 16384


@triton.jit
def rmsnorm_residual_kernel(x_ptr, res_ptr, w_ptr, out_ptr, n_cols, x_row_stride, res_row_stride,
                            out_row_stride, eps, BLOCK_SIZE: tl.constexpr):
    """Program instance `row`: h = x + residual; residual = h; out = h / rms(h) * weight."""
    row = tl.program_id(axis=0).to(tl.int64)
    cols = tl.arange(0, BLOCK_SIZE)
    mask = cols < n_cols
    x = tl.load(x_ptr + row * x_row_stride + cols, mask=mask, other=0.0).to(tl.float32)
    r = tl.load(res_ptr + row * res_row_stride + cols, mask=mask, other=0.0).to(tl.float32)
    h = (x + r).to(res_ptr.dtype.element_ty)
    tl.store(res_ptr + row * res_row_stride + cols, h, mask=mask)  # the residual stream, updated in place
    h = h.to(tl.float32)  # normalize the stream as stored (padding lanes are 0: they add nothing)
    rstd = 1.0 / tl.sqrt(tl.sum(h * h, axis=0) / n_cols + eps)  # mean over the n_cols real elements
    w = tl.load(w_ptr + cols, mask=mask).to(tl.float32)
    tl.store(out_ptr + row * out_row_stride + cols, (h * rstd * w).to(out_ptr.dtype.element_ty), mask=mask)


def rmsnorm_residual(x: torch.Tensor, residual: torch.Tensor, weight: torch.Tensor,
                     eps: float = 1e-6) -> torch.Tensor:
    """residual += x (in place); return weight * residual / sqrt(mean(residual**2, -1) + eps)."""
    if x.dim() != 2 or x.shape != residual.shape or weight.shape != (x.shape[1],):
        raise ValueError(f"rmsnorm_residual: x and residual (rows, n) and weight (n,), got {tuple(x.shape)}, "
                         f"{tuple(residual.shape)}, {tuple(weight.shape)}")
    if not (x.dtype == residual.dtype == weight.dtype):
        raise ValueError("rmsnorm_residual: x, residual and weight must have one dtype")
    n_rows, n_cols = x.shape
    if n_cols > MAX_COLS:
        raise ValueError(f"rmsnorm_residual: rows of at most {MAX_COLS} elements, got {n_cols}")
    if residual.numel() and residual.stride(1) != 1:
        raise ValueError("rmsnorm_residual: residual is updated in place and needs unit stride along a row")
    x = x if x.numel() == 0 or x.stride(1) == 1 else x.contiguous()  # read-only: a copy is allowed
    weight = weight.contiguous()
    out = torch.empty((n_rows, n_cols), dtype=x.dtype, device=x.device)
    if out.numel() == 0:
        return out
    block = triton.next_power_of_2(n_cols)
    num_warps = 4 if block <= 2048 else 8 if block <= 8192 else 16
    rmsnorm_residual_kernel[(n_rows,)](x, residual, weight, out, n_cols, x.stride(0), residual.stride(0),
                                       out.stride(0), eps, BLOCK_SIZE=block, num_warps=num_warps)
    return out
