"""FSDP in miniature: for world sizes 1-4 and three SGD-with-momentum steps, each rank's forward output
equals the unsharded model's, its shard's gradient equals its slice of the whole batch's gradient, and
its shard after the step equals its slice of a single process's parameters (float64; 518 parameters, not
divisible by 3 or 4). Then, counted: the bytes the wrapper keeps between steps (its shard and the
shard's gradient, not the whole model) and the communication per step."""
import math

import pytest
import torch
import torch._dynamo  # noqa: F401 - torch.optim imports it on first use: once here, at collection in the
#                       parent, instead of in every rank of every test (2-30 s each, by the machine's load)
from torch import nn

from kata import distkit
from kata.testing import assert_close
from kata.toolkit import expect

ROWS, STEPS = 3, 3


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 6)).double()


P = sum(p.numel() for p in make_model().parameters())  # 518: P % 3 == 2, P % 4 == 2


def data(step, rank):
    g = torch.Generator().manual_seed(100 * step + rank)
    return torch.randn(ROWS, 8, generator=g, dtype=torch.float64), torch.randn(ROWS, 6, generator=g, dtype=torch.float64)


def my_slice(tensors, n, rank):
    s = math.ceil(P / n)
    flat = nn.functional.pad(torch.cat([t.reshape(-1) for t in tensors]), (0, n * s - P))
    return flat[rank * s:(rank + 1) * s].clone()


def run_fsdp(path):
    import torch.distributed as dist
    mod = distkit.load(path)
    n, rank = dist.get_world_size(), dist.get_rank()
    ref = make_model()
    fs = mod.FSDP(make_model())
    params = list(fs.parameters())
    opt = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    steps = []
    for step in range(STEPS):
        x, y = data(step, rank)
        opt.zero_grad()
        distkit.mark(f"step {step}")
        out = fs(x)
        nn.functional.mse_loss(out, y).backward()
        distkit.mark("backward done")
        shard = getattr(fs, "shard", None)
        grad = None if shard is None or shard.grad is None else shard.grad.clone()
        opt.step()
        distkit.mark("step done")
        want_out = ref(x).detach()
        ref_opt.zero_grad()
        xs, ys = zip(*[data(step, r) for r in range(n)])
        nn.functional.mse_loss(ref(torch.cat(xs)), torch.cat(ys)).backward()
        want_grad = my_slice([p.grad for p in ref.parameters()], n, rank)
        ref_opt.step()
        steps.append(dict(out=out.detach(), want_out=want_out, grad=grad, want_grad=want_grad,
                          shard=None if shard is None else shard.detach().clone(),
                          want_shard=my_slice([p.detach() for p in ref.parameters()], n, rank)))
    return dict(steps=steps, params=[tuple(p.shape) for p in params], kept=distkit.reachable_bytes(fs))


@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_same_as_single_process(kata, world):
    kata.module()
    ranks = distkit.launch(world, run_fsdp, str(kata.file()), timeout=60)
    s = math.ceil(P / world)
    for r in ranks:
        v = r.value
        expect(v["params"] == [(s,)],
               f"rank {r.rank} of {world}: FSDP.parameters() gave shapes {v['params']}; expected one shard of "
               f"ceil({P}/{world}) = {s} elements (self.shard) and nothing else")
        for step, st in enumerate(v["steps"]):
            on = f"rank {r.rank} of {world}, step {step + 1} ({P} parameters, shards of {s})"
            assert_close(st["out"], st["want_out"], atol=1e-12, rtol=1e-10, what="forward output (its own 3 rows)", on=on)
            expect(st["grad"] is not None, f"self.shard.grad is None after backward on {on}: the gradient of the "
                                           "gathered parameters must flow back to the shard (reduce-scattered)")
            try:
                assert_close(st["grad"], st["want_grad"], atol=1e-12, rtol=1e-9, what="self.shard.grad", on=on)
            except AssertionError as e:
                g, w = st["grad"], st["want_grad"]
                ratio = (g.norm() / w.norm()).item() if w.norm() > 0 else float("nan")
                hint = (f"\n  Your shard's gradient is {ratio:.3g}x the expected one in norm. " +
                        ("About N times: the reduce-scatter sums; divide by the world size for the mean."
                         if world > 1 and abs(ratio - world) < 0.3 else
                         "It must be the MEAN over ranks of every rank's gradient, reduce-scattered: this "
                         "rank's own gradient alone is not enough."))
                raise AssertionError(f"{e}{hint}") from None
            assert_close(st["shard"], st["want_shard"], atol=1e-12, rtol=1e-9, what="self.shard after the SGD step", on=on)


# ------------------------------------------------------------------------- performance (counts)
# FSDP's point: between steps each rank keeps 1/N of the model (and of its gradient). The count walks
# everything reachable from the FSDP object after three steps and adds up distinct tensor storages.

@pytest.mark.perf
@pytest.mark.parametrize("world", [2, 3, 4])
def test_bytes_kept_per_rank(kata, world):
    kata.module()
    ranks = distkit.launch(world, run_fsdp, str(kata.file()), timeout=60)
    s = math.ceil(P / world)
    gate = 2 * s * 8 + 1024
    kept = [r.value["kept"] for r in ranks]
    sent = [r.sent() // STEPS for r in ranks]
    kata.record(**{f"bytes_kept_max_N{world}": max(kept), f"kept_gate_N{world}": gate, "full_model_bytes": P * 8,
                   f"bytes_sent_per_step_max_N{world}": max(sent),
                   f"ring_bound_N{world}": distkit.ring_bound(P, 8, world)})
    worst = max(range(world), key=lambda i: kept[i])
    expect(max(kept) <= gate,
           f"rank {worst} of {world}: the FSDP object keeps {kept[worst]} bytes of tensors after three steps "
           f"(per rank: {kept}); its shard and the shard's gradient are 2 x {s} x 8 = {2 * s * 8} bytes, the gate "
           f"{gate}; the whole model is {P * 8} bytes. Free the module's own parameters after sharding them, and "
           "keep no reference to the gathered parameters or the full gradient: autograd holds them only until "
           "backward is done.")
