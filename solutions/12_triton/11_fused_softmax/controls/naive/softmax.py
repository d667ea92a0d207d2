"""Naive control: correct, but the eager decomposition, one kernel per step with fp32 temporaries:
row max (read x), t = x - max (read x, write t), e = exp(t) (read t, write e), row sum (read e),
out = e / sum (read e, write out). About eight passes over the data where one read and one write suffice."""
import torch
import triton
import triton.language as tl

MAX_COLS = 16384


@triton.jit
def row_max_kernel(x_ptr, m_ptr, n_cols, rs, cs, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * rs + cols * cs, mask=cols < n_cols, other=-float("inf")).to(tl.float32)
    tl.store(m_ptr + row, tl.max(x, axis=0))


@triton.jit
def sub_kernel(x_ptr, m_ptr, t_ptr, n_cols, rs, cs, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    x = tl.load(x_ptr + row * rs + cols * cs, mask=mask).to(tl.float32)
    tl.store(t_ptr + row * n_cols + cols, x - tl.load(m_ptr + row), mask=mask)


@triton.jit
def exp_kernel(t_ptr, e_ptr, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    tl.store(e_ptr + row * n_cols + cols, tl.exp(tl.load(t_ptr + row * n_cols + cols, mask=mask)), mask=mask)


@triton.jit
def row_sum_kernel(e_ptr, s_ptr, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    tl.store(s_ptr + row, tl.sum(tl.load(e_ptr + row * n_cols + cols, mask=cols < n_cols, other=0.0), axis=0))


@triton.jit
def div_kernel(e_ptr, s_ptr, out_ptr, n_cols, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    mask = cols < n_cols
    y = tl.load(e_ptr + row * n_cols + cols, mask=mask) / tl.load(s_ptr + row)
    tl.store(out_ptr + row * n_cols + cols, y.to(out_ptr.dtype.element_ty), mask=mask)


def softmax(x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 2:
        raise ValueError(f"softmax: x must be 2-D, got shape {tuple(x.shape)}")
    n_rows, n_cols = x.shape
    if n_cols > MAX_COLS:
        raise ValueError(f"softmax: rows of at most {MAX_COLS} elements, got {n_cols}")
    out = torch.empty((n_rows, n_cols), dtype=x.dtype, device=x.device)
    if out.numel() == 0:
        return out
    block = triton.next_power_of_2(n_cols)
    nw = 4 if block <= 2048 else 8 if block <= 8192 else 16
    m = torch.empty(n_rows, dtype=torch.float32, device=x.device)
    s = torch.empty(n_rows, dtype=torch.float32, device=x.device)
    t = torch.empty((n_rows, n_cols), dtype=torch.float32, device=x.device)
    e = torch.empty((n_rows, n_cols), dtype=torch.float32, device=x.device)
    g = (n_rows,)
    row_max_kernel[g](x, m, n_cols, x.stride(0), x.stride(1), BLOCK=block, num_warps=nw)
    sub_kernel[g](x, m, t, n_cols, x.stride(0), x.stride(1), BLOCK=block, num_warps=nw)
    exp_kernel[g](t, e, n_cols, BLOCK=block, num_warps=nw)
    row_sum_kernel[g](e, s, n_cols, BLOCK=block, num_warps=nw)
    div_kernel[g](e, s, out, n_cols, BLOCK=block, num_warps=nw)
    return out
