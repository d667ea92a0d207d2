"""softclip as a torch.library custom op: values, that it is one opaque op (katas::softclip) to the
dispatcher, torch.library.opcheck (schema, fake kernel, autograd registration, AOT tracing),
gradients, and torch.compile with fullgraph=True: no graph break, the right values and gradients,
with dynamic shapes."""
import pytest
import torch
import torch._dynamo  # noqa: F401  (imported once in the parent, not in every test's child)
import torch._functorch.aot_autograd  # noqa: F401
import torch.fx.experimental.symbolic_shapes  # noqa: F401
from torch._dynamo.utils import counters
from torch.utils._python_dispatch import TorchDispatchMode

from kata.testing import assert_close
from kata.toolkit import describe, expect, randn

TOL = {torch.float32: dict(rtol=2e-6, atol=1e-6), torch.float64: dict(rtol=1e-12, atol=1e-12)}


def ref(x, limit):
    return limit * torch.tanh(x.detach().double() / limit)


def dref(x, limit):
    return 1 - torch.tanh(x.detach().double() / limit) ** 2


def the_op(mod):
    ns = getattr(torch.ops, "katas")
    try:
        return ns.softclip.default
    except (AttributeError, RuntimeError):
        raise AssertionError("no op torch.ops.katas.softclip is registered after importing softclip.py: decorate "
                             "softclip with @torch.library.custom_op(\"katas::softclip\", mutates_args=())") from None


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
    y = mod.softclip(x, limit)
    expect(isinstance(y, torch.Tensor), f"softclip on {name} returned {describe(y)}, expected a tensor")
    expect(y.shape == x.shape and y.dtype == x.dtype,
           f"softclip on {name} returned {describe(y)}, expected {describe(x)}: same shape and dtype as x")
    expect(torch.equal(before, x), f"softclip on {name} modified x: inputs are read-only")
    assert_close(y, ref(x, limit), **TOL[x.dtype], what="softclip(x, limit)", on=f"{name}, limit {limit}")


class OpLog(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = []

    @classmethod
    def _should_skip_dynamo(cls):
        return False

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(func.name())
        return func(*args, **(kwargs or {}))


def test_is_one_custom_op(kata):
    # To the dispatcher a custom op is one op: a dispatch mode sees katas::softclip, not what runs inside.
    mod = kata.module()
    the_op(mod)
    with OpLog() as log:
        mod.softclip(randn((3, 4), seed=5), 2.0)
    expect("katas::softclip" in log.ops,
           f"calling softclip(x, 2.0) dispatched {log.ops or 'no aten ops'}, not katas::softclip: softclip must be "
           "the custom op itself (the function decorated with torch.library.custom_op), not a Python function "
           "around torch ops or numpy")


@pytest.mark.parametrize("requires_grad", [False, True], ids=["no_grad", "requires_grad"])
def test_opcheck(kata, requires_grad):
    # torch's own test of a custom op: the schema matches what the op does, the fake kernel agrees with
    # the real one, autograd is registered, and AOT tracing (what torch.compile does) works.
    mod = kata.module()
    op = the_op(mod)
    x = randn((3, 5), torch.float64, scale=2.0, seed=6).requires_grad_(requires_grad)
    report = torch.library.opcheck(op, (x, 1.5), raise_exception=False)
    bad = {k: v for k, v in report.items() if v != "SUCCESS"}
    if bad:
        lines = []
        for k, v in bad.items():
            msg = str(v).strip().splitlines()
            lines.append(f"    {k}: {(msg[0] if msg else repr(v))[:400]}")
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
    mod.softclip(x, limit).backward(g)
    expect(x.grad is not None, "x.grad is None after backward(): autograd does not know softclip's derivative; "
                               "register it with softclip.register_autograd")
    assert_close(x.grad, g * dref(x, limit), **TOL[torch.float64], what="x.grad",
                 on=f"float64 x (4, 6), limit {limit}, random grad_output. d/dx [L tanh(x / L)] = "
                    "1 - tanh(x / L)^2")


def test_compiled_no_graph_break(kata):
    # fullgraph=True turns any graph break into an error; aot_eager traces forward and backward with
    # fake tensors (through your fake kernel and autograd formula) and runs them without codegen.
    mod = kata.module()
    the_op(mod)
    torch._dynamo.reset()
    counters.clear()

    def f(x, w):
        return (mod.softclip(x @ w, 2.0) * 3).sum(-1)

    cf = torch.compile(f, backend="aot_eager", fullgraph=True, dynamic=True)
    for n in (5, 9):
        x = randn((n, 4), torch.float64, scale=2.0, seed=n).requires_grad_(True)
        w = randn((4, 3), torch.float64, seed=n + 1)
        try:
            y = cf(x, w)
        except Exception as e:  # noqa: BLE001  (dynamo raises many types; all mean the same here)
            first = str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__
            raise AssertionError(
                f"torch.compile(f, fullgraph=True) failed on f(x, w) = (softclip(x @ w, 2.0) * 3).sum(-1), x "
                f"({n}, 4): {type(e).__name__}: {first}\n  A graph break or a failed trace: torch.compile cannot "
                "look inside numpy, so softclip must be a custom op, and its fake kernel must work on fake tensors "
                "(torch.empty_like(x), no data access).") from None
        assert_close(y, (3 * ref(x @ w, 2.0)).sum(-1), **TOL[torch.float64], what="compiled f(x, w)",
                     on=f"x ({n}, 4)")
        y.sum().backward()
        want = (3 * dref(x.detach() @ w, 2.0)) @ w.t()
        assert_close(x.grad, want, **TOL[torch.float64], what="x.grad through the compiled function",
                     on=f"x ({n}, 4)")
    breaks = sum(counters["graph_break"].values())
    expect(breaks == 0, f"{breaks} graph break(s) under torch.compile")
