"""Wrong control: reduce-scatters the gradient and never divides by the world size."""
import math

import torch
import torch.distributed as dist
from torch import nn


class _Gather(torch.autograd.Function):
    """Forward: all-gather the shards into the full flat vector. Backward: reduce-scatter its gradient
    and average, so each rank gets its slice of the mean gradient."""

    @staticmethod
    def forward(ctx, shard):
        n = dist.get_world_size()
        full = torch.empty(n * shard.numel(), dtype=shard.dtype, device=shard.device)
        dist.all_gather_into_tensor(full, shard.contiguous())
        return full

    @staticmethod
    def backward(ctx, grad_full):
        n = dist.get_world_size()
        grad = torch.empty(grad_full.numel() // n, dtype=grad_full.dtype, device=grad_full.device)
        dist.reduce_scatter_tensor(grad, grad_full.contiguous())
        return grad


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
            p.data = torch.empty(0, dtype=p.dtype, device=p.device)
            p.requires_grad_(False)
        self._module = [module]  # a plain list: not a submodule, so its (empty) parameters stay out of ours

    def forward(self, *args):
        full = _Gather.apply(self.shard)  # freed after backward: autograd holds it only until then
        views, offset = {}, 0
        for name, shape in zip(self.names, self.shapes):
            k = math.prod(shape)
            views[name] = full[offset:offset + k].view(shape)
            offset += k
        return torch.func.functional_call(self._module[0], views, args)
