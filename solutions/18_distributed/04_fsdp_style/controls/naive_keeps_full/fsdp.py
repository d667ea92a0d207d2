"""Naive control: keeps the gathered full parameters and all-reduces the whole gradient, then
takes its slice. Correct; every rank holds the whole model (and its gradient) between steps."""
import math

import torch
import torch.distributed as dist
from torch import nn


class _Gather(torch.autograd.Function):
    """Forward: all-gather the shards into the full flat vector. Backward: reduce-scatter its gradient
    and average, so each rank gets its slice of the mean gradient."""

    @staticmethod
    def forward(ctx, shard, owner):
        ctx.owner = owner
        n = dist.get_world_size()
        full = torch.empty(n * shard.numel(), dtype=shard.dtype, device=shard.device)
        dist.all_gather_into_tensor(full, shard.contiguous())
        owner.full_params = full.clone()  # kept: the whole model on every rank
        return full

    @staticmethod
    def backward(ctx, grad_full):
        n = dist.get_world_size()
        ctx.owner.full_grad = grad_full.clone()
        dist.all_reduce(ctx.owner.full_grad)
        ctx.owner.full_grad.div_(n)
        s, rank = grad_full.numel() // n, dist.get_rank()
        return ctx.owner.full_grad[rank * s:(rank + 1) * s].clone(), None


class FSDP(nn.Module):
    def __init__(self, module):
        super().__init__()
        n, rank = dist.get_world_size(), dist.get_rank()
        params = list(module.named_parameters())
        self.names = [name for name, _ in params]
        self.shapes = [p.shape for _, p in params]
        self.numel = sum(p.numel() for _, p in params)
        s = math.ceil(self.numel / n)
        with torch.no_grad():
            flat = torch.cat([p.reshape(-1) for _, p in params])
            flat = nn.functional.pad(flat, (0, n * s - self.numel))
            self.shard = nn.Parameter(flat[rank * s:(rank + 1) * s].clone())
        for _, p in params:  # free the full parameters: from now on only the shard lives here
            p.requires_grad_(False)
        self._module = [module]  # a plain list: not a submodule, so its (empty) parameters stay out of ours

    def forward(self, *args):
        full = _Gather.apply(self.shard, self)  # freed after backward: autograd holds it only until then
        views, offset = {}, 0
        for name, shape in zip(self.names, self.shapes):
            k = math.prod(shape)
            views[name] = full[offset:offset + k].view(shape)
            offset += k
        return torch.func.functional_call(self._module[0], views, args)
