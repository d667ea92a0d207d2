"""Wrong control: updates its own shard and never all-gathers the others'."""
import math

import torch
import torch.distributed as dist


class ZeroAdam:
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.n, self.rank = dist.get_world_size(), dist.get_rank()
        self.numel = sum(p.numel() for p in self.params)
        self.shard = math.ceil(self.numel / self.n)
        p0 = self.params[0]
        self.exp_avg = torch.zeros(self.shard, dtype=p0.dtype, device=p0.device)
        self.exp_avg_sq = torch.zeros_like(self.exp_avg)
        self.t = 0

    def _flat(self, tensors):
        flat = torch.cat([t.reshape(-1) for t in tensors])
        return torch.nn.functional.pad(flat, (0, self.shard * self.n - self.numel))

    def step(self):
        with torch.no_grad():
            n, lo = self.n, self.rank * self.shard
            grads = self._flat([p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params])
            g = torch.empty(self.shard, dtype=grads.dtype, device=grads.device)
            dist.reduce_scatter_tensor(g, grads)           # my shard of the summed gradient
            g.div_(n)                                       # the mean
            del grads
            w = self._flat(self.params)[lo:lo + self.shard].clone()
            self.t += 1
            b1, b2 = self.betas
            self.exp_avg.mul_(b1).add_(g, alpha=1 - b1)
            self.exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2)
            step_size = self.lr / (1 - b1 ** self.t)
            denom = (self.exp_avg_sq.sqrt() / math.sqrt(1 - b2 ** self.t)).add_(self.eps)
            w.addcdiv_(self.exp_avg, denom, value=-step_size)
            full = self._flat(self.params).clone()
            full[lo:lo + self.shard] = w                   # only my shard: the others stay stale
            offset = 0
            for p in self.params:
                k = p.numel()
                p.copy_(full[offset:offset + k].view_as(p))
                offset += k

    def zero_grad(self):
        for p in self.params:
            p.grad = None
