"""Weight-only int quantisation of a linear layer y = x @ W.T, three ways: round-to-nearest, AWQ and
GPTQ. See README.md. W is (out_features, in_features); X holds calibration inputs, (n, in_features).
Every function returns float32 tensors and leaves its inputs unchanged."""
import torch


def quantize_rtn(W: torch.Tensor, bits: int = 4) -> torch.Tensor:
    """Symmetric per-row round-to-nearest: scale_r = max|W[r]| / (2**(bits-1) - 1), q = clamp(round(W / scale),
    -2**(bits-1), 2**(bits-1) - 1), returned dequantised (q * scale). An all-zero row stays zero."""
    raise NotImplementedError("gptq_awq.py: quantize_rtn()")


def awq(W: torch.Tensor, X: torch.Tensor, bits: int = 4, grid: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Activation-aware scaling. For alpha in 0, 1/grid, ..., (grid-1)/grid: s = mean_n |X[:, j]| ** alpha,
    normalised by sqrt(max(s) * min(s)); Wq = quantize_rtn(W * s). Keep the alpha whose layer output
    (X / s) @ Wq.T is closest (squared error) to X @ W.T. Return (Wq, s): the effective weight is Wq / s."""
    raise NotImplementedError("gptq_awq.py: awq()")


def gptq(W: torch.Tensor, X: torch.Tensor, bits: int = 4, damp: float = 0.01) -> torch.Tensor:
    """GPTQ: quantise W column by column (0, 1, ...) with each row's RTN scale (from the original W), and after
    each column spread its rounding error over the columns not yet quantised, weighted by the inverse
    Hessian of H = X.T @ X + damp * mean(diag(X.T @ X)) * I. Return the dequantised weight."""
    raise NotImplementedError("gptq_awq.py: gptq()")
