"""ZeRO stage 1: Adam with its state sharded over the ranks. See README.md."""
import math  # noqa: F401

import torch  # noqa: F401
import torch.distributed as dist  # noqa: F401


class ZeroAdam:
    """Adam (as torch.optim.Adam, weight_decay 0) for `params`, which are the same on every rank.

    Each rank's p.grad holds its LOCAL gradient. step() must leave every parameter, on every rank,
    exactly as torch.optim.Adam would after a step with the MEAN of the ranks' gradients. But each rank
    keeps Adam's state (exp_avg, exp_avg_sq) only for its own shard of the parameters: view the
    parameters as one flat vector of P elements, padded to a multiple of the world size N; rank r owns
    elements [r * S, (r + 1) * S) with S = ceil(P / N). Between steps, keep no tensor of P elements
    (the parameters and their .grad aside)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        raise NotImplementedError("zero.py: ZeroAdam.__init__()")

    def step(self):
        raise NotImplementedError("zero.py: ZeroAdam.step()")

    def zero_grad(self):
        for p in self.params:
            p.grad = None
