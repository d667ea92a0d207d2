"""Naive control: correct, but materialises the whole (Lq x Lk) score matrix at once."""
import math

import torch


def tiled_attention(q, k, v, causal=False, scale=None, block_k=32):
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    lq, lk = q.shape[-2], k.shape[-2]
    s = (q @ k.transpose(-2, -1)) * scale
    if causal:
        keep = torch.arange(lk)[None, :] <= torch.arange(lq)[:, None] + (lk - lq)
        s = s.masked_fill(~keep, float("-inf"))
    m = s.amax(-1, keepdim=True)
    p = torch.exp(s - m)
    return (p @ v) / p.sum(-1, keepdim=True)
