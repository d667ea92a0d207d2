"""Ring all-reduce: every rank's result equals the sum dist.all_reduce gives, for world sizes 1-4 and
lengths that are and are not divisible by the world size (shorter than it too), in int64 (exact) and
float32; only point-to-point calls; then the bytes each rank sends against the ring's bound."""
import pytest
import torch

from kata import distkit
from kata.testing import assert_close, assert_equal
from kata.toolkit import expect

P2P = ("send", "isend", "recv", "irecv")


def cases(n):
    """(label, shape, dtype): lengths around and between multiples of the world size."""
    lengths = sorted({1, max(n - 1, 1), n, n + 1, 7, 13, 4 * n + 3})
    out = [(f"{L} elements", (L,), dt) for L in lengths for dt in (torch.int64, torch.float32)]
    out.append(("a (3, 5) matrix", (3, 5), torch.float64))
    return out


def inputs(case_id, shape, dtype, n):
    """Every rank's input for one case, the same on every rank (seeded): so each rank knows the sum."""
    g = torch.Generator().manual_seed(1000 * case_id + n)
    if dtype == torch.int64:
        return [torch.randint(-1000, 1000, shape, generator=g) for _ in range(n)]
    return [torch.randn(shape, generator=g, dtype=torch.float64).to(dtype) for _ in range(n)]


def run_cases(path):
    import torch.distributed as dist
    mod = distkit.load(path)
    n, rank = dist.get_world_size(), dist.get_rank()
    results = []
    for i, (label, shape, dtype) in enumerate(cases(n)):
        xs = inputs(i, shape, dtype, n)
        mine = xs[rank].clone()
        distkit.mark(f"case {i}")
        out = mod.ring_allreduce(mine)
        want = sum(x.to(torch.float64) for x in xs) if dtype != torch.int64 else sum(xs)
        results.append((label, dtype, out, mine, want))
    return results


@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_equals_all_reduce(kata, world):
    kata.module()  # a stub or an import error shows here, in the test process
    ranks = distkit.launch(world, run_cases, str(kata.file()), timeout=60)
    for r in ranks:
        for label, dtype, out, mine, want in r.value:
            on = f"rank {r.rank} of {world}, {label}, {str(dtype).replace('torch.', '')}"
            expect(isinstance(out, torch.Tensor), f"ring_allreduce returned {type(out).__name__} on {on}; "
                                                 "return the tensor it was given, reduced in place")
            if dtype == torch.int64:
                assert_equal(mine, want, what="the input tensor after ring_allreduce (the sum, in place)", on=on)
            else:
                assert_close(mine, want, atol=1e-5, rtol=1e-5, what="the input tensor after ring_allreduce", on=on)
            expect(out.dtype == dtype and out.shape == mine.shape,
                   f"ring_allreduce returned {out.dtype} {tuple(out.shape)}, expected {dtype} {tuple(mine.shape)} on {on}")
            expect(torch.equal(out, mine), f"ring_allreduce returned a tensor that differs from its (reduced) input "
                                           f"on {on}: reduce in place and return the same tensor")
        used = {op: c["calls"] for op, c in r.comm.items() if op not in P2P}
        expect(not used, f"rank {r.rank} of {world} called {used}: the exercise is to build the all-reduce from "
                         "point-to-point sends and receives only (send/recv/isend/irecv), no collectives")


# ------------------------------------------------------------------------- performance (a count)
# Each rank must send at most 2 (N-1) chunks of ceil(L/N) elements: the ring's bound, the least any
# all-reduce can do per rank. Gathering on rank 0 makes rank 0 send (N-1) whole tensors.

L = 1001  # not divisible by 3 or 4


def run_bytes(path):
    import torch.distributed as dist
    mod = distkit.load(path)
    x = torch.full((L,), float(dist.get_rank() + 1))
    mod.ring_allreduce(x)
    return float(x[0]), float(x[-1])


@pytest.mark.perf
@pytest.mark.parametrize("world", [3, 4])
def test_bytes_per_rank(kata, world):
    kata.module()
    ranks = distkit.launch(world, run_bytes, str(kata.file()), timeout=60)
    bound = distkit.ring_bound(L, 4, world)
    sent = [r.sent() for r in ranks]
    kata.record(**{f"bytes_sent_max_N{world}": max(sent), f"ring_bound_N{world}": bound,
                   f"tensor_bytes": L * 4, f"messages_rank0_N{world}": ranks[0].calls("send", "isend")})
    total = world * (world + 1) / 2
    expect(all(r.value == (total, total) for r in ranks), f"wrong sums on a {L}-element tensor: {[r.value for r in ranks]}")
    worst = max(range(world), key=lambda i: sent[i])
    expect(max(sent) <= bound,
           f"rank {worst} of {world} sent {sent[worst]} bytes to all-reduce a {L * 4}-byte float32 tensor "
           f"(bytes sent per rank: {sent}); a ring sends at most 2(N-1) chunks of ceil(L/N) elements = {bound} "
           f"bytes per rank. Sending whole tensors to one rank makes that rank send (N-1) x {L * 4} bytes: split "
           "the tensor into N chunks and pass chunks around the ring (reduce-scatter, then all-gather).")
