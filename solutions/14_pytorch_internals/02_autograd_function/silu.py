"""SiLU as a custom autograd Function: y = x * sigmoid(x), with a hand-written backward.

Reference. Saves only the input; backward recomputes sigmoid(x), which costs one cheap elementwise
op and saves a whole activation-sized tensor of memory for every call that waits for backward."""
import torch


class SiLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        # torch.sigmoid is overflow-safe: it never evaluates exp of a large positive number.
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        s = torch.sigmoid(x)  # recomputed, not saved
        # d/dx [x * s(x)] = s + x * s * (1 - s) = s * (1 + x * (1 - s))
        return grad_output * (s * (1 + x * (1 - s)))


def silu(x):
    return SiLUFunction.apply(x)
