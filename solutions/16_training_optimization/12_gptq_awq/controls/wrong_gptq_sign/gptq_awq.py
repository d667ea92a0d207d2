"""Weight-only int quantisation of a linear layer y = x @ W.T, three ways: round-to-nearest, AWQ and
GPTQ. Wrong control: GPTQ adds the compensation instead of subtracting it, so every rounding
error is doubled downstream instead of cancelled. W is (out_features, in_features); X holds calibration inputs, (n, in_features).
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


def awq(W: torch.Tensor, X: torch.Tensor, bits: int = 4, grid: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Activation-aware scaling. For alpha in 0, 1/grid, ..., (grid-1)/grid: s = mean_n |X[:, j]| ** alpha,
    normalised by sqrt(max(s) * min(s)); Wq = quantize_rtn(W * s). Keep the alpha whose layer output
    (X / s) @ Wq.T is closest (squared error) to X @ W.T. Return (Wq, s): the effective weight is Wq / s."""
    Wd, Xd = W.double(), X.double()
    act = Xd.abs().mean(0).clamp_min(1e-8)  # how large each input channel is, on average
    want = Xd @ Wd.T
    best = None
    for i in range(grid):
        s = act ** (i / grid)
        s = s / (s.max() * s.min()).sqrt()
        # Salient channels (large activations) get their weights scaled up before rounding, so their
        # rounding error, divided by s again at run time, shrinks; alpha = 0 is plain RTN.
        Wq = quantize_rtn((Wd * s).float(), bits).double()
        err = ((Xd / s) @ Wq.T - want).pow(2).sum().item()
        if best is None or err < best[0]:
            best = (err, Wq, s)
    return best[1].float(), best[2].float()


def gptq(W: torch.Tensor, X: torch.Tensor, bits: int = 4, damp: float = 0.01) -> torch.Tensor:
    """GPTQ: quantise W column by column (0, 1, ...) with each row's RTN scale (from the original W), and after
    each column spread its rounding error over the columns not yet quantised, weighted by the inverse
    Hessian of H = X.T @ X + damp * mean(diag(X.T @ X)) * I. Return the dequantised weight."""
    qmax = 2 ** (bits - 1) - 1
    Wd, Xd = W.double().clone(), X.double()
    scale = Wd.abs().amax(1) / qmax
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    H = Xd.T @ Xd
    H += damp * H.diagonal().mean() * torch.eye(H.shape[0], dtype=H.dtype)
    # The upper Cholesky factor of H^-1: row i holds what OBS needs after columns < i are fixed.
    U = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    Q = torch.zeros_like(Wd)
    for i in range(Wd.shape[1]):
        w = Wd[:, i]
        q = torch.clamp(torch.round(w / scale), -qmax - 1, qmax) * scale
        Q[:, i] = q
        err = (w - q) / U[i, i]
        Wd[:, i + 1:] += err[:, None] * U[i, i + 1:][None, :]  # compensate in the columns still to come
    return Q.float()
