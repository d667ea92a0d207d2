"""torch.compile: the model's values (eager and compiled, float64 oracle, padding poisoned with large
values), then counts from torch._dynamo's own counters: graph breaks, and graphs compiled over calls
with several batch sizes and lengths (a second graph is a recompile)."""
import pytest
import torch
import torch._dynamo  # noqa: F401  (imported once here, in the parent, not in every test's child)
from torch.nn import functional as F

from kata.testing import assert_close

SHAPES = [(3, 10), (5, 13), (7, 17), (2, 9), (11, 23)]


def oracle(w, x, lengths):
    """w: the model's weights, {proj_weight, proj_bias, head_weight, head_bias} (from the probe)."""
    h = F.gelu(F.linear(x.double(), w["proj_weight"].double(), w["proj_bias"].double()))
    pooled = torch.stack([h[b, :int(n)].mean(0) for b, n in enumerate(lengths)])
    return F.linear(pooled, w["head_weight"].double(), w["head_bias"].double())


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
    x, lengths = batch(B, T, 8, B + T)
    # mod.Pooler(8, 5, seed=1)(x, lengths), in the probe
    w, (got,) = kata.probe("probes.py").outputs(mod, 8, 5, 1, [(x, lengths)])
    assert_close(got, oracle(w, x, lengths), atol=2e-5, rtol=1e-5, what="Pooler output (eager)",
                 on=f"B={B}, T={T}, lengths {lengths.tolist()}")


def test_model_compiled_values(kata):
    mod = kata.module()
    batches = [batch(B, T, 8, 10 * B + T) for B, T in SHAPES]
    # compile_model(mod.Pooler(8, 5, seed=2)) called on each batch, in the probe
    w, outs = kata.probe("probes.py").outputs(mod, 8, 5, 2, batches, compiled=True)
    for (B, T), (x, lengths), got in zip(SHAPES, batches, outs):
        assert_close(got, oracle(w, x, lengths), atol=2e-5, rtol=1e-5,
                     what="compiled Pooler output", on=f"B={B}, T={T}, lengths {lengths.tolist()}")


# ------------------------------------------------------------------------- performance (counts)
# Every graph break splits the model into pieces run one by one from Python (no fusion across the
# break); every recompile re-traces the model, seconds each on a real one. Counted with dynamo's own
# counters over five calls with different batch sizes and lengths.


def run_counted(kata, mod):
    # compile_model(mod.Pooler(8, 5, seed=3)) over the five shapes, counted by dynamo where it runs (the
    # probe): (graph breaks, up to 3 reasons, unique graphs)
    batches = [batch(B, T, 8, B * T) for B, T in SHAPES]
    return kata.probe("probes.py").counted(mod, 8, 5, 3, batches)


@pytest.mark.perf
def test_no_graph_breaks(kata):
    breaks, reasons, _ = run_counted(kata, kata.module())
    kata.record(graph_breaks=breaks)
    assert breaks == 0, (
        f"{breaks} graph break(s) over five calls; reasons: {reasons}. A tensor turned into a Python number (.item(), "
        "int(t), .tolist()) or a Python loop over data ends the graph. Build the padding mask with tensor ops: "
        "arange(T)[None, :] < lengths[:, None].")


@pytest.mark.perf
def test_one_graph_for_all_shapes(kata):
    _, _, graphs = run_counted(kata, kata.module())
    kata.record(graphs_compiled=graphs)
    assert graphs <= 1, (
        f"five calls with batch sizes and lengths {SHAPES} compiled {graphs} graphs: the shapes were specialised, and "
        "each new shape recompiled (or a graph break split the model). Compile with dynamic=True, or mark the "
        "batch and time dimensions dynamic (torch._dynamo.mark_dynamic) before the first call.")
