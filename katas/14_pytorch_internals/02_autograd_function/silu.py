"""SiLU (also called swish) as a custom autograd Function: y = x * sigmoid(x). See README.md.

Write forward and backward by hand: no torch.nn.functional.silu, and no autograd inside them.
Save only what backward cannot cheaply recompute."""
import torch


class SiLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        """Return x * sigmoid(x) (same shape and dtype as x) and save for backward what it needs,
        with ctx.save_for_backward(...)."""
        raise NotImplementedError("silu.py: SiLUFunction.forward()")

    @staticmethod
    def backward(ctx, grad_output):
        """Given dL/dy (grad_output), return dL/dx = grad_output * dy/dx."""
        raise NotImplementedError("silu.py: SiLUFunction.backward()")


def silu(x):
    """Apply SiLUFunction to x so that autograd records it (one line)."""
    raise NotImplementedError("silu.py: silu()")
