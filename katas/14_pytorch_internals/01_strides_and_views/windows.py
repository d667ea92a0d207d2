"""Sliding windows as views: no element is copied. See README.md.

Build every result with Tensor.as_strided (no unfold, no stack/cat/clone, no loops over windows)."""
import torch


def sliding_windows(x: torch.Tensor, size: int, step: int = 1) -> torch.Tensor:
    """For a 1-D tensor x, the view of shape (n_windows, size) whose row i is x[i*step : i*step + size].
    n_windows = (len(x) - size) // step + 1, or 0 when size > len(x). Raise ValueError if size < 1 or step < 1."""
    raise NotImplementedError("windows.py: sliding_windows()")


def patches(x: torch.Tensor, kh: int, kw: int, stride: int = 1) -> torch.Tensor:
    """For a 2-D tensor x of shape (H, W), the view of shape (oh, ow, kh, kw) whose [i, j] is the patch
    x[i*stride : i*stride + kh, j*stride : j*stride + kw], with oh = (H - kh) // stride + 1 and
    ow = (W - kw) // stride + 1. Raise ValueError if kh, kw or stride < 1, or the patch does not fit."""
    raise NotImplementedError("windows.py: patches()")
