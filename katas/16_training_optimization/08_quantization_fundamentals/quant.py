"""int8 quantization fundamentals: symmetric and asymmetric, per tensor and per channel, and SQNR.
See README.md."""
import math  # noqa: F401

import torch  # noqa: F401


def quantize(x, scheme="symmetric", axis=None):
    """Quantize the float tensor x. Returns (q, scale, zero_point).

    scheme "symmetric":  q int8 in [-127, 127], scale = max|x| / 127, zero_point 0.
    scheme "asymmetric": q uint8 in [0, 255], range [lo, hi] = [min(min x, 0), max(max x, 0)],
                         scale = (hi - lo) / 255, zero_point = round(-lo / scale) clamped to [0, 255].
    q = clamp(round(x / scale) + zero_point, qmin, qmax), with torch.round (ties to even).
    axis None: one scale for the whole tensor (0-d scale and zero_point tensors).
    axis = k: one scale per index along dimension k (per channel); scale and zero_point then have x's
    number of dimensions, size 1 everywhere but dimension k, so they broadcast against x.
    A scale that would be 0 (all-zero data) is 1 instead. zero_point is an int64 tensor."""
    raise NotImplementedError("quant.py: quantize()")


def dequantize(q, scale, zero_point):
    """(q - zero_point) * scale as float32 (compute q - zero_point in integers: uint8 - int64 is fine)."""
    raise NotImplementedError("quant.py: dequantize()")


def sqnr_db(x, x_hat):
    """Signal-to-quantization-noise ratio in decibels: 10 log10(sum x^2 / sum (x - x_hat)^2), a Python
    float (inf when x_hat == x)."""
    raise NotImplementedError("quant.py: sqnr_db()")
