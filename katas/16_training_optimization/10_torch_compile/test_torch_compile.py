"""torch.compile: the model's values (eager and compiled, float64 oracle, padding poisoned with large
values), then counts from torch._dynamo's own counters: graph breaks, and graphs compiled over calls
with several batch sizes and lengths (a second graph is a recompile)."""
import pytest
import torch
import torch._dynamo  # noqa: F401  (imported once here, in the parent, not in every test's child)
from torch._dynamo.utils import counters
from torch.nn import functional as F

from kata.testing import assert_close

SHAPES = [(3, 10), (5, 13), (7, 17), (2, 9), (11, 23)]


def oracle(model, x, lengths):
    h = F.gelu(F.linear(x.double(), model.proj.weight.double(), model.proj.bias.double()))
    pooled = torch.stack([h[b, :int(n)].mean(0) for b, n in enumerate(lengths)])
    return F.linear(pooled, model.head.weight.double(), model.head.bias.double())


def batch(B, T, D, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, D, generator=g)
    lengths = torch.randint(1, T + 1, (B,), generator=g)
    lengths[0] = T
    lengths[-1] = 1
    pad = torch.arange(T)[None, :] >= lengths[:, None]
    x[pad] = 1e4  # padding holds garbage: if it is counted, the result is far off
    return x, lengths


def test_masked_mean(kata):
    mod = kata.module()
    x, lengths = batch(4, 6, 3, 0)
    got = mod.masked_mean(x, lengths)
    want = torch.stack([x[b, :int(n)].mean(0) for b, n in enumerate(lengths)])
    try:
        assert_close(got, want, atol=1e-5, rtol=1e-6, what="masked_mean", on=f"x (4, 6, 3), lengths {lengths.tolist()}, padding = 1e4")
    except AssertionError as e:
        raise AssertionError(f"{e}\n  Keep steps t < lengths[b] (mask = arange(T)[None, :] < lengths[:, None]); divide "
                             "each row's sum by its own length, not by T.") from None


@pytest.mark.parametrize("B,T", SHAPES[:3])
def test_model_eager(kata, B, T):
    mod = kata.module()
    model = mod.Pooler(8, 5, seed=1)
    x, lengths = batch(B, T, 8, B + T)
    assert_close(model(x, lengths), oracle(model, x, lengths), atol=2e-5, rtol=1e-5, what="Pooler output (eager)",
                 on=f"B={B}, T={T}, lengths {lengths.tolist()}")


def test_model_compiled_values(kata):
    mod = kata.module()
    torch._dynamo.reset()
    model = mod.Pooler(8, 5, seed=2)
    compiled = mod.compile_model(model)
    for B, T in SHAPES:
        x, lengths = batch(B, T, 8, 10 * B + T)
        assert_close(compiled(x, lengths), oracle(model, x, lengths), atol=2e-5, rtol=1e-5,
                     what="compiled Pooler output", on=f"B={B}, T={T}, lengths {lengths.tolist()}")


# ------------------------------------------------------------------------- performance (counts)
# Every graph break splits the model into pieces run one by one from Python (no fusion across the
# break); every recompile re-traces the model, seconds each on a real one. Counted with dynamo's own
# counters over five calls with different batch sizes and lengths.


def run_counted(mod):
    torch._dynamo.reset()
    counters.clear()
    model = mod.Pooler(8, 5, seed=3)
    compiled = mod.compile_model(model)
    for B, T in SHAPES:
        x, lengths = batch(B, T, 8, B * T)
        compiled(x, lengths)
    breaks = sum(counters["graph_break"].values())
    reasons = sorted({r.strip().splitlines()[0] for r in counters["graph_break"]})[:3]
    return breaks, reasons, counters["stats"]["unique_graphs"]


@pytest.mark.perf
def test_no_graph_breaks(kata):
    breaks, reasons, _ = run_counted(kata.module())
    kata.record(graph_breaks=breaks)
    assert breaks == 0, (
        f"{breaks} graph break(s) over five calls; reasons: {reasons}. A tensor turned into a Python number (.item(), "
        "int(t), .tolist()) or a Python loop over data ends the graph. Build the padding mask with tensor ops: "
        "arange(T)[None, :] < lengths[:, None].")


@pytest.mark.perf
def test_one_graph_for_all_shapes(kata):
    _, _, graphs = run_counted(kata.module())
    kata.record(graphs_compiled=graphs)
    assert graphs <= 1, (
        f"five calls with batch sizes and lengths {SHAPES} compiled {graphs} graphs: the shapes were specialised, and "
        "each new shape recompiled (or a graph break split the model). Compile with dynamic=True, or mark the "
        "batch and time dimensions dynamic (torch._dynamo.mark_dynamic) before the first call.")
