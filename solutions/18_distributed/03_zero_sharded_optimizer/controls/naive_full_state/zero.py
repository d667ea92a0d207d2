"""Naive control: all-reduce the gradients, average, and run plain torch.optim.Adam on every rank.
Correct; every rank keeps the whole optimizer state (2 P elements)."""
import torch
import torch.distributed as dist


class ZeroAdam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.inner = torch.optim.Adam(self.params, lr=lr, betas=betas, eps=eps)

    def step(self):
        n = dist.get_world_size()
        for p in self.params:
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad.div_(n)
        self.inner.step()

    def zero_grad(self):
        for p in self.params:
            p.grad = None
