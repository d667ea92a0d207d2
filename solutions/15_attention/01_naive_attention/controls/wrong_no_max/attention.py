"""Wrong control: softmax without subtracting the row maximum (exp overflows on large logits)."""
"""Scaled dot-product attention, written out by hand. See README.md."""
import math

import torch


def softmax(scores, dim=-1):
    """Numerically stable softmax along `dim`: subtract the row maximum before exponentiating."""
    e = torch.exp(scores)
    return e / e.sum(dim=dim, keepdim=True)


def causal_mask(lq, lk, device=None):
    """Boolean (lq, lk) mask, True where query i may attend to key j.

    Queries are the LAST lq positions of the lk keys: query i sits at position i + (lk - lq) and sees
    every key j <= i + (lk - lq)."""
    i = torch.arange(lq, device=device).unsqueeze(1)
    j = torch.arange(lk, device=device).unsqueeze(0)
    return j <= i + (lk - lq)


def attention(q, k, v, causal=False, scale=None):
    """softmax(q @ k^T * scale [+ causal mask]) @ v for q (..., Lq, d), k (..., Lk, d), v (..., Lk, dv)."""
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    scores = (q @ k.transpose(-2, -1)) * scale
    if causal:
        keep = causal_mask(q.shape[-2], k.shape[-2], device=q.device)
        scores = scores.masked_fill(~keep, float("-inf"))
    return softmax(scores, dim=-1) @ v
