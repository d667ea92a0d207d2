"""SiLU as a custom autograd Function: values, gradients, that the graph really is yours, and a count
of the bytes it keeps alive for backward."""

import builtins

import pytest
import torch
import torch.fx.experimental.symbolic_shapes  # noqa: F401  (see below)
from hypothesis import given, settings, strategies as st

from kata.testing import assert_close
from kata.toolkit import OpCensus

# torch imports torch.fx.experimental.symbolic_shapes (and sympy) lazily on a process's first
# backward, 0.4-0.7 s: the import above pays that once, here in the parent, instead of once in every
# forked test child.

# Tolerances against a float64 reference. Measured on 1e6 float32 inputs with |x| <= 100: the reference,
# torch's own SiLU and x / (1 + exp(-x)) all stay within 2e-6 relative (forward), and their gradients
# within 1e-6 absolute + 1e-5 relative (|grad_output| <= ~5). These bounds leave room for any sensible
# formula and none for a wrong one.
FWD_TOL = {torch.float32: dict(rtol=4e-6, atol=1e-30), torch.float64: dict(rtol=1e-12, atol=1e-300)}
GRAD_TOL = {torch.float32: dict(rtol=2e-5, atol=2e-6), torch.float64: dict(rtol=1e-10, atol=1e-12)}
DTYPES = [torch.float32, torch.float64]
NAME = {torch.float32: "float32", torch.float64: "float64"}
DERIVATIVE = "dy/dx = sigmoid(x) * (1 + x * (1 - sigmoid(x)))"

# ------------------------------------------------------------------------------------------ helpers


def ref_silu(x):
    xd = x.detach().double()
    return xd * torch.sigmoid(xd)


def ref_dsilu(x):
    xd = x.detach().double()
    s = torch.sigmoid(xd)
    return s * (1 + xd * (1 - s))


def make_input(shape, dtype, scale, seed, layout="contiguous"):
    """Seeded values of size about `scale` (clamped to |x| <= 100), laid out contiguously, transposed
    (dimensions reversed) or strided (every other element of a wider last dimension)."""
    gen = torch.Generator().manual_seed(seed)
    shape, nd = tuple(shape), len(tuple(shape))
    if layout == "transposed" and nd >= 2:
        stored, view = shape[::-1], lambda t: t.permute(*reversed(range(nd)))
    elif layout == "strided" and nd >= 1:
        stored, view = (*shape[:-1], 2 * shape[-1]), lambda t: t[..., ::2]
    else:
        stored, view = shape, lambda t: t
    base = (torch.randn(stored, generator=gen, dtype=torch.float64) * scale).clamp(-100, 100).to(dtype)
    return view(base)


def describe_input(x, noun="input") -> str:
    layout = "contiguous" if x.is_contiguous() else f"non-contiguous, strides {tuple(x.stride())}"
    return f"a {NAME.get(x.dtype, x.dtype)} {noun} of shape {tuple(x.shape)} ({layout})"


def check_tensor(got, like, what):
    """`got` is a tensor with the shape, dtype and device of `like`."""
    if not isinstance(got, torch.Tensor):
        raise AssertionError(f"{what}: expected a torch.Tensor, got {type(got).__name__} ({got!r:.80})")
    if got.shape != like.shape:
        raise AssertionError(f"{what}: shape {tuple(got.shape)}, expected {tuple(like.shape)} (the input's shape: "
                             "SiLU is elementwise; did something flatten, squeeze or broadcast?)")
    if got.dtype != like.dtype:
        raise AssertionError(f"{what}: dtype {got.dtype}, expected {like.dtype} (the input's dtype: compute in "
                             "the input's dtype, do not cast to float64 or to a default dtype)")
    if got.device != like.device:
        raise AssertionError(f"{what}: on {got.device}, expected {like.device} (the input's device)")


def check_finite(got, x, want, what):
    """SiLU and its derivative are finite wherever x is: a NaN or inf is a formula that overflows."""
    bad = ~torch.isfinite(got.detach().reshape(-1))
    if bad.any():
        xf = x.detach().reshape(-1)
        j = torch.where(bad, xf.abs().double(), -1.0).argmax()  # the largest |x| that went wrong
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {got.numel()} elements are NaN or inf, though every input is finite; "
            f"e.g. at x = {xf[j].item():g} you returned {got.detach().reshape(-1)[j].item()}, expected "
            f"{want.reshape(-1)[j].item():.6g}.\n  {OVERFLOW_FIX}")


