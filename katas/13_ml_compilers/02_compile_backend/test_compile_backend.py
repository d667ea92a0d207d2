"""A recording torch.compile backend, and broken() rewritten without graph breaks. The break count
and the number of graphs come from dynamo's own counters and from a backend the test owns, so a
backend that under-reports cannot help. Each test resets dynamo and compiles a few tiny graphs with
no code generation (the backend runs the fx graph as it is)."""
import pytest
import torch
import torch._dynamo  # noqa: F401  (imported once in the parent, not in every test's child)
from torch._dynamo.utils import counters

from kata.testing import assert_close
from kata.toolkit import expect, randn


def inputs(seed, sign=1.0, B=5, K=6, N=7):
    """x, w with mean(x @ w) > 0 for sign = 1 and < 0 for sign = -1 (both branches of broken)."""
    x = randn((B, K), seed=seed) + 0.3
    w = sign * (randn((K, N), seed=seed + 1).abs() + 0.1)
    return x, w


class Recorder:
    def __init__(self):
        self.graphs = []

    def __call__(self, gm, example_inputs):
        self.graphs.append(gm)
        return gm.forward


def fresh():
    torch._dynamo.reset()
    counters.clear()


def test_backend_records_graphs(kata):
    mod = kata.module()
    fresh()

    def f(x):
        y = torch.sin(x) * 2
        torch._dynamo.graph_break()     # one break: two graphs
        return torch.cos(y) + 1

    be = mod.RecordingBackend()
    cf = torch.compile(f, backend=be)
    x = randn((4, 3), seed=1)
    got = cf(x)
    assert_close(got, f(x), atol=1e-6, what="the compiled function's output", on="f(x) = cos(sin(x) * 2) + 1 with "
                 "a graph break in the middle: your backend must return a callable that runs the graph it was given")
    graphs = getattr(be, "graphs", None)
    expect(isinstance(graphs, list) and len(graphs) == 2,
           f"backend.graphs is {graphs!r:.200}; expected a list of the 2 GraphModules dynamo captured (one before "
           "the graph break, one after)")
    expect(all(isinstance(g, torch.fx.GraphModule) for g in graphs),
           f"backend.graphs holds {[type(g).__name__ for g in graphs]}: store the GraphModule dynamo passes in")
    targets = [{getattr(n.target, "__name__", str(n.target)) for n in g.graph.nodes if n.op == "call_function"}
               for g in graphs]
    expect("sin" in targets[0] and "cos" in targets[1],
           f"the recorded graphs call {targets}: expected sin (and mul) in the first, cos (and add) in the second, "
           "in the order dynamo compiled them")
    cf(randn((4, 3), seed=2))
    expect(len(be.graphs) == 2, f"a second call with the same shapes made the backend record {len(be.graphs)} graphs "
                                "in all: dynamo reuses compiled graphs, so nothing new should be recorded (record in "
                                "__call__, once per call of the backend)")


def test_backends_are_independent(kata):
    mod = kata.module()
    fresh()
    a, b = mod.RecordingBackend(), mod.RecordingBackend()
    torch.compile(lambda x: x * 3, backend=a)(randn((2, 2), seed=3))
    expect(len(a.graphs) == 1 and len(b.graphs) == 0,
           f"after compiling one function with backend a, a.graphs has {len(a.graphs)} and an unused backend b has "
           f"{len(b.graphs)}: expected 1 and 0. Is the list a class attribute (shared by all instances)? Create it "
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
    mod = kata.module()
    fresh()
    rec = Recorder()
    cf = torch.compile(mod.fixed, backend=rec)
    for sign in (1.0, -1.0):
        x, w = inputs(7, sign)
        assert_close(cf(x, w), mod.broken(x, w), atol=1e-5, rtol=1e-5, what="compiled fixed(x, w)",
                     on=f"mean(x @ w) {'> 0' if sign > 0 else '< 0'}")
    breaks = sum(counters["graph_break"].values())
    reasons = sorted({r.strip().splitlines()[0][:120] for r in counters["graph_break"]})[:3]
    kata.record(graph_breaks=breaks, graphs=len(rec.graphs))
    expect(breaks == 0 and len(rec.graphs) == 1,
           f"torch.compile(fixed) over two calls (one per branch): {breaks} graph break(s), {len(rec.graphs)} graphs "
           f"compiled; expected 0 breaks and 1 graph. Reasons dynamo gave: {reasons}. .item(), int(t), float(t), "
           ".tolist() and `if tensor:` all leave the graph: keep values as tensors (t.max() instead of "
           "t.max().item(), torch.where instead of if, .sum(1, keepdim=True) instead of a list).")
