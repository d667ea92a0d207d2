"""Naive control: correct, but the eager decomposition, one looping kernel per step: row max (read x),
e = exp(x - max) into an fp32 temporary (read x, write e), row sum (read e), out = e / sum (read e,
write out). About six passes over memory where the two-sweep online kernel needs three."""
import torch
import triton
import triton.language as tl


@triton.jit
def row_max_kernel(x_ptr, m_ptr, n_cols, rs, cs, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    acc = tl.full((BLOCK,), float("-inf"), tl.float32)
    for start in range(0, n_cols, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        x = tl.load(x_ptr + row * rs + cols * cs, mask=cols < n_cols, other=-float("inf")).to(tl.float32)
        acc = tl.maximum(acc, x)
    tl.store(m_ptr + row, tl.max(acc, axis=0))


@triton.jit
def exp_kernel(x_ptr, m_ptr, e_ptr, n_cols, rs, cs, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    m = tl.load(m_ptr + row)
    for start in range(0, n_cols, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        mask = cols < n_cols
        x = tl.load(x_ptr + row * rs + cols * cs, mask=mask).to(tl.float32)
        tl.store(e_ptr + row * n_cols + cols, tl.exp(x - m), mask=mask)


@triton.jit
def row_sum_kernel(e_ptr, s_ptr, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    acc = tl.zeros((BLOCK,), tl.float32)
    for start in range(0, n_cols, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        acc += tl.load(e_ptr + row * n_cols + cols, mask=cols < n_cols, other=0.0)
    tl.store(s_ptr + row, tl.sum(acc, axis=0))


@triton.jit
def div_kernel(e_ptr, s_ptr, out_ptr, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    s = tl.load(s_ptr + row)
    for start in range(0, n_cols, BLOCK):
        cols = start + tl.arange(0, BLOCK)
        mask = cols < n_cols
        y = tl.load(e_ptr + row * n_cols + cols, mask=mask) / s
        tl.store(out_ptr + row * n_cols + cols, y.to(out_ptr.dtype.element_ty), mask=mask)


def softmax(x: torch.Tensor, block_size: int | None = None) -> torch.Tensor:
    if x.dim() != 2:
        raise ValueError(f"softmax: x must be 2-D, got shape {tuple(x.shape)}")
    n_rows, n_cols = x.shape
    block = block_size or min(triton.next_power_of_2(max(n_cols, 16)), 4096)
    out = torch.empty((n_rows, n_cols), dtype=x.dtype, device=x.device)
    if out.numel() == 0:
        return out
    nw = 8 if block >= 2048 else 4
    m = torch.empty(n_rows, dtype=torch.float32, device=x.device)
    s = torch.empty(n_rows, dtype=torch.float32, device=x.device)
    e = torch.empty((n_rows, n_cols), dtype=torch.float32, device=x.device)
    g = (n_rows,)
    row_max_kernel[g](x, m, n_cols, x.stride(0), x.stride(1), BLOCK=block, num_warps=nw)
    exp_kernel[g](x, m, e, n_cols, x.stride(0), x.stride(1), BLOCK=block, num_warps=nw)
    row_sum_kernel[g](e, s, n_cols, BLOCK=block, num_warps=nw)
    div_kernel[g](e, s, out, n_cols, BLOCK=block, num_warps=nw)
    return out
