"""Wrong control: Q4_0 scales by the largest magnitude (d = amax / 8, always positive) instead of the signed max / -8."""
"""GGUF (llama.cpp) Q8_0 and Q4_0 blocks, byte for byte. See README.md."""
import torch

QK = 32


def _round_half_away(x):
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def _fp16_bytes(d):
    """Little-endian fp16 bytes of the float32 tensor d: (nblocks, 2) uint8."""
    return d.to(torch.float16).view(torch.uint8).reshape(-1, 2)


def encode_q8_0(x):
    blocks = x.reshape(-1, QK).float()
    amax = blocks.abs().amax(dim=1)
    d = amax / 127
    inv = torch.where(d != 0, 1.0 / d, torch.zeros_like(d))
    q = _round_half_away(blocks * inv[:, None]).to(torch.int8)
    return torch.cat([_fp16_bytes(d), q.view(torch.uint8)], dim=1).reshape(-1)


def decode_q8_0(data):
    rows = data.reshape(-1, 2 + QK)
    d = rows[:, :2].contiguous().view(torch.float16).float()
    q = rows[:, 2:].contiguous().view(torch.int8).float()
    return (q * d).reshape(-1)


def encode_q4_0(x):
    blocks = x.reshape(-1, QK).float()
    idx = blocks.abs().argmax(dim=1)                   # first index of the largest magnitude
    mx = blocks.gather(1, idx[:, None]).squeeze(1)     # keep its sign
    d = mx.abs() / 8
    inv = torch.where(d != 0, 1.0 / d, torch.zeros_like(d))
    q = torch.clamp(torch.trunc(blocks * inv[:, None] + 8.5), max=15).to(torch.uint8)
    packed = q[:, :QK // 2] | (q[:, QK // 2:] << 4)   # element j low nibble, element j + 16 high nibble
    return torch.cat([_fp16_bytes(d), packed], dim=1).reshape(-1)


def decode_q4_0(data):
    rows = data.reshape(-1, 2 + QK // 2)
    d = rows[:, :2].contiguous().view(torch.float16).float()
    p = rows[:, 2:].to(torch.int64)
    q = torch.cat([p & 0xF, p >> 4], dim=1).float() - 8
    return (q * d).reshape(-1)
