"""Naive control: correct, but saves sigmoid(x) beside x for backward, so every call that waits for
backward keeps a second activation-sized tensor alive (2x the reference's saved bytes)."""
import torch


class SiLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        s = torch.sigmoid(x)
        ctx.save_for_backward(x, s)
        return x * s

    @staticmethod
    def backward(ctx, grad_output):
        x, s = ctx.saved_tensors
        return grad_output * (s * (1 + x * (1 - s)))


def silu(x):
    return SiLUFunction.apply(x)
