"""Wrong control: the fake kernel calls the real kernel. Fake tensors have no data, so
.numpy() fails as soon as torch.compile (or opcheck) traces the op."""
import numpy as np
import torch


def _kernel(x: np.ndarray, limit: float) -> np.ndarray:
    return limit * np.tanh(x / limit)


@torch.library.custom_op("katas::softclip", mutates_args=())
def softclip(x: torch.Tensor, limit: float) -> torch.Tensor:
    # A custom op must return a fresh tensor (never x itself or a view of it).
    out = _kernel(x.detach().cpu().numpy(), limit)
    return torch.from_numpy(np.asarray(out)).to(device=x.device, dtype=x.dtype)


@softclip.register_fake
def _(x, limit):
    # Shapes, dtype and device only: no data exists while torch.compile traces with fake tensors.
    return torch.from_numpy(_kernel(x.detach().cpu().numpy(), limit))  # fake tensors hold no data


def _setup_context(ctx, inputs, output):
    _, limit = inputs
    ctx.save_for_backward(output)
    ctx.limit = limit


def _backward(ctx, grad):
    # d/dx [L tanh(x / L)] = 1 - tanh(x / L)^2 = 1 - (y / L)^2. No gradient for the float limit.
    (y,) = ctx.saved_tensors
    t = y / ctx.limit
    return grad * (1 - t * t), None


softclip.register_autograd(_backward, setup_context=_setup_context)
