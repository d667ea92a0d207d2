"""softclip as a torch.library custom op: values, that it is one opaque op (katas::softclip) to the
dispatcher, torch.library.opcheck (schema, fake kernel, autograd registration, AOT tracing),
gradients, and torch.compile with fullgraph=True: no graph break, the right values and gradients,
with dynamic shapes. The op is registered in the torch of the process that imports softclip.py, so
support/probes.py calls, checks and compiles it there (kata.probe); the checks stay here."""
import pytest
import torch
import torch._dynamo  # noqa: F401  (imported once in the parent, not in every test's child)
import torch._functorch.aot_autograd  # noqa: F401
import torch.fx.experimental.symbolic_shapes  # noqa: F401

from kata.testing import assert_close
from kata.toolkit import describe, expect, randn

TOL = {torch.float32: dict(rtol=2e-6, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-12)}


def ref(x, limit):
    return limit * torch.tanh(x.detach().double() / limit)


def dref(x, limit):
    return 1 - torch.tanh(x.detach().double() / limit) ** 2


def the_op(kata, mod):
    if not kata.probe("probes.py").has_op(mod):
        raise AssertionError("no op torch.ops.katas.softclip is registered after importing softclip.py: decorate "
                             "softclip with @torch.library.custom_op(\"katas::softclip\", mutates_args=())")


INPUTS = [
    ("float32 (4, 5)", lambda: randn((4, 5), scale=3.0, seed=1), 2.0),
    ("float64 (7,)", lambda: randn((7,), torch.float64, scale=5.0, seed=2), 0.5),
    ("float32 transposed (6, 3)", lambda: randn((3, 6), scale=3.0, seed=3).t(), 1.5),
    ("float64 every other column (3, 4)", lambda: randn((3, 8), torch.float64, scale=2.0, seed=4)[:, ::2], 3.0),
    ("float32 empty (0, 3)", lambda: torch.empty(0, 3), 1.0),
    ("float64 0-d", lambda: torch.tensor(2.5, dtype=torch.float64), 2.0),
]


@pytest.mark.parametrize("name,make,limit", INPUTS, ids=[i[0] for i in INPUTS])
def test_values(kata, name, make, limit):
    mod = kata.module()
    x = make()
    before = x.clone()
    y, x_after = kata.probe("probes.py").call(mod, x, limit)
    expect(isinstance(y, torch.Tensor), f"softclip on {name} returned {describe(y)}, expected a tensor")
    expect(y.shape == x.shape and y.dtype == x.dtype,
           f"softclip on {name} returned {describe(y)}, expected {describe(x)}: same shape and dtype as x")
    expect(torch.equal(before, x_after), f"softclip on {name} modified x: inputs are read-only")
    assert_close(y, ref(x, limit), **TOL[x.dtype], what="softclip(x, limit)", on=f"{name}, limit {limit}")


def test_is_one_custom_op(kata):
    # To the dispatcher a custom op is one op: a dispatch mode sees katas::softclip, not what runs inside.
    mod = kata.module()
    the_op(kata, mod)
    ops = kata.probe("probes.py").dispatched(mod, randn((3, 4), seed=5), 2.0)
    expect("katas::softclip" in ops,
           f"calling softclip(x, 2.0) dispatched {ops or 'no aten ops'}, not katas::softclip: softclip must be "
           "the custom op itself (the function decorated with torch.library.custom_op), not a Python function "
           "around torch ops or numpy")


@pytest.mark.parametrize("requires_grad", [False, True], ids=["no_grad", "requires_grad"])
def test_opcheck(kata, requires_grad):
    # torch's own test of a custom op: the schema matches what the op does, the fake kernel agrees with
    # the real one, autograd is registered, and AOT tracing (what torch.compile does) works.
    mod = kata.module()
    the_op(kata, mod)
    x = randn((3, 5), torch.float64, scale=2.0, seed=6).requires_grad_(requires_grad)
    report = kata.probe("probes.py").opcheck(mod, x, 1.5)  # {test: "SUCCESS" or (str(error), repr(error))}
    bad = {k: v for k, v in report.items() if v != "SUCCESS"}
    if bad:
        lines = []
        for k, (text, rep) in bad.items():
            msg = text.strip().splitlines()
            lines.append(f"    {k}: {(msg[0] if msg else rep)[:400]}")
        raise AssertionError(
            f"torch.library.opcheck(katas::softclip, x {describe(x)}{' requiring grad' if requires_grad else ''}) "
            "failed:\n" + "\n".join(lines) + "\n  test_faketensor / test_aot_dispatch_dynamic: the fake kernel "
            "(@softclip.register_fake) must return torch.empty_like(x) without touching data (fake tensors have "
            "none: no .numpy(), no .item()). test_autograd_registration: register the derivative with "
            "softclip.register_autograd(backward, setup_context=...).")


@pytest.mark.parametrize("limit", [0.5, 1.0, 3.0])
def test_gradients(kata, limit):
    mod = kata.module()
    x = randn((4, 6), torch.float64, scale=2.0, seed=7).requires_grad_(True)
    g = randn((4, 6), torch.float64, seed=8)
    x_grad = kata.probe("probes.py").grad(mod, x, limit, g)  # x.grad after softclip(x, limit).backward(g)
    expect(x_grad is not None, "x.grad is None after backward(): autograd does not know softclip's derivative; "
                               "register it with softclip.register_autograd")
    assert_close(x_grad, g * dref(x, limit), **TOL[torch.float64], what="x.grad",
                 on=f"float64 x (4, 6), limit {limit}, random grad_output. d/dx [L tanh(x / L)] = "
                    "1 - tanh(x / L)^2")


def test_compiled_no_graph_break(kata):
    # fullgraph=True turns any graph break into an error; aot_eager traces forward and backward with
    # fake tensors (through your fake kernel and autograd formula) and runs them without codegen.
    mod = kata.module()
    the_op(kata, mod)
    # f(x, w) = (softclip(x @ w, 2.0) * 3).sum(-1), compiled and run (forward, then y.sum().backward())
    # in the probe, on x (n, 4) for n = 5, then 9 (dynamic shapes: one graph serves both).
    calls = [(randn((n, 4), torch.float64, scale=2.0, seed=n).requires_grad_(True),
              randn((4, 3), torch.float64, seed=n + 1)) for n in (5, 9)]
    runs, breaks = kata.probe("probes.py").compiled(mod, calls)
    for (x, w), run in zip(calls, runs):
        n = x.shape[0]
        if "error" in run:
            name, first = run["error"]
            raise AssertionError(
                f"torch.compile(f, fullgraph=True) failed on f(x, w) = (softclip(x @ w, 2.0) * 3).sum(-1), x "
                f"({n}, 4): {name}: {first}\n  A graph break or a failed trace: torch.compile cannot "
                "look inside numpy, so softclip must be a custom op, and its fake kernel must work on fake tensors "
                "(torch.empty_like(x), no data access).")
        assert_close(run["y"], (3 * ref(x @ w, 2.0)).sum(-1), **TOL[torch.float64], what="compiled f(x, w)",
                     on=f"x ({n}, 4)")
        if "backward_error" in run:
            name, text = run["backward_error"]
            raise AssertionError(f"y.sum().backward() through the compiled f(x, w), x ({n}, 4), raised {name}: {text}")
        want = (3 * dref(x.detach() @ w, 2.0)) @ w.t()
        assert_close(run["grad"], want, **TOL[torch.float64], what="x.grad through the compiled function",
                     on=f"x ({n}, 4)")
    expect(breaks == 0, f"{breaks} graph break(s) under torch.compile")
