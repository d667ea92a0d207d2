"""Wrong control: sigmoid written as exp(x) / (1 + exp(x)). Right on paper, but exp(x) overflows to inf
above x = 88.7 in float32 (709.8 in float64) and inf / inf is NaN."""
import torch


def _sigmoid(x):
    e = torch.exp(x)
    return e / (1 + e)


class SiLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * _sigmoid(x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        s = _sigmoid(x)
        return grad_output * (s * (1 + x * (1 - s)))


def silu(x):
    return SiLUFunction.apply(x)
