"""Naive control: correct (unused slots are zeroed with torch.where before use), but gathers every
block in each table row, used or not, so it reads max_blocks * block_size positions per sequence."""
import math

import torch



def write_kv(k_pages, v_pages, block_table, positions, k, v):
    """Store one new token per sequence: k, v (B, H, d) go to the slot of position positions[b]."""
    bs = k_pages.shape[1]
    b = torch.arange(k.shape[0])
    phys = block_table[b, positions // bs]
    slot = positions % bs
    k_pages[phys, slot] = k
    v_pages[phys, slot] = v


def paged_attention(q, k_pages, v_pages, block_table, seq_lens, scale=None):
    B, nb = block_table.shape
    bs = k_pages.shape[1]
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    k = k_pages[block_table.clamp(min=0)].flatten(1, 2)      # (B, nb*bs, H, d)
    v = v_pages[block_table.clamp(min=0)].flatten(1, 2)
    valid = (torch.arange(nb * bs)[None, :] < seq_lens[:, None])[:, :, None, None]
    k = torch.where(valid, k, torch.zeros((), dtype=k.dtype))
    v = torch.where(valid, v, torch.zeros((), dtype=v.dtype))
    s = torch.einsum("bhd,bnhd->bhn", q, k) * scale
    s = s.masked_fill(~valid[:, None, :, 0, 0], float("-inf"))
    p = torch.softmax(s, dim=-1)
    return torch.einsum("bhn,bnhd->bhd", p, v)
