"""LoRA and DoRA: initialisation (the adapted layer starts as the base layer), which parameters train,
the alpha / r scale, forward against a float64 formula, gradients, merge/unmerge round trips."""
import pytest
import torch
from torch import nn

from kata.testing import assert_close

T64 = dict(atol=1e-12, rtol=1e-10)


def base_layer(i, o, seed, bias=True):
    torch.manual_seed(seed)
    return nn.Linear(i, o, bias=bias).double()


def randomize_ab(layer, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        layer.A.copy_(torch.randn(layer.A.shape, generator=g, dtype=torch.float64))
        layer.B.copy_(torch.randn(layer.B.shape, generator=g, dtype=torch.float64))


def lora_formula(base, A, B, alpha, r, x):
    return x @ base.weight.T + (base.bias if base.bias is not None else 0) + (alpha / r) * x @ A.T @ B.T


def dora_weight(W0, A, B, m, alpha, r):
    V = W0 + (alpha / r) * B @ A
    return m[:, None] * V / V.norm(dim=1, keepdim=True)


@pytest.mark.parametrize("cls", ["LoRALinear", "DoRALinear"])
def test_starts_as_base(kata, cls):
    mod = kata.module()
    base = base_layer(13, 7, 0)
    x = torch.randn(5, 13, dtype=torch.float64)
    want = base(x).detach()
    layer = getattr(mod, cls)(base, 4, 8.0)
    assert_close(layer(x), want, **T64, what=f"{cls} output at initialisation", on="in 13, out 7, r 4, alpha 8")
    assert layer.A.abs().sum() > 0, "A is all zeros: with both A and B zero, no gradient reaches either (B's gradient is x A^T... = 0)"
    assert bool((layer.B == 0).all()), "B must start at zero (so the adapter starts as a no-op, while A is random)"


@pytest.mark.parametrize("cls", ["LoRALinear", "DoRALinear"])
def test_trainable_parameters(kata, cls):
    mod = kata.module()
    layer = getattr(mod, cls)(base_layer(13, 7, 1), 3, 6.0)
    names = sorted(n for n, p in layer.named_parameters() if p.requires_grad)
    want = ["A", "B"] + (["m"] if cls == "DoRALinear" else [])
    assert names == want, (f"{cls}: trainable parameters are {names}, expected {want}: freeze the base layer "
                           "(requires_grad_(False) on its weight and bias)")
    assert tuple(layer.A.shape) == (3, 13) and tuple(layer.B.shape) == (7, 3), (
        f"A must be (r, in) = (3, 13) and B (out, r) = (7, 3); got {tuple(layer.A.shape)} and {tuple(layer.B.shape)}")


@pytest.mark.parametrize("r,alpha", [(1, 1.0), (4, 8.0), (8, 16.0), (5, 3.0)])
def test_lora_forward(kata, r, alpha):
    mod = kata.module()
    base = base_layer(11, 9, r)
    layer = mod.LoRALinear(base, r, alpha)
    randomize_ab(layer, r + 1)
    x = torch.randn(2, 3, 11, dtype=torch.float64)
    got = layer(x)
    want = lora_formula(base, layer.A.detach(), layer.B.detach(), alpha, r, x)
    try:
        assert_close(got, want, **T64, what="LoRA output", on=f"r {r}, alpha {alpha}, x of shape (2, 3, 11)")
    except AssertionError as e:
        alt = lora_formula(base, layer.A.detach(), layer.B.detach(), alpha * r, r, x)
        hint = ("\n  Your output matches a scale of alpha, not alpha / r: the update is scaled by alpha / r, so that "
                "changing r does not change the update's size at initialisation." if torch.allclose(got, alt, atol=1e-9) else "")
        raise AssertionError(f"{e}{hint}") from None


def test_lora_gradients(kata):
    mod = kata.module()
    base = base_layer(6, 5, 3)
    layer = mod.LoRALinear(base, 2, 4.0)
    randomize_ab(layer, 4)
    x = torch.randn(4, 6, dtype=torch.float64)
    layer(x).pow(2).sum().backward()
    A, B = layer.A.detach().clone().requires_grad_(True), layer.B.detach().clone().requires_grad_(True)
    lora_formula(base, A, B, 4.0, 2, x).pow(2).sum().backward()
    assert_close(layer.A.grad, A.grad, **T64, what="grad of A", on="loss = sum(y^2), r 2, alpha 4")
    assert_close(layer.B.grad, B.grad, **T64, what="grad of B", on="loss = sum(y^2), r 2, alpha 4")
    assert base.weight.grad is None, "the frozen base weight received a gradient"


@pytest.mark.parametrize("cls", ["LoRALinear", "DoRALinear"])
def test_merge_unmerge(kata, cls):
    mod = kata.module()
    base = base_layer(10, 8, 5)
    W0 = base.weight.detach().clone()
    layer = getattr(mod, cls)(base, 3, 5.0)
    randomize_ab(layer, 6)
    if cls == "DoRALinear":
        with torch.no_grad():
            layer.m.mul_(torch.linspace(0.5, 1.5, 8, dtype=torch.float64))
    x = torch.randn(4, 10, dtype=torch.float64)
    before = layer(x).detach()
    layer.merge()
    assert not torch.equal(base.weight.detach(), W0), f"{cls}.merge() did not change base.weight"
    assert_close(layer(x), before, atol=1e-11, rtol=1e-10, what=f"{cls} output after merge()",
                 on="must equal the unmerged output (and must not add the update twice)")
    assert_close(base(x), before, atol=1e-11, rtol=1e-10, what="base(x) after merge()", on="the merged base layer alone")
    layer.unmerge()
    assert_close(base.weight, W0, atol=1e-13, what="base.weight after merge() then unmerge()", on=cls)
    assert_close(layer(x), before, atol=1e-11, rtol=1e-10, what=f"{cls} output after unmerge()", on="back to the adapter form")


@pytest.mark.parametrize("r,alpha", [(2, 4.0), (6, 3.0)])
def test_dora_forward_and_gradients(kata, r, alpha):
    mod = kata.module()
    base = base_layer(9, 7, 7 + r)
    layer = mod.DoRALinear(base, r, alpha)
    randomize_ab(layer, 8 + r)
    with torch.no_grad():
        layer.m.mul_(torch.linspace(0.7, 1.3, 7, dtype=torch.float64))
    assert tuple(layer.m.shape) == (7,), f"m must have one entry per output feature (7), got {tuple(layer.m.shape)}"
    x = torch.randn(3, 9, dtype=torch.float64)
    y = layer(x)
    A, B, m = (t.detach().clone().requires_grad_(True) for t in (layer.A, layer.B, layer.m))
    want = x @ dora_weight(base.weight.detach(), A, B, m, alpha, r).T + base.bias.detach()
    try:
        assert_close(y, want, **T64, what="DoRA output", on=f"r {r}, alpha {alpha}")
    except AssertionError as e:
        V = base.weight.detach() + (alpha / r) * layer.B.detach() @ layer.A.detach()
        alt = x @ (layer.m.detach()[:, None] * V / V.norm(dim=0, keepdim=True)).T + base.bias.detach()
        hint = ("\n  Your output matches a norm over dim 0 (per input feature). DoRA's magnitude is per output feature: "
                "the norm of each row of the (out, in) weight, V.norm(dim=1, keepdim=True)." if torch.allclose(y, alt, atol=1e-9) else "")
        raise AssertionError(f"{e}{hint}") from None
    y.pow(2).sum().backward()
    want.pow(2).sum().backward()
    for name, mine, ref in (("A", layer.A, A), ("B", layer.B, B), ("m", layer.m, m)):
        assert mine.grad is not None, f"DoRA: {name} got no gradient"
        assert_close(mine.grad, ref.grad, atol=1e-10, rtol=1e-9, what=f"DoRA grad of {name}",
                     on="loss = sum(y^2), gradients through the norm (not detached)")
