"""Attention helpers for kata tests (15_attention, 12_triton's flash attention): the float64 oracle.

    attention64(q, k, v, causal=False, scale=None, offset=None)
        softmax(q k^T * scale) v in float64 on the CPU, over the last two dimensions. scale defaults to
        1/sqrt(head_dim). causal masks key j for query i when j > i + offset; offset defaults to
        Lk - Lq (queries are the LAST Lq positions of the keys: decoding, a KV cache), 0 is top-left.
"""
from __future__ import annotations

import math


def attention64(q, k, v, causal: bool = False, scale: float | None = None, offset: int | None = None):
    import torch

    q, k, v = (t.detach().cpu().double() for t in (q, k, v))
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ k.transpose(-2, -1) * scale
    if causal:
        lq, lk = q.shape[-2], k.shape[-2]
        off = lk - lq if offset is None else offset
        s = s.masked_fill(torch.arange(lk)[None, :] > torch.arange(lq)[:, None] + off, float("-inf"))
    return torch.softmax(s, -1) @ v
