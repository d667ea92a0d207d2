"""LoRA and DoRA: initialisation (the adapted layer starts as the base layer), which parameters train,
the alpha / r scale, forward against a float64 formula, gradients, merge/unmerge round trips."""
import pytest
import torch
from torch import nn

from kata.testing import assert_close

T64 = dict(atol=1e-12, rtol=1e-10)


def base_layer(i, o, seed, bias=True):
    # (support/probes.py builds the same layer from the same arguments, for the learner's run)
    torch.manual_seed(seed)
    return nn.Linear(i, o, bias=bias).double()


def lora_formula(base, A, B, alpha, r, x):
    return x @ base.weight.T + (base.bias if base.bias is not None else 0) + (alpha / r) * x @ A.T @ B.T


def dora_weight(W0, A, B, m, alpha, r):
    V = W0 + (alpha / r) * B @ A
    return m[:, None] * V / V.norm(dim=1, keepdim=True)


def run(kata, mod, cls, spec, r, alpha, **kw):
    """mod.<cls>(base_layer(*spec), r, alpha), run in the probe (see support/probes.py: run): the
    layer's observations, as data."""
    return kata.probe("probes.py").run(mod, cls, spec, r, alpha, **kw)


def need(got, cls, *names):
    for n in names:
        if got[n] is None:
            raise AssertionError(f"{cls} has no attribute {n} (see the docstring in lora.py)")
    return [got[n] for n in names]


def no_error(got, cls):
    if got["error"]:
        step, name, msg = got["error"]
        raise AssertionError(f"{cls}: {step} raised {name}: {msg}")


@pytest.mark.parametrize("cls", ["LoRALinear", "DoRALinear"])
def test_starts_as_base(kata, cls):
    mod = kata.module()
    spec = (13, 7, 0)
    base = base_layer(*spec)
    x = torch.randn(5, 13, dtype=torch.float64)
    want = base(x).detach()
    got = run(kata, mod, cls, spec, 4, 8.0, x=x)  # layer = mod.<cls>(base, 4, 8.0); layer(x)
    assert_close(got["y"], want, **T64, what=f"{cls} output at initialisation", on="in 13, out 7, r 4, alpha 8")
    A, B = need(got, cls, "A", "B")
    assert A.abs().sum() > 0, "A is all zeros: with both A and B zero, no gradient reaches either (B's gradient is x A^T... = 0)"
    assert bool((B == 0).all()), "B must start at zero (so the adapter starts as a no-op, while A is random)"


@pytest.mark.parametrize("cls", ["LoRALinear", "DoRALinear"])
def test_trainable_parameters(kata, cls):
    mod = kata.module()
    got = run(kata, mod, cls, (13, 7, 1), 3, 6.0)  # layer = mod.<cls>(base_layer(13, 7, 1), 3, 6.0)
    names = got["trainable"]
    want = ["A", "B"] + (["m"] if cls == "DoRALinear" else [])
    assert names == want, (f"{cls}: trainable parameters are {names}, expected {want}: freeze the base layer "
                           "(requires_grad_(False) on its weight and bias)")
    a_shape, b_shape = need(got, cls, "A_shape", "B_shape")
    assert a_shape == (3, 13) and b_shape == (7, 3), (
        f"A must be (r, in) = (3, 13) and B (out, r) = (7, 3); got {a_shape} and {b_shape}")


@pytest.mark.parametrize("r,alpha", [(1, 1.0), (4, 8.0), (8, 16.0), (5, 3.0)])
def test_lora_forward(kata, r, alpha):
    mod = kata.module()
    spec = (11, 9, r)
    base = base_layer(*spec)
    x = torch.randn(2, 3, 11, dtype=torch.float64)
    # layer = LoRALinear(base, r, alpha), A and B randomized (seed r + 1), layer(x): in the probe
    out = run(kata, mod, "LoRALinear", spec, r, alpha, ab_seed=r + 1, x=x)
    got, A, B = out["y"], out["A"], out["B"]
    want = lora_formula(base, A, B, alpha, r, x)
    try:
        assert_close(got, want, **T64, what="LoRA output", on=f"r {r}, alpha {alpha}, x of shape (2, 3, 11)")
    except AssertionError as e:
        alt = lora_formula(base, A, B, alpha * r, r, x)
        hint = ("\n  Your output matches a scale of alpha, not alpha / r: the update is scaled by alpha / r, so that "
                "changing r does not change the update's size at initialisation." if torch.allclose(got, alt, atol=1e-9) else "")
        raise AssertionError(f"{e}{hint}") from None


