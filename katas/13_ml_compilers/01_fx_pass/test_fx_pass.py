"""torch.fx passes, graded exactly: after each pass the graph must hold exactly the expected ops
(counted by kind) and the module must compute what the original did, on fresh inputs."""
import copy
from collections import Counter

import pytest
import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from kata.testing import assert_close
from kata.toolkit import expect, randn


def op_name(n: fx.Node) -> str:
    if n.op == "call_function":
        return getattr(n.target, "__name__", str(n.target)).removeprefix("_")  # operator.mul -> "mul"
    if n.op == "call_method":
        return f".{n.target}()"
    if n.op == "call_module":
        return f"module {n.target}"
    return n.op  # placeholder, get_attr, output


def ops(gm) -> Counter:
    c = Counter(op_name(n) for n in gm.graph.nodes)
    # torch.mul / Tensor.mul / operator.mul are one op; likewise sigmoid.
    for a, b in ((".mul()", "mul"), (".sigmoid()", "sigmoid"), (".add()", "add")):
        if a in c:
            c[b] += c.pop(a)
    return c


def show(c: Counter) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(c.items()))


def run_pass(fn, model, what):
    gm = fx.symbolic_trace(model)
    original = copy.deepcopy(gm)
    out = fn(gm)
    expect(isinstance(out, fx.GraphModule), f"{fn.__name__} returned {type(out).__name__}, expected the GraphModule")
    try:
        out.graph.lint()
    except Exception as e:  # noqa: BLE001
        raise AssertionError(f"after {fn.__name__} on {what} the graph is malformed: {e}") from None
    return original, out


def check_graph(name, got: Counter, want: Counter, what, hint):
    if got != want:
        diff = [f"    {k}: {got.get(k, 0)} (expected {want.get(k, 0)})" for k in sorted(set(got) | set(want))
                if got.get(k, 0) != want.get(k, 0)]
        raise AssertionError(f"after {name} on {what}, the graph holds the wrong ops:\n" + "\n".join(diff)
                             + f"\n  expected exactly: {show(want)}\n  got: {show(got)}\n  {hint}")


def check_outputs(original, gm, shapes, what, seeds=(0, 1, 2)):
    for s in seeds:
        xs = [randn(sh, seed=100 * s + i) for i, sh in enumerate(shapes)]
        with torch.no_grad():
            want, got = original(*xs), gm(*xs)
        assert_close(got, want, atol=1e-6, rtol=1e-6, what="the rewritten module's output",
                     on=f"{what}, random inputs (seed {s}); the original module computed the expected values")


# ---------------------------------------------------------------------------------------- fuse_silu


class Gates(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(8, 8)

    def forward(self, x):
        h = self.lin(x)
        a = h * torch.sigmoid(h)          # silu(h)
        b = torch.sigmoid(a) * a          # silu(a): operands swapped
        c = torch.mul(x, x.sigmoid())     # silu(x): torch.mul and the Tensor method
        gate = a * torch.sigmoid(b)       # a * sigmoid(b): NOT a silu
        s = torch.sigmoid(b)
        d = b * s                         # silu(b), but s is also used below: that sigmoid stays
        return a + b + c + gate + d + s


def test_fuse_silu(kata):
    mod = kata.module()
    original, gm = run_pass(mod.fuse_silu, Gates(), "the Gates module")
    want = Counter({"placeholder": 1, "module lin": 1, "silu": 4, "sigmoid": 2, "mul": 1, "add": 5, "output": 1})
    check_outputs(original, gm, [(5, 8)], "the Gates module")
    check_graph("fuse_silu", ops(gm), want, "Gates (h * sigmoid(h), sigmoid(a) * a, torch.mul(x, x.sigmoid()), "
                "a * sigmoid(b), and b * s where s = sigmoid(b) is used again)",
                "Four muls are x * sigmoid(x) and become F.silu; a * sigmoid(b) is not (b is not a) and stays; a "
                "sigmoid whose only user was a rewritten mul is dead and must go (graph.eliminate_dead_code()).")


class NothingToDo(nn.Module):
    def forward(self, x, y):
        return x * torch.sigmoid(y) + torch.sigmoid(x) * y + torch.tanh(x) * x


def test_fuse_silu_leaves_other_products(kata):
    mod = kata.module()
    original, gm = run_pass(mod.fuse_silu, NothingToDo(), "x * sigmoid(y) + sigmoid(x) * y + tanh(x) * x")
    check_outputs(original, gm, [(4, 6), (4, 6)], "x * sigmoid(y) + sigmoid(x) * y + tanh(x) * x")
    check_graph("fuse_silu", ops(gm), ops(original), "x * sigmoid(y) + sigmoid(x) * y + tanh(x) * x",
                "None of these products is x * sigmoid(x) of the same x: the graph must come back unchanged.")


# ----------------------------------------------------------------------------------- fold_constants


class Folding(nn.Module):
    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.w = nn.Parameter(torch.randn(4, 8, generator=g))
        self.b = nn.Parameter(torch.randn(4, generator=g))
        self.register_buffer("scale", torch.tensor(0.5))

    def forward(self, x):
        w = (self.w * self.scale + 1).t()          # a chain of three ops on constants, one a method
        y = x @ w
        return torch.relu(y + self.b.sum() * 2) * self.scale   # b.sum() * 2 is constant; scale is used as is


def test_fold_constants(kata):
    mod = kata.module()
    original, gm = run_pass(mod.fold_constants, Folding(), "the Folding module")
    check_outputs(original, gm, [(3, 8)], "the Folding module")
    want = Counter({"placeholder": 1, "get_attr": 3, "matmul": 1, "add": 1, "relu": 1, "mul": 1, "output": 1})
    check_graph("fold_constants", ops(gm), want,
                "Folding: w = (self.w * self.scale + 1).t(); y = x @ w; relu(y + self.b.sum() * 2) * self.scale",
                "Two constant subexpressions, (self.w * self.scale + 1).t() and self.b.sum() * 2, become one get_attr "
                "each; self.scale stays a get_attr (the last mul reads it). Tensor methods (.t(), .sum()) on "
                "constants are constant too; the nodes they replaced must be removed (eliminate_dead_code).")
    x = randn((2, 8), seed=9)
    with torch.no_grad():
        before = gm(x)
        original.w.mul_(2)   # folding computed values once: the folded module no longer reads self.w
    expect(torch.equal(gm(x), before), "the folded module still depends on the original parameters' values: store "
                                       "each folded value in a new buffer (gm.register_buffer) and read it with "
                                       "a get_attr node")


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("k", torch.arange(6.0).reshape(2, 3))

    def forward(self, x):
        c = torch.exp(self.k / 4)           # constant
        return (x + c) * (x - self.k).sum(1, keepdim=True) + c.max()


def test_fold_does_not_touch_inputs(kata):
    mod = kata.module()
    original, gm = run_pass(mod.fold_constants, Mixed(), "the Mixed module")
    check_outputs(original, gm, [(2, 3)], "the Mixed module (x + c) * (x - k).sum(1) + c.max(), c = exp(k / 4)")
    want = Counter({"placeholder": 1, "get_attr": 3, "add": 2, "sub": 1, ".sum()": 1, "mul": 1, "output": 1})
    check_graph("fold_constants", ops(gm), want, "Mixed: c = exp(k / 4); (x + c) * (x - k).sum(1) + c.max()",
                "exp(k / 4) and c.max() fold (c is used twice: once as itself, once through max); k stays for "
                "x - k; everything that reads x must stay.")