OVERFLOW_FIX = ("exp(x) overflows to inf above x = 88.7 in float32 (709.8 in float64), and inf / inf is NaN. "
                "Use torch.sigmoid(x), or a form that only ever exponentiates a non-positive number.")


def assert_input_unchanged(before, x, what="the input x"):
    if not torch.equal(before, x.detach()):
        n = int((before != x.detach()).sum())
        raise AssertionError(f"{what} was modified ({n} of {x.numel()} elements changed): inputs are read-only. "
                             "An in-place op (mul_, sigmoid_, add_, out=x) wrote into it: build new tensors instead.")


def diagnose(x, g, got) -> str:
    """Name the classic wrong derivative that `got` (a gradient for x given grad_output g) matches."""
    xd, gd, gotd = x.detach().double(), g.detach().double(), got.detach().double()
    s = torch.sigmoid(xd)
    candidates = [
        (gd * s, "you returned grad_output * sigmoid(x): the product rule's first term only. "
                 "d/dx [x * sigmoid(x)] = sigmoid(x) + x * sigmoid'(x): the x * sigmoid'(x) term is missing."),
        (gd * xd * s * (1 - s), "you returned grad_output * x * sigmoid'(x): the product rule's second term only; "
                                "the sigmoid(x) term (from differentiating x) is missing."),
        (gd * s * (1 - s), "you returned grad_output * sigmoid(x) * (1 - sigmoid(x)): that is sigmoid's derivative, "
                           "not SiLU's (SiLU is x * sigmoid(x): use the product rule)."),
        (gd * s * (1 + xd), "you used sigmoid'(x) = sigmoid(x); it is sigmoid(x) * (1 - sigmoid(x))."),
        (gd * (s + xd * (1 - s)), "the x * sigmoid'(x) term lost a factor sigmoid(x): "
                                  "sigmoid'(x) = sigmoid(x) * (1 - sigmoid(x))."),
        (gd * s * (1 + xd * s), "sigmoid'(x) is sigmoid(x) * (1 - sigmoid(x)); you wrote sigmoid(x) * sigmoid(x)."),
        (gd * s * (1 - xd * (1 - s)), "a sign error: it is 1 + x * (1 - sigmoid(x)), not 1 - x * (...)."),
        (s * (1 + xd * (1 - s)), "this is dy/dx itself: backward must return grad_output * dy/dx (the chain rule); "
                                 "grad_output is not always ones."),
        (-gd * s * (1 + xd * (1 - s)), "the sign is flipped."),
        (gd * xd * s, "you returned grad_output * silu(x): that is the output, not its derivative."),
        (gd, "you returned grad_output unchanged (the identity's derivative)."),
    ]
    for want, why in candidates:
        if want.shape == gotd.shape and torch.allclose(gotd, want, rtol=1e-4, atol=1e-6):
            return "Diagnosis: " + why
    right = gd * s * (1 + xd * (1 - s))
    if right.shape == gotd.shape and torch.allclose(gotd, right, rtol=1e-2, atol=1e-4):
        return ("Close, but not within tolerance: is something computed or saved in a lower precision (half, "
                f"bfloat16, or float32 for a float64 input)? Expected grad_output * {DERIVATIVE}.")
    return f"Expected grad_output * {DERIVATIVE}."


CTX_NONE = ("\n  ctx is None: did silu() call SiLUFunction.forward(None, x) itself? Return SiLUFunction.apply(x): "
            "apply makes the ctx, runs forward and records the node in the graph.")


def call_silu(mod, x, on=None):
    """y = silu(x), checked to be a tensor shaped and typed like x (x not requiring grad: the output
    crosses as it is)."""
    try:
        y = mod.silu(x)
    except AttributeError as e:
        if "'NoneType' object has no attribute" not in str(e):
            raise
        raise AssertionError(f"{type(e).__name__}: {e}{CTX_NONE}") from None
    check_tensor(y, x, f"silu(x) on {on or describe_input(x)}")
    return y


