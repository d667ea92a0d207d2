"""Wrong control: a row whose target is ignore_index gets loss 0, but its gradient is still written as
softmax(row) (no one-hot subtracted) instead of zeros."""
import torch
import triton
import triton.language as tl

MAX_BLOCK = 4096


@triton.jit
def cross_entropy_kernel(logits_ptr, targets_ptr, losses_ptr, V, stride_row, ignore_index, grad_scale,
                         BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    base = logits_ptr + row * stride_row
    cols = tl.arange(0, BLOCK)
    t = tl.load(targets_ptr + row)
    if True:  # WRONG: ignored rows go through the normal path
        m = float("-inf")
        s = 0.0
        for start in range(0, V, BLOCK):
            idx = start + cols
            x = tl.load(base + idx, mask=idx < V, other=float("-inf")).to(tl.float32)
            m_new = tl.maximum(m, tl.max(x, axis=0))
            s = s * tl.exp(m - m_new) + tl.sum(tl.exp(x - m_new), axis=0)
            m = m_new
        x_t = tl.load(base + t, mask=t >= 0, other=0.0).to(tl.float32)
        for start in range(0, V, BLOCK):
            idx = start + cols
            x = tl.load(base + idx, mask=idx < V, other=0.0).to(tl.float32)
            g = tl.exp(x - m) / s
            g = tl.where(idx == t, g - 1.0, g) * grad_scale
            tl.store(base + idx, g.to(logits_ptr.dtype.element_ty), mask=idx < V)
        tl.store(losses_ptr + row, tl.where(t == ignore_index, 0.0, m + tl.log(s) - x_t))


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100,
                  grad_scale: float = 1.0) -> torch.Tensor:
    if logits.dim() != 2 or logits.stride(1) != 1:
        raise ValueError(f"cross_entropy: logits must be (N, V) with stride(1) == 1, got shape "
                         f"{tuple(logits.shape)} strides {logits.stride()}")
    N, V = logits.shape
    if targets.shape != (N,):
        raise ValueError(f"cross_entropy: targets must be ({N},), got {tuple(targets.shape)}")
    targets = targets.contiguous()
    losses = torch.empty((N,), dtype=torch.float32, device=logits.device)
    if N and V:
        cross_entropy_kernel[(N,)](logits, targets, losses, V, logits.stride(0), ignore_index, float(grad_scale),
                                   BLOCK=min(MAX_BLOCK, triton.next_power_of_2(V)), num_warps=8)
    return losses
