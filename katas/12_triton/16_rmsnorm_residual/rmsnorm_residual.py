"""Fused residual add + RMSNorm in Triton: one program per row reads x, residual and weight once,
writes the new residual and the normalized output once.

Write rmsnorm_residual_kernel and rmsnorm_residual(x, residual, weight, eps), which launches it.
Test with:  python -m pytest katas/12_triton/16_rmsnorm_residual
"""
import torch
import triton
import triton.language as tl


@triton.jit
def rmsnorm_residual_kernel(x_ptr, res_ptr, w_ptr, out_ptr, n_cols, x_row_stride, res_row_stride,
                            out_row_stride, eps, BLOCK_SIZE: tl.constexpr):
    """Program instance `row`: h = x + residual; residual = h; out = h / rms(h) * weight."""
    # Load the row of x and of residual (in fp32), add, store h back into residual, then the mean of
    # h*h over the n_cols real elements, rsqrt, scale by weight, store out.
    pass


def rmsnorm_residual(x: torch.Tensor, residual: torch.Tensor, weight: torch.Tensor,
                     eps: float = 1e-6) -> torch.Tensor:
    """residual += x (in place); return weight * residual / sqrt(mean(residual**2, -1) + eps)."""
    raise NotImplementedError("rmsnorm_residual.py: rmsnorm_residual()")