def check_call(rec, like, on=None):
    """One silu() call the probe made (on a tensor shaped and typed like `like`), checked as call_silu
    checks its own: no AttributeError from a None ctx, a tensor shaped and typed like the input."""
    what = f"silu(x) on {on or describe_input(like)}"
    if rec["error"]:
        name, msg = rec["error"]
        if "'NoneType' object has no attribute" not in msg:
            raise AttributeError(msg)
        raise AssertionError(f"{name}: {msg}{CTX_NONE}")
    if rec["other"]:
        name, text = rec["other"]
        raise AssertionError(f"{what}: expected a torch.Tensor, got {name} ({text})")
    check_tensor(rec["y"], like, what)
    return rec["y"]


def check_your_node(rec):
    """The output of a silu() call the probe made has, as grad_fn, the node autograd made for the
    learner's SiLUFunction."""
    name = rec["node"]
    if name is None:
        raise AssertionError("silu(x) has no grad_fn although x requires grad: autograd recorded nothing, so no "
                             "gradient can reach x. Return SiLUFunction.apply(x) from silu(); calling "
                             "SiLUFunction.forward yourself, or detaching, bypasses autograd.")
    if not rec["yours"]:
        raise AssertionError(
            f"silu(x).grad_fn is {name}, expected SiLUFunctionBackward (the node autograd makes for your "
            f"SiLUFunction). {'That is torch.nn.functional.silu. ' if name.startswith('Silu') else ''}"
            "silu() must return SiLUFunction.apply(x) as it is, with no torch op around it.")


def raise_error(err):
    """Raise again an error the probe caught, as its own type when that is a builtin."""
    name, msg = err
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        raise cls(msg)
    raise AssertionError(f"{name}: {msg}")


def probe_forward(kata, mod, x, on=None):
    """silu(x) in the probe (x requiring grad: the graph stays there); returns the call's record,
    checked like call_silu's output (rec["y"] the output, detached)."""
    got = kata.probe("probes.py").forward(mod, x)
    check_call(got["calls"][0], x, on)
    if got["error"]:
        raise_error(got["error"])
    return got["calls"][0]


def run_backward(kata, mod, x, g):
    """x.grad after silu(x).backward(g), x being a leaf that shares x's memory and strides (in the
    probe); checks that neither x nor g was modified and that the gradient is shaped and typed like x."""
    leaf = x.detach().requires_grad_(True)
    x_before, g_before = x.clone(), g.clone()
    got = kata.probe("probes.py").backward(mod, x, g)
    check_call(got["calls"][0], leaf)
    check_your_node(got["calls"][0])
    if got["error"]:
        raise_error(got["error"])
    assert_input_unchanged(g_before, got["g_after"], "grad_output (the gradient your backward receives)")
    assert_input_unchanged(x_before, got["x_after"])
    if got["grad"] is None:
        raise AssertionError(f"x.grad is None after silu(x).backward(grad_output) on {describe_input(leaf)}: "
                             "backward returned None for x.")
    check_tensor(got["grad"], leaf, f"x.grad on {describe_input(leaf)}")
    return got["grad"]


def backward(got, *grads_and_leaves):
    """The end of a probe's loss.backward() (got["error"]), with a clear message for the classic
    failures; then every leaf has a .grad (pairs of the grad it returned and the test's leaf)."""
    if got["error"]:
        name, msg = got["error"]
        if name != "RuntimeError" or "written-to tensor" not in msg:
            raise_error(got["error"])
        raise AssertionError(f"RuntimeError: {msg}\n  Your backward writes into grad_output in place (mul_, out=...). "
                             "Here grad_output is the gradient of .sum(): one number expanded to x's shape, which "
                             "cannot be written, and in general it belongs to the caller. Return a new "
                             "tensor.") from None
    for grad, leaf in grads_and_leaves:
        if grad is None:
            raise AssertionError(f"no gradient reached {describe_input(leaf, 'leaf tensor')} through silu(): "
                                 "does your backward return None?")


shapes = st.lists(st.integers(0, 7), min_size=0, max_size=4).map(tuple)

# ------------------------------------------------------------------------------------------ forward

EXTREMES = [0.0, -0.0, 1e-30, -1e-30, 1e-3, -1e-3, 0.5, -1.278, 1.0, -1.0, 5.0, -5.0, 20.0, -20.0,
            88.0, -88.0, 88.8, -88.8, 89.0, -89.0, 100.0, -100.0]


