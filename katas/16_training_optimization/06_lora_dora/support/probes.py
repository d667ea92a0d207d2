"""What the LoRA/DoRA tests do beside the learner's layers: build the test's base nn.Linear there from the
same seed (modules and autograd graphs cannot cross), wrap it in the learner's LoRALinear / DoRALinear,
run it (forward, backward, merge, unmerge) on the input the test gives, and return what came out
(outputs, A, B, m, gradients, base weights, names and shapes) for the test to judge. Under `kata grade`
this file runs in the learner's process (kata.probe); the checks do not."""
import torch
from torch import nn


def base_layer(i, o, seed, bias=True):
    torch.manual_seed(seed)
    return nn.Linear(i, o, bias=bias).double()


def randomize_ab(layer, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        layer.A.copy_(torch.randn(layer.A.shape, generator=g, dtype=torch.float64))
        layer.B.copy_(torch.randn(layer.B.shape, generator=g, dtype=torch.float64))


def _t(t):
    return None if t is None else t.detach().clone()


def run(mod, cls, spec, r, alpha, ab_seed=None, m_scale=None, x=None, backward=False, merge=False):
    """base = base_layer(*spec); layer = mod.<cls>(base, r, alpha); A and B randomized from ab_seed and
    m multiplied by m_scale when given. Then, with x: y = layer(x); with backward: y.pow(2).sum().backward();
    with merge: merge(), then unmerge(), observing after each. Returns a dict of what was seen:
    trainable (names of parameters requiring grad, sorted), A, B, m and their shapes (None where missing), y, grads
    ({A, B, m: .grad or None}), base_weight_grad; merged / unmerged ({base_weight, layer_x, base_x});
    error ((step, type, message) of what a backward / merge / unmerge raised, the rest then left out)."""
    base = base_layer(*spec)
    layer = getattr(mod, cls)(base, r, alpha)
    out = dict(trainable=sorted(n for n, p in layer.named_parameters() if p.requires_grad), error=None)
    if ab_seed is not None:
        randomize_ab(layer, ab_seed)
    if m_scale is not None:
        with torch.no_grad():
            layer.m.mul_(m_scale)
    for n in ("A", "B", "m"):  # None where the layer has no such attribute
        t = getattr(layer, n, None)
        out[n], out[n + "_shape"] = _t(t), (None if t is None else tuple(t.shape))
    if x is None:
        return out
    y = layer(x)
    out["y"] = _t(y)
    step = None
    try:
        if backward:
            step = "backward"
            y.pow(2).sum().backward()
            out["grads"] = {n: _t(getattr(layer, n).grad) for n in ("A", "B", "m") if hasattr(layer, n)}
            out["base_weight_grad"] = _t(base.weight.grad)
        if merge:
            step = "merge()"
            layer.merge()
            out["merged"] = dict(base_weight=_t(base.weight), layer_x=_t(layer(x)), base_x=_t(base(x)))
            step = "unmerge()"
            layer.unmerge()
            out["unmerged"] = dict(base_weight=_t(base.weight), layer_x=_t(layer(x)))
    except Exception as e:
        out["error"] = (step, type(e).__name__, str(e))
    return out
