"""torch.fx passes, graded exactly: after each pass the graph must hold exactly the expected ops
(counted by kind) and the module must compute what the original did, on fresh inputs. An fx graph
does not cross between processes: support/probes.py traces the modules and runs the learner's pass
where the learner's code runs (kata.probe) and returns the graph as a node list (op, target name, args)
and the outputs; the originals are traced here, from a local copy of the same modules."""
import importlib.util
from collections import Counter
from pathlib import Path

import torch
import torch.fx as fx

from kata.testing import assert_close
from kata.toolkit import expect, randn

_spec = importlib.util.spec_from_file_location("fx_pass_modules", Path(__file__).parent / "support" / "probes.py")
MODULES = importlib.util.module_from_spec(_spec)  # the modules the passes run on, and nodes()
_spec.loader.exec_module(MODULES)


def op_name(n) -> str:
    """n: a node as probes.nodes() gives it, (op, target's __name__ or str(target), args)."""
    op, target, _ = n
    if op == "call_function":
        return target.removeprefix("_")  # operator.mul -> "mul"
    if op == "call_method":
        return f".{target}()"
    if op == "call_module":
        return f"module {target}"
    return op  # placeholder, get_attr, output


def ops(nodes) -> Counter:
    c = Counter(op_name(n) for n in nodes)
    # torch.mul / Tensor.mul / operator.mul are one op; likewise sigmoid.
    for a, b in ((".mul()", "mul"), (".sigmoid()", "sigmoid"), (".add()", "add")):
        if a in c:
            c[b] += c.pop(a)
    return c


def show(c: Counter) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(c.items()))


class Pass:
    """The learner's pass `name`, run in the probe on the traced module `model`: `passed` (the traced
    module handed to the pass) and `gm` (what the pass returned) are the probe's objects."""

    def __init__(self, kata, mod, name, model, what):
        self.probe, self.name = kata.probe("probes.py"), name
        self.passed, self.gm, kind, is_gm, lint_error = self.probe.run_pass(mod, name, model)
        expect(is_gm, f"{name} returned {kind}, expected the GraphModule")
        if lint_error is not None:
            raise AssertionError(f"after {name} on {what} the graph is malformed: {lint_error}")
        self.reference = fx.symbolic_trace(MODULES.MODELS[model]())  # the original, traced here

    def nodes(self):
        return self.probe.graph(self.gm)

    def __call__(self, *xs):
        return self.probe.run(self.gm, xs)


def check_graph(name, got: Counter, want: Counter, what, hint):
    if got != want:
        diff = [f"    {k}: {got.get(k, 0)} (expected {want.get(k, 0)})" for k in sorted(set(got) | set(want))
                if got.get(k, 0) != want.get(k, 0)]
        raise AssertionError(f"after {name} on {what}, the graph holds the wrong ops:\n" + "\n".join(diff)
                             + f"\n  expected exactly: {show(want)}\n  got: {show(got)}\n  {hint}")


def check_outputs(p: Pass, shapes, what, seeds=(0, 1, 2)):
    for s in seeds:
        xs = [randn(sh, seed=100 * s + i) for i, sh in enumerate(shapes)]
        with torch.no_grad():
            want = p.reference(*xs)
        got = p(*xs)
        assert_close(got, want, atol=1e-6, rtol=1e-6, what="the rewritten module's output",
                     on=f"{what}, random inputs (seed {s}); the original module computed the expected values")


# ---------------------------------------------------------------------------------------- fuse_silu


def test_fuse_silu(kata):
    mod = kata.module()
    p = Pass(kata, mod, "fuse_silu", "Gates", "the Gates module")
    want = Counter({"placeholder": 1, "module lin": 1, "silu": 4, "sigmoid": 2, "mul": 1, "add": 5, "output": 1})
    check_outputs(p, [(5, 8)], "the Gates module")
    check_graph("fuse_silu", ops(p.nodes()), want, "Gates (h * sigmoid(h), sigmoid(a) * a, torch.mul(x, x.sigmoid()), "
                "a * sigmoid(b), and b * s where s = sigmoid(b) is used again)",
                "Four muls are x * sigmoid(x) and become F.silu; a * sigmoid(b) is not (b is not a) and stays; a "
                "sigmoid whose only user was a rewritten mul is dead and must go (graph.eliminate_dead_code()).")


def test_fuse_silu_leaves_other_products(kata):
    mod = kata.module()
    p = Pass(kata, mod, "fuse_silu", "NothingToDo", "x * sigmoid(y) + sigmoid(x) * y + tanh(x) * x")
    check_outputs(p, [(4, 6), (4, 6)], "x * sigmoid(y) + sigmoid(x) * y + tanh(x) * x")
    check_graph("fuse_silu", ops(p.nodes()), ops(MODULES.nodes(p.reference)), "x * sigmoid(y) + sigmoid(x) * y + tanh(x) * x",
                "None of these products is x * sigmoid(x) of the same x: the graph must come back unchanged.")


# ----------------------------------------------------------------------------------- fold_constants


def test_fold_constants(kata):
    mod = kata.module()
    p = Pass(kata, mod, "fold_constants", "Folding", "the Folding module")
    check_outputs(p, [(3, 8)], "the Folding module")
    want = Counter({"placeholder": 1, "get_attr": 3, "matmul": 1, "add": 1, "relu": 1, "mul": 1, "output": 1})
    check_graph("fold_constants", ops(p.nodes()), want,
                "Folding: w = (self.w * self.scale + 1).t(); y = x @ w; relu(y + self.b.sum() * 2) * self.scale",
                "Two constant subexpressions, (self.w * self.scale + 1).t() and self.b.sum() * 2, become one get_attr "
                "each; self.scale stays a get_attr (the last mul reads it). Tensor methods (.t(), .sum()) on "
                "constants are constant too; the nodes they replaced must be removed (eliminate_dead_code).")
    x = randn((2, 8), seed=9)
    before = p(x)
    p.probe.double_w(p.passed)   # w.mul_(2) in the module the pass was given: a folded module no longer reads self.w
    expect(torch.equal(p(x), before), "the folded module still depends on the original parameters' values: store "
                                       "each folded value in a new buffer (gm.register_buffer) and read it with "
                                       "a get_attr node")


def test_fold_does_not_touch_inputs(kata):
    mod = kata.module()
    p = Pass(kata, mod, "fold_constants", "Mixed", "the Mixed module")
    check_outputs(p, [(2, 3)], "the Mixed module (x + c) * (x - k).sum(1) + c.max(), c = exp(k / 4)")
    want = Counter({"placeholder": 1, "get_attr": 3, "add": 2, "sub": 1, ".sum()": 1, "mul": 1, "output": 1})
    check_graph("fold_constants", ops(p.nodes()), want, "Mixed: c = exp(k / 4); (x + c) * (x - k).sum(1) + c.max()",
                "exp(k / 4) and c.max() fold (c is used twice: once as itself, once through max); k stays for "
                "x - k; everything that reads x must stay.")