def test_lora_gradients(kata):
    mod = kata.module()
    spec = (6, 5, 3)
    base = base_layer(*spec)
    x = torch.randn(4, 6, dtype=torch.float64)
    # layer = LoRALinear(base, 2, 4.0), A and B randomized (seed 4), layer(x).pow(2).sum().backward(): in the probe
    got = run(kata, mod, "LoRALinear", spec, 2, 4.0, ab_seed=4, x=x, backward=True)
    no_error(got, "LoRALinear")
    A, B = got["A"].clone().requires_grad_(True), got["B"].clone().requires_grad_(True)
    lora_formula(base, A, B, 4.0, 2, x).pow(2).sum().backward()
    assert got["grads"]["A"] is not None and got["grads"]["B"] is not None, (
        f"after backward, A.grad is {got['grads']['A']} and B.grad is {got['grads']['B']}: A and B must train")
    assert_close(got["grads"]["A"], A.grad, **T64, what="grad of A", on="loss = sum(y^2), r 2, alpha 4")
    assert_close(got["grads"]["B"], B.grad, **T64, what="grad of B", on="loss = sum(y^2), r 2, alpha 4")
    assert got["base_weight_grad"] is None, "the frozen base weight received a gradient"


@pytest.mark.parametrize("cls", ["LoRALinear", "DoRALinear"])
def test_merge_unmerge(kata, cls):
    mod = kata.module()
    spec = (10, 8, 5)
    W0 = base_layer(*spec).weight.detach().clone()
    x = torch.randn(4, 10, dtype=torch.float64)
    # layer = mod.<cls>(base, 3, 5.0), A and B randomized (seed 6), DoRA's m scaled by linspace(0.5, 1.5);
    # before = layer(x); merge(); unmerge(): in the probe
    got = run(kata, mod, cls, spec, 3, 5.0, ab_seed=6, x=x, merge=True,
              m_scale=torch.linspace(0.5, 1.5, 8, dtype=torch.float64) if cls == "DoRALinear" else None)
    before = got["y"]
    if "merged" not in got:
        no_error(got, cls)
    merged = got["merged"]
    assert not torch.equal(merged["base_weight"], W0), f"{cls}.merge() did not change base.weight"
    assert_close(merged["layer_x"], before, atol=1e-11, rtol=1e-10, what=f"{cls} output after merge()",
                 on="must equal the unmerged output (and must not add the update twice)")
    assert_close(merged["base_x"], before, atol=1e-11, rtol=1e-10, what="base(x) after merge()", on="the merged base layer alone")
    no_error(got, cls)
    unmerged = got["unmerged"]
    assert_close(unmerged["base_weight"], W0, atol=1e-13, what="base.weight after merge() then unmerge()", on=cls)
    assert_close(unmerged["layer_x"], before, atol=1e-11, rtol=1e-10, what=f"{cls} output after unmerge()", on="back to the adapter form")


@pytest.mark.parametrize("r,alpha", [(2, 4.0), (6, 3.0)])
def test_dora_forward_and_gradients(kata, r, alpha):
    mod = kata.module()
    spec = (9, 7, 7 + r)
    base = base_layer(*spec)
    x = torch.randn(3, 9, dtype=torch.float64)
    # layer = DoRALinear(base, r, alpha), A and B randomized (seed 8 + r), m scaled by linspace(0.7, 1.3);
    # y = layer(x); y.pow(2).sum().backward(): in the probe
    got = run(kata, mod, "DoRALinear", spec, r, alpha, ab_seed=8 + r, x=x, backward=True,
              m_scale=torch.linspace(0.7, 1.3, 7, dtype=torch.float64))
    assert got["m_shape"] == (7,), f"m must have one entry per output feature (7), got {got['m_shape']}"
    y = got["y"]
    A, B, m = (got[n].clone().requires_grad_(True) for n in ("A", "B", "m"))
    want = x @ dora_weight(base.weight.detach(), A, B, m, alpha, r).T + base.bias.detach()
    try:
        assert_close(y, want, **T64, what="DoRA output", on=f"r {r}, alpha {alpha}")
    except AssertionError as e:
        V = base.weight.detach() + (alpha / r) * got["B"] @ got["A"]
        alt = x @ (got["m"][:, None] * V / V.norm(dim=0, keepdim=True)).T + base.bias.detach()
        hint = ("\n  Your output matches a norm over dim 0 (per input feature). DoRA's magnitude is per output feature: "
                "the norm of each row of the (out, in) weight, V.norm(dim=1, keepdim=True)." if torch.allclose(y, alt, atol=1e-9) else "")
        raise AssertionError(f"{e}{hint}") from None
    no_error(got, "DoRALinear")
    want.pow(2).sum().backward()
    for name, ref in (("A", A), ("B", B), ("m", m)):
        mine = got["grads"][name]
        assert mine is not None, f"DoRA: {name} got no gradient"
        assert_close(mine, ref.grad, atol=1e-10, rtol=1e-9, what=f"DoRA grad of {name}",
                     on="loss = sum(y^2), gradients through the norm (not detached)")
