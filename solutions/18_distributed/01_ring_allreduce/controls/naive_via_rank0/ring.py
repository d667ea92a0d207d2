"""Naive control: gather everything on rank 0, sum there, send the sum back. Correct; rank 0 sends
(N - 1) whole tensors, against the ring's 2 (N - 1) / N."""
import torch
import torch.distributed as dist


def ring_allreduce(tensor):
    n, rank = dist.get_world_size(), dist.get_rank()
    if n == 1:
        return tensor
    if rank == 0:
        buf = torch.empty_like(tensor)
        for src in range(1, n):
            dist.recv(buf, src)
            tensor.add_(buf)
        for dst in range(1, n):
            dist.send(tensor, dst)
    else:
        dist.send(tensor, 0)
        dist.recv(tensor, 0)
    return tensor
