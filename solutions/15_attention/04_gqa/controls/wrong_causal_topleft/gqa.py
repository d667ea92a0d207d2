"""Wrong control: causal mask aligned top-left (j <= i) even when Lq < Lk."""
"""Grouped-query attention without copying K and V per query head. See README.md."""
import math

import torch


def gqa_attention(q, k, v, causal=False, scale=None):
    """q (B, Hq, Lq, d); k (B, Hkv, Lk, d); v (B, Hkv, Lk, dv); Hq = G * Hkv. Query head h reads KV head h // G."""
    B, Hq, Lq, d = q.shape
    Hkv, Lk = k.shape[1], k.shape[2]
    G = Hq // Hkv
    if scale is None:
        scale = 1.0 / math.sqrt(d)
    # Heads h = kv * G + g: fold the G query heads of one KV head into the query-length dimension.
    qg = q.reshape(B, Hkv, G * Lq, d)
    s = (qg @ k.transpose(-2, -1)) * scale                       # (B, Hkv, G*Lq, Lk)
    if causal:
        rows = torch.arange(Lq, device=q.device).repeat(G)[:, None]
        s = s.masked_fill(torch.arange(Lk, device=q.device)[None, :] > rows, float("-inf"))
    m = s.amax(dim=-1, keepdim=True)
    p = torch.exp(s - m)
    out = (p @ v) / p.sum(dim=-1, keepdim=True)                  # (B, Hkv, G*Lq, dv)
    return out.reshape(B, Hq, Lq, v.shape[-1])