@pytest.mark.parametrize("dtype", DTYPES, ids=NAME.get)
def test_forward_known_values(kata, dtype):
    # Large magnitudes catch exp(x) / (1 + exp(x)) (NaN once exp overflows) and similar rewrites.
    mod = kata.module()
    vals = EXTREMES + ([700.0, -700.0, 710.0, -710.0, 1000.0, -1000.0] if dtype == torch.float64 else [])
    x = torch.tensor(vals, dtype=dtype)
    before = x.clone()
    y = call_silu(mod, x, f"{NAME[dtype]} x = {vals}")
    assert_input_unchanged(before, x)
    check_finite(y, x, ref_silu(x), f"silu(x) in {NAME[dtype]}")
    assert_close(y, ref_silu(x), **FWD_TOL[dtype], what="silu(x)",
                 on=f"{NAME[dtype]} x = {vals} (expected x * sigmoid(x))")


@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (1,), (5, 7)], ids=str)
def test_forward_edge_shapes(kata, shape):
    # A 0-d tensor and empty tensors: no reshaping tricks, no indexing element 0, no max over nothing.
    mod = kata.module()
    x = make_input(shape, torch.float32, 3.0, seed=len(shape))
    before = x.clone()
    y = call_silu(mod, x)
    assert_input_unchanged(before, x)
    assert_close(y, ref_silu(x), **FWD_TOL[torch.float32], what="silu(x)", on=describe_input(x))


@settings(max_examples=60)
@given(shape=shapes, dtype=st.sampled_from(DTYPES), scale=st.sampled_from([1.0, 10.0, 100.0]),
       layout=st.sampled_from(["contiguous", "transposed", "strided"]), seed=st.integers(0, 2**31 - 1))
def test_forward_any_shape(kata, shape, dtype, scale, layout, seed):
    mod = kata.module()
    x = make_input(shape, dtype, scale, seed, layout)
    before = x.clone()
    on = f"{describe_input(x)}, x = randn * {scale:g} clamped to |x| <= 100 (seed {seed})"
    with torch.no_grad():
        y = call_silu(mod, x, on)
    assert_input_unchanged(before, x)
    check_finite(y, x, ref_silu(x), f"silu(x) on {on}")
    assert_close(y, ref_silu(x), **FWD_TOL[dtype], what="silu(x)", on=on)


# ------------------------------------------------------------------------------- it is your Function


def test_graph_records_your_function(kata):
    # silu() must go through SiLUFunction.apply; torch's own SiLU (or autograd over x * sigmoid(x))
    # would give correct numbers and teach nothing.
    mod = kata.module()
    x = torch.linspace(-4, 4, 12, dtype=torch.float64).reshape(3, 4).requires_grad_(True)
    # in the probe: y = silu(x); then, with SiLUFunction.backward wrapped in a counting spy and under
    # OpCensus, y = silu(x) and y.backward(ones)
    got = kata.probe("probes.py").census(mod, x)
    check_call(got["calls"][0], x)
    if got["error"]:
        raise_error(got["error"])
    check_your_node(got["calls"][0])
    calls, forward_ops, backward_ops = got["backward_calls"], got["forward_ops"], got["backward_ops"]
    if calls != 1:
        raise AssertionError(f"SiLUFunction.backward ran {calls} times during one y.backward(): expected once.")
    for ops, where, banned in [(forward_ops, "forward", {"silu", "silu_"}),
                               (backward_ops, "backward", {"silu", "silu_", "silu_backward", "sigmoid_backward"})]:
        used = sorted(banned & set(ops))
        if used:
            how = ("torch's own SiLU (F.silu, nn.SiLU, torch.ops.aten.silu)" if "silu_backward" not in used
                   and "sigmoid_backward" not in used else
                   "autograd itself (torch.autograd.grad or .backward() inside backward)")
            raise AssertionError(f"your {where} calls aten.{', aten.'.join(used)}: that is {how}. "
                                 f"Write the {where} by hand from torch.sigmoid and arithmetic: "
                                 f"y = x * sigmoid(x), {DERIVATIVE}.")


