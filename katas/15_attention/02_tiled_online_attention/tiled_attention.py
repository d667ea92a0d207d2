"""Attention over key/value blocks with an online softmax (FlashAttention's forward). See README.md.

Walk the keys block_k at a time, keeping per query a running maximum m, a running sum of exponentials
l and a running weighted sum of values acc. Never build the whole (Lq x Lk) score matrix, and do not
call torch.softmax / F.scaled_dot_product_attention."""
import math  # noqa: F401

import torch  # noqa: F401


def tiled_attention(q, k, v, causal=False, scale=None, block_k=32):
    """softmax(q @ k^T * scale, masked if causal) @ v, computed block by block over the keys.

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv); Lq <= Lk when causal, and the causal mask is
    aligned bottom-right (query i sits at position i + Lk - Lq). scale defaults to 1/sqrt(d).
    Returns (..., Lq, dv) in q's dtype. Lk need not be a multiple of block_k."""
    raise NotImplementedError("tiled_attention.py: tiled_attention()")
