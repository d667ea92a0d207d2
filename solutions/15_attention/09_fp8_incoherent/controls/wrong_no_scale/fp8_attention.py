"""FP8 attention with incoherence processing (FlashAttention-3's random Hadamard rotation). 
Wrong control: casts to fp8 without a scale (scale = 1): anything above 448 saturates."""
import math

import torch

FP8 = torch.float8_e4m3fn
FP8_MAX = 448.0  # the largest finite e4m3fn value


def random_hadamard(d: int, seed: int) -> torch.Tensor:
    """The (d, d) float32 matrix R = H @ diag(s) / sqrt(d): H the Sylvester Hadamard matrix of order d
    (entries +-1, as scipy.linalg.hadamard builds it), s random signs (+-1) drawn from `seed`.
    Raise ValueError unless d is a power of two."""
    if d < 1 or d & (d - 1):
        raise ValueError(f"d must be a power of two, got {d}")
    H = torch.ones(1, 1)
    while H.shape[0] < d:  # Sylvester: H_2n = [[H, H], [H, -H]]
        H = torch.cat([torch.cat([H, H], 1), torch.cat([H, -H], 1)], 0)
    g = torch.Generator().manual_seed(seed)
    s = torch.randint(0, 2, (d,), generator=g).float() * 2 - 1
    return H * s[None, :] / math.sqrt(d)


def quantize_fp8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-tensor scaled e4m3 quantisation: (q, scale) with q of dtype FP8 and x's shape, scale a float32 0-d
    tensor, x ~= q.float() * scale, and the largest |x| mapped to FP8_MAX. An all-zero x gives zeros."""
    amax = x.detach().abs().max().float() if x.numel() else torch.tensor(0.0)
    scale = torch.tensor(1.0)
    return (x.float() / scale).to(FP8), scale


def fp8_attention(q, k, v, rotate: bool = False, seed: int = 0) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v for float32 q, k, v of shape (..., N, d), with q and k quantised to fp8
    (quantize_fp8, then dequantised) and v kept in float32. With rotate=True, q and k are first multiplied
    by random_hadamard(d, seed). Returns float32 (..., N, d)."""
    d = q.shape[-1]
    if rotate:
        # The same orthogonal R on both: (qR)(kR)^T = q R R^T k^T = q k^T. The rotation spreads each
        # outlier channel over all d channels, so one per-tensor scale fits every element better.
        R = random_hadamard(d, seed)
        q, k = q @ R, k @ R
    qq, sq = quantize_fp8(q)
    kq, sk = quantize_fp8(k)
    scores = (qq.float() * sq) @ (kq.float() * sk).transpose(-1, -2) / math.sqrt(d)
    return torch.softmax(scores, dim=-1) @ v.float()
