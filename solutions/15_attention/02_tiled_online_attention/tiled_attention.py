"""Attention over key/value blocks with an online softmax (FlashAttention's forward). See README.md."""
import math

import torch


def tiled_attention(q, k, v, causal=False, scale=None, block_k=32):
    """Equal to softmax(q k^T * scale, masked) v, but never holds more than block_k scores per query."""
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    lq, lk = q.shape[-2], k.shape[-2]
    lead = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    m = torch.full((*lead, lq, 1), float("-inf"), dtype=q.dtype, device=q.device)  # running max
    l = torch.zeros((*lead, lq, 1), dtype=q.dtype, device=q.device)                 # running sum of exp
    acc = torch.zeros((*lead, lq, v.shape[-1]), dtype=q.dtype, device=q.device)     # running sum of p * v
    rows = torch.arange(lq, device=q.device).unsqueeze(1) + (lk - lq)
    for start in range(0, lk, block_k):
        stop = min(start + block_k, lk)
        s = (q @ k[..., start:stop, :].transpose(-2, -1)) * scale
        if causal:
            cols = torch.arange(start, stop, device=q.device).unsqueeze(0)
            s = s.masked_fill(cols > rows, float("-inf"))
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        safe = torch.where(torch.isfinite(m_new), m_new, torch.zeros_like(m_new))  # rows with nothing seen yet
        alpha = torch.exp(m - safe)       # rescales what was accumulated under the old maximum
        p = torch.exp(s - safe)
        l = l * alpha + p.sum(dim=-1, keepdim=True)
        acc = acc * alpha + p @ v[..., start:stop, :]
        m = m_new
    return acc / l
