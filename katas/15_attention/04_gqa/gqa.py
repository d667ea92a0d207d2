"""Grouped-query attention without copying K and V per query head. See README.md.
No torch.softmax / SDPA, and no repeat / repeat_interleave / expand-then-copy of K or V."""
import math  # noqa: F401

import torch  # noqa: F401


def gqa_attention(q, k, v, causal=False, scale=None):
    """Attention where Hq query heads share Hkv key/value heads (Hq = G * Hkv).

    q: (B, Hq, Lq, d), k: (B, Hkv, Lk, d), v: (B, Hkv, Lk, dv) -> (B, Hq, Lq, dv).
    Query head h uses KV head h // G (heads 0..G-1 share KV head 0, the next G share KV head 1, ...).
    Causal masks align bottom-right (query i is position i + Lk - Lq); scale defaults to 1/sqrt(d)."""
    raise NotImplementedError("gqa.py: gqa_attention()")