def test_saves_through_save_for_backward(kata):
    # Tensors stashed as ctx attributes (ctx.x = x) work, but autograd cannot see them: saved-tensor
    # hooks (activation checkpointing, CPU offload) skip them, in-place changes to them go unnoticed,
    # and saving an output that way makes a reference cycle that leaks the graph.
    mod = kata.module()
    x = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    # in the probe, under saved-tensor hooks: y = silu(x), and the ctx attributes of y.grad_fn holding tensors
    got = kata.probe("probes.py").saved(mod, x)
    check_call(got["calls"][0], x)
    if got["error"]:
        raise_error(got["error"])
    check_your_node(got["calls"][0])
    stashed, seen = got["stashed"], got["packed"]
    if stashed:
        raise AssertionError(f"tensors stored as ctx attributes: ctx.{', ctx.'.join(stashed)}. Save tensors for "
                             "backward with ctx.save_for_backward(...) and read them back from ctx.saved_tensors; "
                             "only non-tensor values (ints, flags) belong on ctx directly.")
    if not seen:
        raise AssertionError("nothing was saved with ctx.save_for_backward(...), yet backward needs x: save x in "
                             "forward and read it back from ctx.saved_tensors in backward.")


# ----------------------------------------------------------------------------------------- backward


def test_gradient_values(kata):
    # float64, moderate x and a grad_output that is not all ones: a wrong formula cannot hide.
    mod = kata.module()
    x = torch.linspace(-6, 6, 25, dtype=torch.float64)
    g = torch.randn(25, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    grad = run_backward(kata, mod, x, g)
    want = g * ref_dsilu(x)
    try:
        assert_close(grad, want, **GRAD_TOL[torch.float64], what="x.grad",
                     on=f"float64 x = linspace(-6, 6, 25) with a random grad_output")
    except AssertionError as e:
        raise AssertionError(f"{e}\n  {diagnose(x, g, grad)}") from None


@pytest.mark.parametrize("dtype", DTYPES, ids=NAME.get)
def test_gradient_large_magnitudes(kata, dtype):
    mod = kata.module()
    vals = EXTREMES + ([700.0, -700.0, 710.0, -710.0, 1000.0, -1000.0] if dtype == torch.float64 else [])
    x = torch.tensor(vals, dtype=dtype)
    g = torch.linspace(0.5, 2.0, len(vals), dtype=dtype)
    grad = run_backward(kata, mod, x, g)
    check_finite(grad, x, g.double() * ref_dsilu(x), f"x.grad in {NAME[dtype]}")
    try:
        assert_close(grad, g.double() * ref_dsilu(x), **GRAD_TOL[dtype], what="x.grad",
                     on=f"{NAME[dtype]} x = {vals}, grad_output = linspace(0.5, 2, {len(vals)})")
    except AssertionError as e:
        raise AssertionError(f"{e}\n  {diagnose(x, g, grad)}") from None


@settings(max_examples=40)
@given(shape=shapes, dtype=st.sampled_from(DTYPES), scale=st.sampled_from([1.0, 4.0, 100.0]),
       layout=st.sampled_from(["contiguous", "transposed", "strided"]), seed=st.integers(0, 2**31 - 1))
def test_gradient_any_shape(kata, shape, dtype, scale, layout, seed):
    mod = kata.module()
    x = make_input(shape, dtype, scale, seed, layout)
    g = make_input(shape, dtype, 1.0, seed + 1, layout)
    on = (f"{describe_input(x)}, x = randn * {scale:g} clamped to |x| <= 100, grad_output "
          f"{describe_input(g, 'tensor')[2:]} (seed {seed})")
    grad = run_backward(kata, mod, x, g)
    check_finite(grad, x, g.double() * ref_dsilu(x), f"x.grad on {on}")
    try:
        assert_close(grad, g.double() * ref_dsilu(x), **GRAD_TOL[dtype], what="x.grad", on=on)
    except AssertionError as e:
        raise AssertionError(f"{e}\n  {diagnose(x, g, grad)}") from None


@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_gradcheck(kata, layout):
    # torch's own check: your backward against finite differences of your forward, in float64.
    mod = kata.module()
    x = make_input((4, 6), torch.float64, 2.5, seed=3, layout=layout).requires_grad_(True)
    check_your_node(probe_forward(kata, mod, x))
    # in the probe: torch.autograd.gradcheck(silu, (x,), eps=1e-6, atol=1e-6, rtol=1e-4)
    err = kata.probe("probes.py").gradcheck(mod, x)
    if err is None:
        return
    if "Jacobian mismatch" not in err[1]:
        raise_error(err)
    said = err[1].splitlines()[0].rstrip(",")
    # SiLU is elementwise, so its Jacobian is diagonal: show the diagonal, element by element.
    grad = run_backward(kata, mod, x, torch.ones_like(x))
    with torch.no_grad():
        xd, eps = x.detach(), 1e-6
        numeric = (mod.silu(xd + eps) - mod.silu(xd - eps)) / (2 * eps)
    bad = ~torch.isclose(grad.detach(), numeric, rtol=1e-4, atol=1e-6)
    rows = [f"    x = {a:+.4f}: your backward gives {b:+.6f}, finite differences of your forward {c:+.6f}, "
            f"SiLU's derivative is {d:+.6f}"
            for a, b, c, d, _ in zip(xd[bad].tolist(), grad[bad].tolist(), numeric[bad].tolist(),
                                     ref_dsilu(xd)[bad].tolist(), range(4))]
    raise AssertionError(
        f"torch.autograd.gradcheck failed on {describe_input(x)}: the gradient your backward returns disagrees with "
        f"finite differences of your forward at {int(bad.sum())} of {x.numel()} elements (dy/dx, grad_output = 1):\n"
        + "\n".join(rows) + f"\n  {diagnose(x, torch.ones_like(x), grad)}\n  (gradcheck: {said})")


# --------------------------------------------------------------------------------- in a larger graph


def test_larger_graph(kata):
    # x feeds two branches and the result is scaled: the engine adds both contributions into x.grad,
    # and the grad_output your backward receives is an expanded constant, not a fresh tensor.
    mod = kata.module()
    x = torch.linspace(-3, 3, 20, dtype=torch.float64).reshape(4, 5).requires_grad_(True)
    # in the probe: loss = silu(x).sum() * 3 + x.pow(2).sum(), backward; loss2 = silu(silu(x)).sum(), backward
    got = kata.probe("probes.py").larger_graph(mod, x)
    check_call(got["calls"][0], x)
    grads = got["grads"] + [None] * (2 - len(got["grads"]))
    backward(got if not got["grads"] else dict(got, error=None), (grads[0], x))  # the first loss's backward
    want = 3 * ref_dsilu(x) + 2 * x.detach()
    try:
        assert_close(grads[0], want, **GRAD_TOL[torch.float64], what="x.grad",
                     on="loss = silu(x).sum() * 3 + x.pow(2).sum() (expected 3 * dsilu/dx + 2x)")
    except AssertionError as e:
        raise AssertionError(f"{e}\n  {diagnose(x, torch.full_like(x, 3.0), grads[0] - 2 * x.detach())}") from None

    # A second backward through a fresh graph accumulates into x.grad; silu(silu(x)) chains your node.
    for rec in got["calls"][1:]:
        check_call(rec, x)
    backward(got, (grads[1], x))
    inner = ref_silu(x)
    want2 = want + ref_dsilu(inner) * ref_dsilu(x)
    assert_close(grads[1], want2, **GRAD_TOL[torch.float64], what="x.grad after a second backward",
                 on="loss2 = silu(silu(x)).sum(), accumulated onto the first loss's gradient")


def test_non_contiguous_inputs(kata):
    mod = kata.module()
    gen = torch.Generator().manual_seed(11)
    # A transposed input and a transposed grad_output.
    base = torch.randn(5, 3, dtype=torch.float64, generator=gen).requires_grad_(True)
    w = torch.randn(5, 3, dtype=torch.float64, generator=gen)
    x = base.t()
    # in the probe: (silu(base.t()) * w.t()).sum().backward()
    got = kata.probe("probes.py").strided(mod, "transposed", base, w)
    check_call(got["calls"][0], x)
    backward(got, (got["grad"], base))
    assert_close(got["grad"], w * ref_dsilu(base), **GRAD_TOL[torch.float64], what="grad",
                 on=f"{describe_input(x)} (x = base.t()) with grad_output w.t()")
    # An expanded input (stride 0): one stored element feeds four outputs, so its gradient is a sum.
    a = torch.randn(1, 6, dtype=torch.float64, generator=gen).requires_grad_(True)
    x = a.expand(4, 6)
    got = kata.probe("probes.py").strided(mod, "expanded", a)  # silu(a.expand(4, 6)).sum().backward()
    check_call(got["calls"][0], x)
    backward(got, (got["grad"], a))
    assert_close(got["grad"], 4 * ref_dsilu(a), **GRAD_TOL[torch.float64], what="grad of a",
                 on="x = a.expand(4, 6), loss = silu(x).sum() (expected 4 * dsilu/dx(a))")
    # Every other column of a wider tensor.
    b = torch.randn(3, 8, dtype=torch.float32, generator=gen).requires_grad_(True)
    x = b[:, ::2]
    got = kata.probe("probes.py").strided(mod, "every_other", b)  # silu(b[:, ::2]).sum().backward()
    check_call(got["calls"][0], x)
    backward(got, (got["grad"], b))
    want = torch.zeros(3, 8, dtype=torch.float64)
    want[:, ::2] = ref_dsilu(x)
    assert_close(got["grad"], want, **GRAD_TOL[torch.float32], what="grad of b",
                 on="x = b[:, ::2] (float32), loss = silu(x).sum(): columns 1, 3, 5, 7 get zero")


# ------------------------------------------------------------------------ performance (memory count)
# Every call whose backward is still to come keeps its saved tensors alive; in a transformer MLP that
# is per layer, per micro-batch. The count is exact and machine-independent: saved-tensor hooks see
# every tensor ctx.save_for_backward hands to autograd. Budget: the input's own bytes. The reference
# saves x (4,000,000 bytes here, and x is alive anyway); saving sigmoid(x) or the output as well
# doubles that.
N = 1_000_000


@pytest.mark.perf
def test_saved_bytes(kata):
    mod = kata.module()
    x = torch.randn(N, generator=torch.Generator().manual_seed(5)).requires_grad_(True)
    budget = x.untyped_storage().nbytes()
    # in the probe, under saved-tensor hooks: y = silu(x); what was saved for backward comes back
    got = kata.probe("probes.py").saved(mod, x, keep_values=True)
    y = check_call(got["calls"][0], x)
    if got["error"]:
        raise_error(got["error"])
    packed = got["packed"]
    with torch.no_grad():
        s = torch.sigmoid(x)
    storages, lines = {}, []
    for t in packed:
        key, nbytes = t["storage"], t["nbytes"]
        fresh = key not in storages
        storages.setdefault(key, nbytes)
        lines.append(f"    {t['dtype']}{t['shape']}, {nbytes:,} bytes"
                     f"{'' if fresh else ' (the same memory as one above: not counted again)'}: {_what(t, x, s, y)}")
    saved = sum(storages.values())
    kata.record(saved_bytes=saved, budget_bytes=budget, saved_tensors=len(packed),
                saved_over_input=round(saved / budget, 3))
    if not packed:
        raise AssertionError("saved-tensor hooks saw nothing saved for backward, so the bytes kept alive cannot be "
                             "counted: save x with ctx.save_for_backward(x), not as a ctx attribute.")
    assert saved <= budget, (
        f"one call on a float32[{N:,}] input saves {saved:,} bytes for backward ({saved / budget:.2f}x the input); "
        f"the budget is {budget:,} bytes, the input's own.\n  saved:\n" + "\n".join(lines) + "\n"
        "  Save only x: backward can recompute sigmoid(x) from it with one cheap elementwise op, instead of "
        "keeping an activation-sized tensor alive until backward runs.")


def _what(t, x, s, y) -> str:
    """What a saved tensor (as the probe describes it: its value when shaped like x) is."""
    if tuple(t["shape"]) != tuple(x.shape):
        return "not the input's shape"
    if t["is_x"]:
        return "the input x"
    t = t["value"]
    for ref, name in ((x, "a copy of x"), (s, "sigmoid(x)"), (y, "the output silu(x)"), (1 - s, "1 - sigmoid(x)")):
        if t.dtype == ref.dtype and torch.allclose(t, ref.detach(), rtol=1e-5, atol=1e-6):
            return name
    return "some other tensor"
