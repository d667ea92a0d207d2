"""Wrong control: merges the partial outputs with equal weights, ignoring their log-sum-exps."""
"""Flash decoding: one query token against a long KV cache, split along the keys, merged by log-sum-exp.
See README.md."""
import math

import torch


def partial_attention(q, k, v, scale=None):
    """Attention of q (B, H, d) over one chunk k, v (B, H, L, d|dv), L >= 0.

    Returns (out, lse): out (B, H, dv) is the softmax-weighted mean of the chunk's values, lse (B, H) the
    log-sum-exp of the chunk's scaled scores (-inf, with out = 0, for an empty chunk)."""
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    if k.shape[-2] == 0:
        out = torch.zeros((*q.shape[:-1], v.shape[-1]), dtype=q.dtype, device=q.device)
        return out, torch.full(q.shape[:-1], float("-inf"), dtype=q.dtype, device=q.device)
    s = (k @ q.unsqueeze(-1)).squeeze(-1) * scale          # (B, H, L)
    m = s.amax(dim=-1, keepdim=True)
    p = torch.exp(s - m)
    l = p.sum(dim=-1, keepdim=True)
    out = (p.unsqueeze(-2) @ v).squeeze(-2) / l
    return out, (m + torch.log(l)).squeeze(-1)


def merge_partials(outs, lses):
    """Combine S partial results: outs (S, B, H, dv), lses (S, B, H) -> (out (B, H, dv), lse (B, H))."""
    m = lses.amax(dim=0)
    safe = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    w = torch.isfinite(lses).to(outs.dtype)                    # (S, B, H); 0 for empty splits
    total = w.sum(dim=0)
    out = (w.unsqueeze(-1) * torch.nan_to_num(outs)).sum(dim=0) / total.unsqueeze(-1)
    return out, safe + torch.log(total)


def flash_decode(q, k, v, num_splits, scale=None):
    """Attention of q (B, H, d) over k, v (B, H, L, d|dv) in num_splits contiguous chunks of
    ceil(L / num_splits) keys (the last ones may be shorter or empty), merged with merge_partials."""
    L = k.shape[-2]
    chunk = max(1, -(-L // num_splits))
    outs, lses = [], []
    for i in range(num_splits):
        a, b = min(i * chunk, L), min((i + 1) * chunk, L)
        o, s = partial_attention(q, k[..., a:b, :], v[..., a:b, :], scale)
        outs.append(o)
        lses.append(s)
    out, _ = merge_partials(torch.stack(outs), torch.stack(lses))
    return out
