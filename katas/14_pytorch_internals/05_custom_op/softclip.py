"""A custom op: softclip(x, limit) = limit * tanh(x / limit), computed by a numpy kernel that torch
cannot see into. Register it with torch.library so that autograd, FakeTensor and torch.compile treat
it as one opaque op. See README.md."""
import numpy as np
import torch


def _kernel(x: np.ndarray, limit: float) -> np.ndarray:
    """The "kernel" (given): think of it as a CUDA or C++ library call torch knows nothing about."""
    return limit * np.tanh(x / limit)


# Turn this into the custom op "katas::softclip" (torch.library.custom_op, mutates_args=()), running
# _kernel on x's data; then register a fake kernel and an autograd formula for it.
def softclip(x: torch.Tensor, limit: float) -> torch.Tensor:
    """limit * tanh(x / limit), elementwise; the result has x's shape, dtype and device."""
    raise NotImplementedError("softclip.py: softclip() (make it the custom op katas::softclip)")
