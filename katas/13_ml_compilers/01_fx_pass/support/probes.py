"""What the fx-pass tests do where the learner's code runs (kata.probe): an fx graph does not cross
between processes, so the modules are traced here, the learner's pass runs here, and the graph comes
back as a node list (op, target name, args as strings) and the module's outputs on the test's inputs.
The test loads this file in its own process too, for the modules and `nodes`, to trace the originals
it compares against."""

import torch
import torch.fx as fx
from torch import nn


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


class NothingToDo(nn.Module):
    def forward(self, x, y):
        return x * torch.sigmoid(y) + torch.sigmoid(x) * y + torch.tanh(x) * x


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


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("k", torch.arange(6.0).reshape(2, 3))

    def forward(self, x):
        c = torch.exp(self.k / 4)           # constant
        return (x + c) * (x - self.k).sum(1, keepdim=True) + c.max()


MODELS = {"Gates": Gates, "NothingToDo": NothingToDo, "Folding": Folding, "Mixed": Mixed}


def nodes(gm):
    """gm's graph as [(op, target's __name__ or str(target), [str(arg) for each arg])]."""
    return [(n.op, getattr(n.target, "__name__", str(n.target)), [str(a) for a in n.args]) for n in gm.graph.nodes]


def run_pass(mod, pass_name, model):
    """fx.symbolic_trace(MODELS[model]()) as gm, then mod.<pass_name>(gm).
    Returns (gm, the module handed to the pass, what the pass returned, its type name, whether it is an fx.GraphModule, None
    or the error .graph.lint() raised on it (when it is one))."""
    gm = fx.symbolic_trace(MODELS[model]())
    out = getattr(mod, pass_name)(gm)
    lint_error = None
    if isinstance(out, fx.GraphModule):
        try:
            out.graph.lint()
        except Exception as e:  # noqa: BLE001
            lint_error = str(e)
    return gm, out, type(out).__name__, isinstance(out, fx.GraphModule), lint_error


def graph(gm):
    """nodes(gm)."""
    return nodes(gm)


def run(gm, xs):
    """gm(*xs) under torch.no_grad()."""
    with torch.no_grad():
        return gm(*xs)


def double_w(module):
    """module.w.mul_(2) under torch.no_grad() (nothing, if the pass removed w: then nothing reads it)."""
    w = getattr(module, "w", None)
    if isinstance(w, torch.Tensor):
        with torch.no_grad():
            w.mul_(2)
