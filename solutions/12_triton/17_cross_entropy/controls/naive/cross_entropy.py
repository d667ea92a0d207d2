"""Naive control: three kernels and a materialized probabilities buffer, the way an eager framework
does it. (1) the row max; (2) exp(x - max) into a float32 (N, V) buffer, its row sum and the loss;
(3) the gradient from that buffer. Correct, but it reads the logits twice, writes and reads a float32
copy of them, and needs a second logits-sized allocation."""
import torch
import triton
import triton.language as tl

MAX_BLOCK = 4096


@triton.jit
def _max_kernel(logits_ptr, m_ptr, V, stride_row, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    m = float("-inf")
    for start in range(0, V, BLOCK):
        idx = start + tl.arange(0, BLOCK)
        x = tl.load(logits_ptr + row * stride_row + idx, mask=idx < V, other=float("-inf")).to(tl.float32)
        m = tl.maximum(m, tl.max(x, axis=0))
    tl.store(m_ptr + row, m)


@triton.jit
def _exp_kernel(logits_ptr, targets_ptr, m_ptr, p_ptr, s_ptr, losses_ptr, V, stride_row, ignore_index,
                BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    m = tl.load(m_ptr + row)
    t = tl.load(targets_ptr + row)
    s = 0.0
    for start in range(0, V, BLOCK):
        idx = start + tl.arange(0, BLOCK)
        x = tl.load(logits_ptr + row * stride_row + idx, mask=idx < V, other=float("-inf")).to(tl.float32)
        e = tl.exp(x - m)
        tl.store(p_ptr + row * V + idx, e, mask=idx < V)
        s += tl.sum(e, axis=0)
    tl.store(s_ptr + row, s)
    if t == ignore_index:
        tl.store(losses_ptr + row, 0.0)
    else:
        x_t = tl.load(logits_ptr + row * stride_row + t).to(tl.float32)
        tl.store(losses_ptr + row, m + tl.log(s) - x_t)


@triton.jit
def _grad_kernel(logits_ptr, targets_ptr, p_ptr, s_ptr, V, stride_row, ignore_index, grad_scale,
                 BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    t = tl.load(targets_ptr + row)
    s = tl.load(s_ptr + row)
    keep = tl.where(t == ignore_index, 0.0, 1.0)
    for start in range(0, V, BLOCK):
        idx = start + tl.arange(0, BLOCK)
        p = tl.load(p_ptr + row * V + idx, mask=idx < V, other=0.0) / s
        g = tl.where(idx == t, p - 1.0, p) * grad_scale * keep
        tl.store(logits_ptr + row * stride_row + idx, g.to(logits_ptr.dtype.element_ty), mask=idx < V)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100,
                  grad_scale: float = 1.0) -> torch.Tensor:
    N, V = logits.shape
    targets = targets.contiguous()
    losses = torch.empty((N,), dtype=torch.float32, device=logits.device)
    if N and V:
        m = torch.empty((N,), dtype=torch.float32, device=logits.device)
        s = torch.empty((N,), dtype=torch.float32, device=logits.device)
        p = torch.empty((N, V), dtype=torch.float32, device=logits.device)
        B = min(MAX_BLOCK, triton.next_power_of_2(V))
        _max_kernel[(N,)](logits, m, V, logits.stride(0), BLOCK=B, num_warps=8)
        _exp_kernel[(N,)](logits, targets, m, p, s, losses, V, logits.stride(0), ignore_index, BLOCK=B, num_warps=8)
        _grad_kernel[(N,)](logits, targets, p, s, V, logits.stride(0), ignore_index, float(grad_scale),
                           BLOCK=B, num_warps=8)
    return losses
