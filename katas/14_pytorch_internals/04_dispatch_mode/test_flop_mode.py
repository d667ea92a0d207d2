"""A FLOP-counting TorchDispatchMode, checked op by op against torch.utils.flop_counter.FlopCounterMode
on matmuls, linear layers, batched matmuls, grouped and strided convolutions and a training step."""
import importlib.util
from pathlib import Path

import pytest
import torch
import torch._dynamo  # noqa: F401  (FlopCounterMode imports it on entry: pay that once, in the parent)
import torch.fx.experimental.symbolic_shapes  # noqa: F401  (the first backward imports it)
from hypothesis import given, settings, strategies as st
from torch.utils.flop_counter import FlopCounterMode

from kata.toolkit import expect, randn

FORMULAS = ("mm (m, k) @ (k, n): 2*m*k*n; addmm(bias, a, b): the same (the bias add is not counted); "
            "bmm (b, m, k) @ (b, k, n): 2*b*m*k*n, and baddbmm the same; convolution: 2 * output elements * "
            "weight[0].numel() (in_channels / groups * kernel elements)")

# The programs counted are support/probes.py's `workload`s. A dispatch mode sees only the torch calls
# made in the process where it is entered, so the learner's mode counts them in the probe (where the
# learner's code runs); torch's FlopCounterMode counts the same program here, from this local copy.
_spec = importlib.util.spec_from_file_location("flop_mode_workloads", Path(__file__).parent / "support" / "probes.py")
WORKLOADS = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(WORKLOADS)


def torch_counts(name, tensors, kw=None, grad=True):
    fn = WORKLOADS.workload(name, tensors, kw)
    with torch.set_grad_enabled(grad), FlopCounterMode(display=False) as fc:
        fn()
    return {k.__name__: int(v) for k, v in fc.get_flop_counts()["Global"].items() if v}


def learner_counts(kata, mod, name, tensors, kw=None, grad=True):
    """(the learner's mode, its per-op counts, the program's result) for the named program run inside it."""
    return kata.probe("probes.py").count(mod, name, tensors, kw, grad)


def check(kata, mod, on, name, tensors, kw=None, grad=True):
    want = torch_counts(name, tensors, kw, grad)
    mode, got, _ = learner_counts(kata, mod, name, tensors, kw, grad)
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
    check(kata, mod, f"a ({m}, {k}) @ b ({k}, {n})", "matmul", (a, b))


def test_linear(kata):
    mod = kata.module()
    lin = torch.nn.Linear(12, 7)
    w, bias = lin.weight.detach(), lin.bias.detach()
    x2, x3 = randn((5, 12), seed=1), randn((3, 4, 12), seed=2)
    check(kata, mod, "nn.Linear(12, 7) on a (5, 12) input (addmm)", "linear", (x2, w, bias), grad=False)
    check(kata, mod, "nn.Linear(12, 7) on a (3, 4, 12) input", "linear", (x3, w, bias), grad=False)
    check(kata, mod, "F.linear without bias", "F.linear", (x2, w), grad=False)


@pytest.mark.parametrize("b,m,k,n", [(1, 3, 4, 5), (6, 7, 3, 2), (4, 1, 9, 8)])
def test_batched(kata, b, m, k, n):
    mod = kata.module()
    a, c, bias = randn((b, m, k), seed=3), randn((b, k, n), seed=4), randn((b, m, n), seed=5)
    check(kata, mod, f"torch.bmm of ({b}, {m}, {k}) and ({b}, {k}, {n})", "bmm", (a, c))
    check(kata, mod, f"torch.baddbmm with ({b}, {m}, {k}) and ({b}, {k}, {n})", "baddbmm", (bias, a, c))
    q, kk = randn((2, b, m, k), seed=6), randn((2, b, n, k), seed=7)
    check(kata, mod, f"attention scores q ({2}, {b}, {m}, {k}) @ k^T", "scores", (q, kk))


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
    conv = "conv2d" if len(xs) == 4 else "conv1d"
    check(kata, mod, f"{name}: input {xs}, weight {ws}, {kw or 'defaults'}", conv, (x, w), kw, grad=False)


def test_training_step(kata):
    # Forward and backward of an MLP: backward's matmuls (grad_input = g @ W, grad_W = g^T @ x) count too.
    # The MLP (support/probes.py's mlp(): seed 0, then Linear(10, 32), GELU, Linear(32, 32), ReLU,
    # Linear(32, 3)) is built where it runs: in the probe for the learner's mode, here for torch's.
    mod = kata.module()
    WORKLOADS.mlp()  # seeds the global generator and draws the weights, as before y's draw
    x, y = randn((16, 10), seed=10), torch.randint(0, 3, (16,))
    check(kata, mod, "forward + backward of a 3-layer MLP (batch 16)", "mlp_step", (x, y))


def test_results_pass_through(kata):
    # The mode observes; the program must compute exactly what it computes without it.
    mod = kata.module()
    a, b = randn((6, 5), seed=11), randn((5, 4), seed=12)
    want = torch.relu(a @ b) + 1
    _, got_counts, got = learner_counts(kata, mod, "relu_mm_add", (a, b))
    expect(isinstance(got, torch.Tensor) and torch.equal(got, want),
           "inside your mode, relu(a @ b) + 1 came out different (or not a tensor): __torch_dispatch__ must return "
           "func(*args, **kwargs)'s result unchanged")
    expect(set(got_counts) <= {"mm"}, f"counted ops {sorted(got_counts)} for relu(a @ b) + 1: only the five FLOP-"
                                      "counted ops belong in .flops (relu and add are not counted, as in torch's)")
