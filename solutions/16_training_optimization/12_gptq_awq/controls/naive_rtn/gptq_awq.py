"""Weight-only int quantisation of a linear layer y = x @ W.T, three ways: round-to-nearest, AWQ and
GPTQ. Naive control: awq and gptq are plain round-to-nearest (s = 1, no compensation): valid
quantised weights, and no better than RTN. W is (out_features, in_features); X holds calibration inputs, (n, in_features).
Every function returns float32 tensors and leaves its inputs unchanged."""
import torch


def quantize_rtn(W: torch.Tensor, bits: int = 4) -> torch.Tensor:
    """Symmetric per-row round-to-nearest: scale_r = max|W[r]| / (2**(bits-1) - 1), q = clamp(round(W / scale),
    -2**(bits-1), 2**(bits-1) - 1), returned dequantised (q * scale). An all-zero row stays zero."""
    qmax = 2 ** (bits - 1) - 1
    Wd = W.double()
    scale = Wd.abs().amax(1, keepdim=True) / qmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))  # an all-zero row: any scale, zeros anyway
    return (torch.clamp(torch.round(Wd / scale), -qmax - 1, qmax) * scale).float()


def awq(W, X, bits=4, grid=20):
    return quantize_rtn(W, bits), torch.ones(W.shape[1])


def gptq(W, X, bits=4, damp=0.01):
    return quantize_rtn(W, bits)
