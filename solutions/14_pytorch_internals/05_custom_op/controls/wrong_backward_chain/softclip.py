"""Wrong control: the derivative uses
tanh(x)'s derivative, 1 - tanh(x)^2, instead of 1 - tanh(x / limit)^2 (so right only for limit = 1)."""
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
    return torch.empty_like(x, memory_format=torch.contiguous_format)


def _setup_context(ctx, inputs, output):
    _, limit = inputs
    ctx.save_for_backward(inputs[0])
    ctx.limit = limit


def _backward(ctx, grad):
    # d/dx [L tanh(x / L)] = 1 - tanh(x / L)^2 = 1 - (y / L)^2. No gradient for the float limit.
    (x,) = ctx.saved_tensors
    t = torch.tanh(x)
    return grad * (1 - t * t), None


softclip.register_autograd(_backward, setup_context=_setup_context)
