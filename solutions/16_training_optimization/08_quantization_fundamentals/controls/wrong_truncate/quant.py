"""Wrong control: casts x / scale to an integer (truncation toward zero) instead of rounding."""
"""int8 quantization fundamentals: symmetric and asymmetric, per tensor and per channel, and SQNR.
See README.md."""
import math

import torch


def _reduce(x, axis, fn):
    """fn (amax/amin) over every dimension except `axis` (all of them when axis is None), keepdim."""
    if axis is None:
        return fn(x.reshape(-1), dim=0)
    dims = [d for d in range(x.dim()) if d != axis % x.dim()]
    return fn(x, dim=dims, keepdim=True) if dims else x.clone()


def quantize(x, scheme="symmetric", axis=None):
    x = x.float()
    if scheme == "symmetric":
        amax = _reduce(x.abs(), axis, torch.amax)
        scale = amax / 127
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        q = torch.clamp(x / scale, -127, 127).to(torch.int8)
        zp = torch.zeros_like(scale, dtype=torch.int64)
        return q, scale, zp
    lo = torch.clamp(_reduce(x, axis, torch.amin), max=0.0)
    hi = torch.clamp(_reduce(x, axis, torch.amax), min=0.0)
    scale = (hi - lo) / 255
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    zp = torch.clamp(torch.round(-lo / scale), 0, 255).to(torch.int64)
    q = torch.clamp(torch.round(x / scale) + zp, 0, 255).to(torch.uint8)
    return q, scale, zp


def dequantize(q, scale, zero_point):
    return (q.to(torch.int64) - zero_point).float() * scale


def sqnr_db(x, x_hat):
    x, x_hat = x.double(), x_hat.double()
    noise = (x - x_hat).pow(2).sum()
    if noise == 0:
        return math.inf
    return float(10 * torch.log10(x.pow(2).sum() / noise))
