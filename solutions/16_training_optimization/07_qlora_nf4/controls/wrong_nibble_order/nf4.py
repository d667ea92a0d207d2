"""Wrong control: puts the even element in the low nibble and the odd one in the high nibble."""
"""QLoRA's 4-bit NormalFloat (NF4) with block-wise absmax and double quantization. See README.md."""
import torch


def nf4_code():
    """The 16 NF4 values (QLoRA, Dettmers et al. 2023): quantiles of N(0, 1) scaled to [-1, 1], with an
    exact zero; 8 positive and 7 negative values."""
    offset = 0.9677083
    pos = torch.special.ndtri(torch.linspace(offset, 0.5, 9, dtype=torch.float64)[:-1])
    neg = -torch.special.ndtri(torch.linspace(offset, 0.5, 8, dtype=torch.float64)[:-1])
    v = torch.sort(torch.cat([pos, torch.zeros(1, dtype=torch.float64), neg])).values
    return (v / v.abs().max()).float()


def _blocks(flat, size):
    n = flat.numel()
    nb = -(-n // size)
    padded = torch.zeros(nb * size, dtype=flat.dtype)
    padded[:n] = flat
    return padded.view(nb, size)


def quantize_nf4(w, block_size=64, dq_block_size=256):
    code = nf4_code()
    flat = w.detach().reshape(-1).float()
    n = flat.numel()
    blocks = _blocks(flat, block_size)
    absmax = blocks.abs().amax(dim=1)
    safe = torch.where(absmax > 0, absmax, torch.ones_like(absmax))
    normed = (blocks / safe[:, None]).reshape(-1)[:n]
    idx = torch.bucketize(normed, (code[1:] + code[:-1]) / 2).to(torch.uint8)
    if n % 2:
        idx = torch.cat([idx, torch.zeros(1, dtype=torch.uint8)])
    packed = idx[0::2] | (idx[1::2] << 4)
    # double quantization of the absmax constants
    mean = absmax.mean()
    c = absmax - mean
    cb = _blocks(c, dq_block_size)
    dq_scale = cb.abs().amax(dim=1)
    dq_safe = torch.where(dq_scale > 0, dq_scale, torch.ones_like(dq_scale))
    absmax_q = torch.round(cb / dq_safe[:, None] * 127).reshape(-1)[:absmax.numel()].to(torch.int8)
    return {"packed": packed, "absmax_q": absmax_q, "dq_scale": dq_scale, "absmax_mean": mean,
            "shape": tuple(w.shape), "block_size": block_size, "dq_block_size": dq_block_size}


def dequantize_absmax(q):
    n = q["absmax_q"].numel()
    scale = q["dq_scale"].repeat_interleave(q["dq_block_size"])[:n]
    return q["absmax_q"].float() / 127 * scale + q["absmax_mean"]


def dequantize_nf4(q):
    code = nf4_code()
    n = 1
    for s in q["shape"]:
        n *= s
    packed = q["packed"]
    idx = torch.stack([packed & 0xF, packed >> 4], dim=1).reshape(-1)[:n].long()
    absmax = dequantize_absmax(q).repeat_interleave(q["block_size"])[:n]
    return (code[idx] * absmax).reshape(q["shape"])
