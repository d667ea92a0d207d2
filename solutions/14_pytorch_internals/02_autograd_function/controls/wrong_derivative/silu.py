"""Wrong control: the forward is right, but backward forgets the product rule and returns
grad_output * sigmoid(x), dropping the x * sigmoid'(x) term."""
import torch


class SiLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * torch.sigmoid(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(x)


def silu(x):
    return SiLUFunction.apply(x)
