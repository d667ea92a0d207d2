"""DDP with gradient buckets: after backward and finish(), every rank's gradients equal the full batch's
(float64), for world sizes 1-4, two steps, and bucket caps from one parameter per bucket to one bucket
for all; then, counted, one all-reduce per bucket (not per parameter), each launched during backward as
soon as its bucket's last gradient is ready."""
import pytest
import torch
from torch import nn

from kata import distkit
from kata.testing import assert_close
from kata.toolkit import expect

CAP = 8192  # bytes: the MLP below then has 3 buckets (4, 2 and 2 parameters)
ROWS = 3    # rows per rank and step


def make_model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                         nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 8)).double()


def data(step, rank):
    g = torch.Generator().manual_seed(100 * step + rank)
    return torch.randn(ROWS, 16, generator=g, dtype=torch.float64), torch.randn(ROWS, 8, generator=g, dtype=torch.float64)


def expected_buckets(sizes, cap):
    """The bucket rule of the README: parameters in reverse order, a bucket closes at >= cap bytes."""
    buckets, cur, size = [], [], 0
    for name, nbytes in reversed(sizes):
        cur.append(name)
        size += nbytes
        if size >= cap:
            buckets.append(cur)
            cur, size = [], 0
    return buckets + ([cur] if cur else [])


def run_ddp(path, caps, steps=2):
    import torch.distributed as dist
    mod = distkit.load(path)
    n, rank = dist.get_world_size(), dist.get_rank()
    out = {}
    for cap in caps:
        model, ref = make_model(), make_model()
        for name, p in model.named_parameters():
            p.register_post_accumulate_grad_hook(lambda p, name=name: distkit.mark("grad " + name))
        ddp = mod.BucketedDDP(model, cap)
        per_step = []
        for step in range(steps):
            model.zero_grad(set_to_none=True)
            x, y = data(step, rank)
            distkit.mark(f"cap {cap} step {step}")
            nn.functional.mse_loss(ddp(x), y).backward()
            distkit.mark("backward done")
            ddp.finish()
            distkit.mark("finish done")
            got = {name: None if p.grad is None else p.grad.clone() for name, p in model.named_parameters()}
            ref.zero_grad()
            xs, ys = zip(*[data(step, r) for r in range(n)])
            nn.functional.mse_loss(ref(torch.cat(xs)), torch.cat(ys)).backward()
            per_step.append((got, {name: p.grad.clone() for name, p in ref.named_parameters()}))
        out[cap] = per_step
    sizes = [(name, p.numel() * p.element_size()) for name, p in make_model().named_parameters()]
    return out, sizes


def check_grads(ranks, world):
    for r in ranks:
        results, _ = r.value
        for cap, per_step in results.items():
            for step, (got, want) in enumerate(per_step):
                for name, w in want.items():
                    on = f"rank {r.rank} of {world}, step {step + 1}, bucket_cap_bytes {cap}"
                    expect(got[name] is not None, f"{name}.grad is None after finish() on {on}")
                    try:
                        assert_close(got[name], w, atol=1e-12, rtol=1e-9, what=f"{name}.grad after finish()", on=on)
                    except AssertionError as e:
                        ratio = (got[name].norm() / w.norm()).item()
                        hint = (f"\n  Your gradient is {ratio:.3g}x the expected one in norm" +
                                (f" (about the world size {world}: divide the sum by it, DDP averages)."
                                 if world > 1 and abs(ratio - world) < 0.5 else
                                 ". A bucket all-reduced before all its gradients were in sends stale or zero "
                                 "values; wait for every gradient of a bucket, then launch it."))
                        raise AssertionError(f"{e}{hint}") from None


@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_gradients_equal_full_batch(kata, world):
    kata.module()
    check_grads(distkit.launch(world, run_ddp, str(kata.file()), [CAP], timeout=60), world)


def test_bucket_caps(kata):
    # one bucket per parameter (cap 1 byte), the usual cap, and one bucket for everything
    kata.module()
    check_grads(distkit.launch(3, run_ddp, str(kata.file()), [1, CAP, 1 << 30], timeout=60), 3)


