"""Wrong control: divides by the world size at the end (an average, not the sum all_reduce gives)."""
import torch
import torch.distributed as dist


def _exchange(send_buf, dst, recv_buf, src):
    # Post the send asynchronously and receive meanwhile: every rank sends and receives at once, so a
    # blocking send first would wait in a circle on a transport that does not buffer (NCCL).
    work = dist.isend(send_buf, dst) if send_buf.numel() else None
    if recv_buf.numel():
        dist.recv(recv_buf, src)
    if work is not None:
        work.wait()


def ring_allreduce(tensor):
    n = dist.get_world_size()
    if n == 1:
        return tensor
    rank = dist.get_rank()
    right, left = (rank + 1) % n, (rank - 1) % n
    flat = tensor.view(-1)
    chunks = list(torch.tensor_split(flat, n))  # sizes differ by at most one; views into `tensor`
    # Reduce-scatter: after step s, chunk (rank - s - 1) holds the sum over s + 2 ranks; after N - 1
    # steps, chunk (rank + 1) % n holds the sum over all ranks.
    for s in range(n - 1):
        send_i, recv_i = (rank - s) % n, (rank - s - 1) % n
        incoming = torch.empty_like(chunks[recv_i])
        _exchange(chunks[send_i].contiguous(), right, incoming, left)
        chunks[recv_i].add_(incoming)
    # All-gather: pass the finished chunks around the ring.
    for s in range(n - 1):
        send_i, recv_i = (rank + 1 - s) % n, (rank - s) % n
        incoming = torch.empty_like(chunks[recv_i])
        _exchange(chunks[send_i].contiguous(), right, incoming, left)
        chunks[recv_i].copy_(incoming)
    tensor.copy_(tensor / n)
    return tensor
