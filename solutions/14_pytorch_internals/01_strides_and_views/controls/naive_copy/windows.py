"""Naive control: right values, but every window is a copy (torch.stack of slices): no memory is shared with x."""
import torch


def sliding_windows(x: torch.Tensor, size: int, step: int = 1) -> torch.Tensor:
    if size < 1 or step < 1:
        raise ValueError(f"size and step must be >= 1, got size={size}, step={step}")
    n = x.shape[0]
    count = (n - size) // step + 1 if size <= n else 0
    (s,) = x.stride()
    # Row i starts step elements of x further on (step * s in storage); along a row, x's own stride.
    if count == 0:
        return x.new_empty((0, size))
    return torch.stack([x[i * step:i * step + size] for i in range(count)])


def patches(x: torch.Tensor, kh: int, kw: int, stride: int = 1) -> torch.Tensor:
    if kh < 1 or kw < 1 or stride < 1:
        raise ValueError(f"kh, kw and stride must be >= 1, got {kh}, {kw}, {stride}")
    H, W = x.shape
    if kh > H or kw > W:
        raise ValueError(f"a {kh}x{kw} patch does not fit in a {H}x{W} input")
    sh, sw = x.stride()
    oh, ow = (H - kh) // stride + 1, (W - kw) // stride + 1
    return torch.stack([torch.stack([x[i * stride:i * stride + kh, j * stride:j * stride + kw] for j in range(ow)])
                        for i in range(oh)])
