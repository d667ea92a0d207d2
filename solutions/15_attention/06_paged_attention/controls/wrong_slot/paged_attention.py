"""Wrong control: swaps block and slot (block_table[b, pos % bs], slot pos // bs)."""
"""Paged attention: the KV cache lives in fixed-size blocks scattered through a shared pool, found
through a per-sequence block table. See README.md."""
import math

import torch


def write_kv(k_pages, v_pages, block_table, positions, k, v):
    """Store one new token per sequence: k, v (B, H, d) go to the slot of position positions[b]."""
    bs = k_pages.shape[1]
    b = torch.arange(k.shape[0])
    phys = block_table[b, positions % bs]
    slot = positions // bs
    k_pages[phys, slot] = k
    v_pages[phys, slot] = v


def paged_attention(q, k_pages, v_pages, block_table, seq_lens, scale=None):
    """Decode attention of q (B, H, d) over each sequence's first seq_lens[b] cached positions."""
    bs = k_pages.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    outs = []
    for b in range(q.shape[0]):
        n = int(seq_lens[b])
        blocks = block_table[b, : -(-n // bs)]
        k = k_pages[blocks].flatten(0, 1)[:n]            # (n, H, d): only this sequence's used slots
        v = v_pages[blocks].flatten(0, 1)[:n]
        s = torch.einsum("hd,nhd->hn", q[b], k) * scale
        p = torch.softmax(s, dim=-1)
        outs.append(torch.einsum("hn,nhd->hd", p, v))
    return torch.stack(outs)
