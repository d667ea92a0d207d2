"""Flash decoding: one query token against a long KV cache, split along the keys, merged by log-sum-exp.
See README.md. No torch.softmax / logsumexp / SDPA: write the max-subtracted forms yourself."""
import math  # noqa: F401

import torch  # noqa: F401


def partial_attention(q, k, v, scale=None):
    """Attention of q (B, H, d) over one chunk k (B, H, L, d), v (B, H, L, dv), where L may be 0.

    Returns (out, lse): out (B, H, dv) is softmax(scores) @ v over this chunk alone, lse (B, H) is
    log(sum(exp(scores))) of the chunk's scaled scores. An empty chunk gives out = 0 and lse = -inf.
    scale defaults to 1/sqrt(d)."""
    raise NotImplementedError("flash_decoding.py: partial_attention()")


def merge_partials(outs, lses):
    """Combine S partial results, outs (S, B, H, dv) and lses (S, B, H), into the attention over all
    their keys: returns (out (B, H, dv), lse (B, H)). Splits with lse = -inf contribute nothing (their
    out may hold anything, even NaN). Must not overflow when lses are large (1e4)."""
    raise NotImplementedError("flash_decoding.py: merge_partials()")


def flash_decode(q, k, v, num_splits, scale=None):
    """Attention of q (B, H, d) over k, v (B, H, L, d|dv): split the L keys into num_splits contiguous
    chunks of ceil(L / num_splits) keys (trailing chunks may be shorter or empty), call
    partial_attention on each, then merge_partials. Returns out (B, H, dv)."""
    raise NotImplementedError("flash_decoding.py: flash_decode()")
