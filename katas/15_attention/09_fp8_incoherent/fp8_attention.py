"""FP8 attention with incoherence processing (FlashAttention-3's random Hadamard rotation). See README.md."""
import math

import torch

FP8 = torch.float8_e4m3fn
FP8_MAX = 448.0  # the largest finite e4m3fn value


def random_hadamard(d: int, seed: int) -> torch.Tensor:
    """The (d, d) float32 matrix R = H @ diag(s) / sqrt(d): H the Sylvester Hadamard matrix of order d
    (entries +-1, as scipy.linalg.hadamard builds it), s random signs (+-1) drawn from `seed`.
    Raise ValueError unless d is a power of two."""
    raise NotImplementedError("fp8_attention.py: random_hadamard()")


def quantize_fp8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-tensor scaled e4m3 quantisation: (q, scale) with q of dtype FP8 and x's shape, scale a float32 0-d
    tensor, x ~= q.float() * scale, and the largest |x| mapped to FP8_MAX. An all-zero x gives zeros."""
    raise NotImplementedError("fp8_attention.py: quantize_fp8()")


def fp8_attention(q, k, v, rotate: bool = False, seed: int = 0) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v for float32 q, k, v of shape (..., N, d), with q and k quantised to fp8
    (quantize_fp8, then dequantised) and v kept in float32. With rotate=True, q and k are first multiplied
    by random_hadamard(d, seed). Returns float32 (..., N, d)."""
    raise NotImplementedError("fp8_attention.py: fp8_attention()")
