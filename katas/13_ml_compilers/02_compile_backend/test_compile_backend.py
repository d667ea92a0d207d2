"""A recording torch.compile backend, and broken() rewritten without graph breaks. The break count
and the number of graphs come from dynamo's own counters and from a backend of the instructor's, so a
backend that under-reports cannot help. Each test resets dynamo and compiles a few tiny graphs with
no code generation (the backend runs the fx graph as it is).
torch.compile calls a backend in the process that compiles: the compiling happens in
support/probes.py, where the learner's code runs (kata.probe), and what it saw comes back as data."""
import pytest
import torch
import torch._dynamo  # noqa: F401  (imported once in the parent, not in every test's child)
from kata.testing import assert_close
from kata.toolkit import expect, randn


def inputs(seed, sign=1.0, B=5, K=6, N=7):
    """x, w with mean(x @ w) > 0 for sign = 1 and < 0 for sign = -1 (both branches of broken)."""
    x = randn((B, K), seed=seed) + 0.3
    w = sign * (randn((K, N), seed=seed + 1).abs() + 0.1)
    return x, w


def f(x):  # support/probes.py's f, compiled there; run eagerly here for the expected values
    y = torch.sin(x) * 2
    torch._dynamo.graph_break()     # one break: two graphs
    return torch.cos(y) + 1


def test_backend_records_graphs(kata):
    mod, probe = kata.module(), kata.probe("probes.py")
    x = randn((4, 3), seed=1)
    cf, be, got, seen = probe.record(mod, x)
    assert_close(got, f(x), atol=1e-6, what="the compiled function's output", on="f(x) = cos(sin(x) * 2) + 1 with "
                 "a graph break in the middle: your backend must return a callable that runs the graph it was given")
    expect(seen["is_list"] and seen["len"] == 2,
           f"backend.graphs is {seen['repr']}; expected a list of the 2 GraphModules dynamo captured (one before "
           "the graph break, one after)")
    expect(all(seen["graph_modules"]),
           f"backend.graphs holds {seen['types']}: store the GraphModule dynamo passes in")
    targets = seen["targets"]
    expect("sin" in targets[0] and "cos" in targets[1],
           f"the recorded graphs call {targets}: expected sin (and mul) in the first, cos (and add) in the second, "
           "in the order dynamo compiled them")
    cf(randn((4, 3), seed=2))
    n = probe.graph_count(be)
    expect(n == 2, f"a second call with the same shapes made the backend record {n} graphs "
                   "in all: dynamo reuses compiled graphs, so nothing new should be recorded (record in "
                   "__call__, once per call of the backend)")


def test_backends_are_independent(kata):
    mod = kata.module()
    na, nb = kata.probe("probes.py").two_backends(mod, randn((2, 2), seed=3))
    expect(na == 1 and nb == 0,
           f"after compiling one function with backend a, a.graphs has {na} and an unused backend b has "
           f"{nb}: expected 1 and 0. Is the list a class attribute (shared by all instances)? Create it "
           "in __init__ (self.graphs = []).")


@pytest.mark.parametrize("sign", [1.0, -1.0], ids=["mean_positive", "mean_negative"])
def test_fixed_values(kata, sign):
    mod = kata.module()
    for seed, shape in ((4, (5, 6, 7)), (5, (3, 8, 3)), (6, (1, 4, 9))):
        B, K, N = shape
        x, w = inputs(seed, sign, B, K, N)
        want = mod.broken(x, w)
        got = mod.fixed(x, w)
        expect(isinstance(got, torch.Tensor) and got.shape == want.shape,
               f"fixed(x, w) with x {tuple(x.shape)}, w {tuple(w.shape)} returned "
               f"{tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__}, expected {tuple(want.shape)}")
        assert_close(got, want, atol=1e-5, rtol=1e-5, what="fixed(x, w) (eager)",
                     on=f"x {tuple(x.shape)}, w {tuple(w.shape)}, mean(x @ w) {'> 0' if sign > 0 else '< 0'}: broken(x, w) "
                        "gave the expected values. Both branches of broken's `if` must survive the rewrite "
                        "(torch.where chooses between them without leaving the graph)")


# ------------------------------------------------------------------------- performance (counts)
# Each graph break ends the graph: dynamo compiles what came before, returns to Python for the
# offending line, and starts a new graph after it. Nothing fuses across a break, and every break is
# a trip through the interpreter. Counted exactly by dynamo (counters["graph_break"]) and by the
# test's own backend (graphs compiled), over two calls that take both branches.


@pytest.mark.perf
def test_no_graph_breaks(kata):
    mod, probe = kata.module(), kata.probe("probes.py")
    cf, rec = probe.compile_fixed(mod)  # torch.compile(fixed), with the instructor's recording backend
    for sign in (1.0, -1.0):
        x, w = inputs(7, sign)
        assert_close(cf(x, w), mod.broken(x, w), atol=1e-5, rtol=1e-5, what="compiled fixed(x, w)",
                     on=f"mean(x @ w) {'> 0' if sign > 0 else '< 0'}")
    breaks, reasons, graphs = probe.dynamo_counts(rec)
    kata.record(graph_breaks=breaks, graphs=graphs)
    expect(breaks == 0 and graphs == 1,
           f"torch.compile(fixed) over two calls (one per branch): {breaks} graph break(s), {graphs} graphs "
           f"compiled; expected 0 breaks and 1 graph. Reasons dynamo gave: {reasons}. .item(), int(t), float(t), "
           ".tolist() and `if tensor:` all leave the graph: keep values as tensors (t.max() instead of "
           "t.max().item(), torch.where instead of if, .sum(1, keepdim=True) instead of a list).")
