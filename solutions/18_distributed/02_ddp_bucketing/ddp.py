"""Data parallelism with gradient buckets all-reduced during backward (reference)."""
import torch
import torch.distributed as dist


class BucketedDDP:
    def __init__(self, module, bucket_cap_bytes):
        self.module = module
        params = [p for p in module.parameters() if p.requires_grad]
        self.buckets, current, size = [], [], 0
        for p in reversed(params):
            current.append(p)
            size += p.numel() * p.element_size()
            if size >= bucket_cap_bytes:
                self.buckets.append(current)
                current, size = [], 0
        if current:
            self.buckets.append(current)
        self.bucket_of = {p: i for i, b in enumerate(self.buckets) for p in b}
        self._reset()
        for p in params:
            p.register_post_accumulate_grad_hook(self._grad_ready)

    def _reset(self):
        self.pending = [len(b) for b in self.buckets]
        self.works = []  # (work, flat buffer, bucket index)

    def _grad_ready(self, p):
        i = self.bucket_of[p]
        self.pending[i] -= 1
        if self.pending[i] == 0:  # the bucket is full: launch its all-reduce now, during backward
            flat = torch.cat([q.grad.reshape(-1) for q in self.buckets[i]])
            self.works.append((dist.all_reduce(flat, async_op=True), flat, i))

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def finish(self):
        n = dist.get_world_size()
        for work, flat, i in self.works:
            work.wait()
            flat.div_(n)
            offset = 0
            for q in self.buckets[i]:
                k = q.numel()
                q.grad.copy_(flat[offset:offset + k].view_as(q.grad))
                offset += k
        self._reset()