# ------------------------------------------------------------------------- performance (counts)
# DDP's point: few large all-reduces (latency per call), launched while backward still computes the
# remaining gradients (overlap). The event log of each rank holds the test's "grad <name>" marks (set by
# hooks registered before yours) and every communication call, in order.

def segments(events):
    """Split a rank's event log into steps: [(labels and calls between 'step' and 'finish done')]."""
    steps, cur = [], None
    for op, payload, _ in events:
        if op == "mark" and " step " in payload:
            cur = []
        elif op == "mark" and payload == "finish done":
            steps.append(cur)
            cur = None
        elif cur is not None:
            cur.append((op, payload))
    return steps


@pytest.mark.perf
def test_one_all_reduce_per_bucket(kata):
    kata.module()
    ranks = distkit.launch(2, run_ddp, str(kata.file()), [CAP], timeout=60)
    _, sizes = ranks[0].value
    buckets = expected_buckets(sizes, CAP)
    total = sum(b for _, b in sizes)
    for r in ranks:
        for step, seg in enumerate(segments(r.events)):
            calls = [p for op, p in seg if op == "all_reduce"]
            others = sorted({op for op, _ in seg if op not in ("mark", "all_reduce")})
            kata.record(all_reduce_calls_per_step=len(calls), buckets_expected=len(buckets), parameters=len(sizes))
            expect(not others, f"rank {r.rank}, step {step + 1}: called {others}; use one dist.all_reduce per bucket")
            expect(len(calls) == len(buckets),
                   f"rank {r.rank}, step {step + 1}: {len(calls)} all_reduce calls for {len(sizes)} parameters "
                   f"({total} bytes) with bucket_cap_bytes={CAP}; expected one per bucket: {len(buckets)} buckets "
                   f"{buckets}. One call per parameter pays the call latency {len(sizes)} times.")
            expect(sum(calls) == total, f"rank {r.rank}, step {step + 1}: all-reduced {sum(calls)} bytes in all, "
                                        f"the gradients hold {total}: each gradient once")


@pytest.mark.perf
def test_launched_as_buckets_fill(kata):
    kata.module()
    ranks = distkit.launch(2, run_ddp, str(kata.file()), [CAP], timeout=60)
    _, sizes = ranks[0].value
    bytes_of = dict(sizes)
    buckets = expected_buckets(sizes, CAP)
    for r in ranks:
        for step, seg in enumerate(segments(r.events)):
            grads = [p[len("grad "):] for op, p in seg if op == "mark" and p.startswith("grad ")]
            done = next(i for i, (op, p) in enumerate(seg) if op == "mark" and p == "backward done")
            during = [i for i, (op, _) in enumerate(seg) if op == "all_reduce" and i < done]
            kata.record(all_reduces_during_backward=len(during), buckets=len(buckets))
            expect(len(during) == len(buckets),
                   f"rank {r.rank}, step {step + 1}: {len(during)} of the {len(buckets)} bucket all-reduces were "
                   "launched during backward (before loss.backward() returned). Launch each from a gradient hook "
                   "(p.register_post_accumulate_grad_hook) when its bucket's last gradient arrives, with "
                   "async_op=True, and wait for them in finish(): that is the overlap DDP exists for.")
            # each bucket's call must come right when its last gradient is ready, not later, not earlier
            pos = {name: i for i, (op, p) in enumerate(seg) if op == "mark" and p.startswith("grad ")
                   for name in [p[len("grad "):]]}
            for b in buckets:
                last = max(pos[name] for name in b)
                order = sorted(pos.values())
                prev = max([i for i in order if i < last], default=-1)
                nxt = min([i for i in order if i > last], default=done)
                ok = any(op == "all_reduce" and p == sum(bytes_of[x] for x in b)
                         for op, p in seg[prev + 1:nxt])
                expect(ok, f"rank {r.rank}, step {step + 1}: no all_reduce of the bucket {b} "
                           f"({sum(bytes_of[x] for x in b)} bytes) was launched when its last gradient "
                           f"({grads[order.index(last)]}) became ready (event log: "
                           f"{[p if op == 'mark' else f'{op}({p} B)' for op, p in seg]})")
