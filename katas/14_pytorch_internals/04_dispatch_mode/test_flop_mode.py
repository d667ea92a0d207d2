"""A FLOP-counting TorchDispatchMode, checked op by op against torch.utils.flop_counter.FlopCounterMode
on matmuls, linear layers, batched matmuls, grouped and strided convolutions and a training step."""
import pytest
import torch
import torch._dynamo  # noqa: F401  (FlopCounterMode imports it on entry: pay that once, in the parent)
import torch.fx.experimental.symbolic_shapes  # noqa: F401  (the first backward imports it)
from hypothesis import given, settings, strategies as st
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from kata.toolkit import expect, randn

FORMULAS = ("mm (m, k) @ (k, n): 2*m*k*n; addmm(bias, a, b): the same (the bias add is not counted); "
            "bmm (b, m, k) @ (b, k, n): 2*b*m*k*n, and baddbmm the same; convolution: 2 * output elements * "
            "weight[0].numel() (in_channels / groups * kernel elements)")


def torch_counts(fn):
    with FlopCounterMode(display=False) as fc:
        fn()
    return {k.__name__: int(v) for k, v in fc.get_flop_counts()["Global"].items() if v}


def learner_counts(mod, fn):
    mode = mod.FlopCounter()
    with mode:
        out = fn()
    got = {k: int(v) for k, v in dict(mode.flops).items() if v}
    return mode, got, out


def check(mod, fn, on):
    want = torch_counts(fn)
    mode, got, _ = learner_counts(mod, fn)
    if got != want:
        lines = []
        for op in sorted(set(got) | set(want)):
            g, w = got.get(op, 0), want.get(op, 0)
            note = "" if g == w else (f"  <- {g / w:.3g}x torch's" if w and g else "  <- wrong")
            lines.append(f"    {op}: yours {g:,}, torch's {w:,}{note}")
        raise AssertionError(f"FLOPs per op on {on} differ from torch.utils.flop_counter.FlopCounterMode:\n"
                             + "\n".join(lines) + f"\n  Formulas: {FORMULAS}. Op names are func.overloadpacket's "
                             "(\"mm\", not \"aten.mm\" or \"mm.default\"); count only these five ops.")
    total = mode.total()
    expect(total == sum(want.values()), f"total() on {on} returned {total!r}, expected {sum(want.values()):,} "
                                        "(the sum of the per-op counts)")


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 17), k=st.integers(1, 17), n=st.integers(1, 17))
def test_mm(kata, m, k, n):
    mod = kata.module()
    a, b = randn((m, k), seed=m), randn((k, n), seed=n)
    check(mod, lambda: a @ b, f"a ({m}, {k}) @ b ({k}, {n})")


def test_linear(kata):
    mod = kata.module()
    lin = torch.nn.Linear(12, 7)
    x2, x3 = randn((5, 12), seed=1), randn((3, 4, 12), seed=2)
    with torch.no_grad():
        check(mod, lambda: lin(x2), "nn.Linear(12, 7) on a (5, 12) input (addmm)")
        check(mod, lambda: lin(x3), "nn.Linear(12, 7) on a (3, 4, 12) input")
        check(mod, lambda: F.linear(x2, lin.weight), "F.linear without bias")


@pytest.mark.parametrize("b,m,k,n", [(1, 3, 4, 5), (6, 7, 3, 2), (4, 1, 9, 8)])
def test_batched(kata, b, m, k, n):
    mod = kata.module()
    a, c, bias = randn((b, m, k), seed=3), randn((b, k, n), seed=4), randn((b, m, n), seed=5)
    check(mod, lambda: torch.bmm(a, c), f"torch.bmm of ({b}, {m}, {k}) and ({b}, {k}, {n})")
    check(mod, lambda: torch.baddbmm(bias, a, c), f"torch.baddbmm with ({b}, {m}, {k}) and ({b}, {k}, {n})")
    q, kk = randn((2, b, m, k), seed=6), randn((2, b, n, k), seed=7)
    check(mod, lambda: q @ kk.transpose(-1, -2), f"attention scores q ({2}, {b}, {m}, {k}) @ k^T")


CONVS = [
    ("conv2d 3->8, 3x3", (2, 3, 9, 11), (8, 3, 3, 3), dict()),
    ("conv2d stride 2, padding 1", (1, 4, 10, 10), (6, 4, 3, 3), dict(stride=2, padding=1)),
    ("conv2d groups=2, dilation 2", (2, 6, 12, 9), (4, 3, 3, 2), dict(groups=2, dilation=2)),
    ("depthwise conv2d (groups=8)", (1, 8, 7, 7), (8, 1, 3, 3), dict(groups=8, padding=1)),
    ("conv1d groups=3", (3, 6, 20), (9, 2, 5), dict(groups=3, stride=3)),
]


@pytest.mark.parametrize("name,xs,ws,kw", CONVS, ids=[c[0] for c in CONVS])
def test_convolution(kata, name, xs, ws, kw):
    mod = kata.module()
    x, w = randn(xs, seed=8), randn(ws, seed=9)
    conv = F.conv2d if len(xs) == 4 else F.conv1d
    with torch.no_grad():
        check(mod, lambda: conv(x, w, **kw), f"{name}: input {xs}, weight {ws}, {kw or 'defaults'}")


def test_training_step(kata):
    # Forward and backward of an MLP: backward's matmuls (grad_input = g @ W, grad_W = g^T @ x) count too.
    mod = kata.module()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.GELU(), torch.nn.Linear(32, 32), torch.nn.ReLU(),
                                torch.nn.Linear(32, 3))
    x, y = randn((16, 10), seed=10), torch.randint(0, 3, (16,))

    def step():
        model.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss
    check(mod, step, "forward + backward of a 3-layer MLP (batch 16)")


def test_results_pass_through(kata):
    # The mode observes; the program must compute exactly what it computes without it.
    mod = kata.module()
    a, b = randn((6, 5), seed=11), randn((5, 4), seed=12)
    want = torch.relu(a @ b) + 1
    _, got_counts, got = learner_counts(mod, lambda: torch.relu(a @ b) + 1)
    expect(isinstance(got, torch.Tensor) and torch.equal(got, want),
           "inside your mode, relu(a @ b) + 1 came out different (or not a tensor): __torch_dispatch__ must return "
           "func(*args, **kwargs)'s result unchanged")
    expect(set(got_counts) <= {"mm"}, f"counted ops {sorted(got_counts)} for relu(a @ b) + 1: only the five FLOP-"
                                      "counted ops belong in .flops (relu and add are not counted, as in torch's)")
