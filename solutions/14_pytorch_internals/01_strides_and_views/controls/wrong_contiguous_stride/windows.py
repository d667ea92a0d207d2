"""Wrong control: assumes x is contiguous (stride 1 along W, W along H) instead of reading x.stride()."""
import torch


def sliding_windows(x: torch.Tensor, size: int, step: int = 1) -> torch.Tensor:
    if size < 1 or step < 1:
        raise ValueError(f"size and step must be >= 1, got size={size}, step={step}")
    n = x.shape[0]
    count = (n - size) // step + 1 if size <= n else 0
    s = 1
    # Row i starts step elements of x further on (step * s in storage); along a row, x's own stride.
    return x.as_strided((count, size), (step * s, s), x.storage_offset())


def patches(x: torch.Tensor, kh: int, kw: int, stride: int = 1) -> torch.Tensor:
    if kh < 1 or kw < 1 or stride < 1:
        raise ValueError(f"kh, kw and stride must be >= 1, got {kh}, {kw}, {stride}")
    H, W = x.shape
    if kh > H or kw > W:
        raise ValueError(f"a {kh}x{kw} patch does not fit in a {H}x{W} input")
    sh, sw = W, 1
    oh, ow = (H - kh) // stride + 1, (W - kw) // stride + 1
    return x.as_strided((oh, ow, kh, kw), (stride * sh, stride * sw, sh, sw), x.storage_offset())
