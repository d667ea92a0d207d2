"""ZeRO-1 Adam: after each of three steps, every rank's parameters equal torch.optim.Adam's with the mean
of the ranks' gradients (float64), for world sizes 1-4 and a parameter count (2134) divisible by neither
3 nor 4; then, counted, the optimizer state each rank keeps: its shard, not the whole."""
import math

import pytest
import torch
import torch._dynamo  # noqa: F401 - torch.optim imports it on first use: once here, at collection in the
#                       parent, instead of in every rank of every test (2-30 s each, by the machine's load)

from kata import distkit
from kata.testing import assert_close
from kata.toolkit import expect

SHAPES = [(37, 29), (29,), (29, 31), (31,), (31, 3), (3,), (6,)]
P = sum(math.prod(s) for s in SHAPES)  # 2134: P % 3 == 1, P % 4 == 2
HYPER = dict(lr=0.01, betas=(0.8, 0.95), eps=1e-6)
STEPS = 3


def make_params():
    g = torch.Generator().manual_seed(7)
    return [torch.nn.Parameter(torch.randn(s, generator=g, dtype=torch.float64)) for s in SHAPES]


def local_grads(step, rank):
    g = torch.Generator().manual_seed(1000 * step + rank)
    return [torch.randn(s, generator=g, dtype=torch.float64) * (1 + rank) for s in SHAPES]


def run_zero(path):
    import torch.distributed as dist
    mod = distkit.load(path)
    n, rank = dist.get_world_size(), dist.get_rank()
    params, ref = make_params(), make_params()
    opt = mod.ZeroAdam(params, **HYPER)
    ref_opt = torch.optim.Adam(ref, **HYPER)
    steps = []
    for step in range(STEPS):
        opt.zero_grad()
        for p, g in zip(params, local_grads(step, rank)):
            p.grad = g
        distkit.mark(f"step {step}")
        opt.step()
        distkit.mark("step done")
        all_g = [local_grads(step, r) for r in range(n)]
        for i, p in enumerate(ref):
            p.grad = sum(g[i] for g in all_g) / n
        ref_opt.step()
        steps.append(([p.detach().clone() for p in params], [p.detach().clone() for p in ref]))
    state = distkit.reachable_bytes(opt, exclude=[*params, *(p.grad for p in params)])
    return steps, state


@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_same_updates_as_adam(kata, world):
    kata.module()
    ranks = distkit.launch(world, run_zero, str(kata.file()), timeout=60)
    for r in ranks:
        steps, _ = r.value
        for step, (got, want) in enumerate(steps):
            for i, (a, b) in enumerate(zip(got, want)):
                on = (f"rank {r.rank} of {world}, after step {step + 1}, parameter {i} of shape {SHAPES[i]} "
                      f"({P} parameters in all: not divisible by 3 or 4)")
                try:
                    assert_close(a, b, atol=1e-12, rtol=1e-10, what="parameter", on=on)
                except AssertionError as e:
                    hint = ("\n  Every rank must hold every updated parameter after step(): all-gather the shards. "
                            "Gradients are averaged (reduce-scatter, then divide by N), not summed. Shards are "
                            "ceil(P/N) elements of the flat vector padded to N * ceil(P/N): the last one may hold "
                            "padding.")
                    raise AssertionError(f"{e}{hint}") from None


# ------------------------------------------------------------------------- performance (a count)
# The point of ZeRO-1: Adam keeps 2 numbers per parameter; sharded, each rank keeps 2 ceil(P/N). The
# count walks everything reachable from the optimizer object (attributes, dicts, lists, inner optimizers)
# and adds up distinct tensor storages, the parameters and their gradients aside.

@pytest.mark.perf
@pytest.mark.parametrize("world", [2, 3, 4])
def test_state_bytes_per_rank(kata, world):
    kata.module()
    ranks = distkit.launch(world, run_zero, str(kata.file()), timeout=60)
    shard = math.ceil(P / world)
    full, gate = 2 * P * 8, 3 * shard * 8 + 1024
    states = [r.value[1] for r in ranks]
    sent = [r.sent() // STEPS for r in ranks]
    kata.record(**{f"state_bytes_max_N{world}": max(states), f"state_gate_N{world}": gate,
                   f"full_adam_state_bytes": full, f"bytes_sent_per_step_max_N{world}": max(sent),
                   f"ring_bound_N{world}": distkit.ring_bound(P, 8, world)})
    worst = max(range(world), key=lambda i: states[i])
    expect(max(states) <= gate,
           f"rank {worst} of {world} keeps {states[worst]} bytes of optimizer state for {P} float64 parameters "
           f"(per rank: {states}); a shard's Adam state is 2 x ceil(P/N) x 8 = {2 * shard * 8} bytes, the gate "
           f"{gate} (some room for a step count or a copy of the shard), the whole state {full}. Keep exp_avg "
           "and exp_avg_sq for your shard only, and free full-size temporaries (flat gradients, gathered "
           "parameters) before step() returns.")
