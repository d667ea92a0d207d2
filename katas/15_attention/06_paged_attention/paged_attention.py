"""Paged attention: the KV cache lives in fixed-size blocks scattered through a shared pool, found
through a per-sequence block table. See README.md.

    k_pages, v_pages: (num_blocks, block_size, H, d)  the pool shared by all sequences
    block_table:      (B, max_blocks) long            block_table[b, i] = physical block holding
                                                      positions i*block_size .. (i+1)*block_size - 1
                                                      of sequence b
Entries of block_table past a sequence's last block, and slots past its length inside its last block,
hold garbage (the tests put NaN there, and point unused entries at other sequences' blocks)."""
import math  # noqa: F401

import torch  # noqa: F401


def write_kv(k_pages, v_pages, block_table, positions, k, v):
    """Store one new token per sequence in place: k[b], v[b] (each (H, d)) go to position positions[b]
    of sequence b, i.e. block block_table[b, positions[b] // block_size], slot positions[b] % block_size.
    positions (B,) long; k, v (B, H, d). Returns nothing."""
    raise NotImplementedError("paged_attention.py: write_kv()")


def paged_attention(q, k_pages, v_pages, block_table, seq_lens, scale=None):
    """Decode attention: q (B, H, d), one query per sequence, over positions 0 .. seq_lens[b]-1 of
    sequence b (no causal mask needed: every cached position is in the past). Returns (B, H, dv).
    scale defaults to 1/sqrt(d). Read only the blocks a sequence uses."""
    raise NotImplementedError("paged_attention.py: paged_attention()")
