"""Scaled dot-product attention, written out by hand. See README.md.

No torch.softmax / F.softmax / F.scaled_dot_product_attention: the point is to write them."""
import math  # noqa: F401

import torch  # noqa: F401


def softmax(scores, dim=-1):
    """Softmax along `dim` that stays finite for any finite input (think: what does exp(1000) give?).
    A row that is entirely -inf may come back as anything finite or NaN: attention() never makes one."""
    raise NotImplementedError("attention.py: softmax()")


def causal_mask(lq, lk, device=None):
    """Boolean (lq, lk) tensor, True where query i may attend to key j. The queries are the LAST lq of
    the lk positions (query i sits at position i + lk - lq), so with lq == lk this is j <= i."""
    raise NotImplementedError("attention.py: causal_mask()")


def attention(q, k, v, causal=False, scale=None):
    """softmax(q @ k^T * scale, masked if causal) @ v.

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv) -> (..., Lq, dv), in q's dtype.
    scale defaults to 1 / sqrt(d). Leading dimensions (batch, heads) broadcast like matmul."""
    raise NotImplementedError("attention.py: attention()")
