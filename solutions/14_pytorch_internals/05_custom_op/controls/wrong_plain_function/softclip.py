"""Wrong control: a plain Python function with an autograd.Function around the numpy kernel. Right in
eager mode, but torch.compile cannot trace .numpy() on a fake tensor: a graph break (fullgraph fails)."""
import numpy as np
import torch


def _kernel(x, limit):
    return limit * np.tanh(x / limit)


class _SoftClip(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, limit):
        y = torch.from_numpy(np.asarray(_kernel(x.detach().cpu().numpy(), limit))).to(x.dtype)
        ctx.save_for_backward(y)
        ctx.limit = limit
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        t = y / ctx.limit
        return grad * (1 - t * t), None


def softclip(x, limit):
    return _SoftClip.apply(x, limit)
