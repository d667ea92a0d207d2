"""What the checkpointing tests do beside the learner's checkpoint(): build the layers there from the
seed the test gives (modules and autograd graphs cannot cross), run the learner's code forward and
backward, and return what came out (outputs, gradients, grad-mode logs, byte counts, RNG draws) for the
test to judge against its own plain run. Under `kata grade` this file runs in the learner's process
(kata.probe); the checks do not."""
import torch
from torch import nn


def mlp(n_layers, width, seed, dropout=0.0, dtype="float64"):
    """The test's MLP: the same layers from the same seed."""
    torch.manual_seed(seed)
    return [nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Dropout(dropout)).to(getattr(torch, dtype))
            for _ in range(n_layers)]


def plain(layers, x):
    for l in layers:
        x = l(x)
    return x


def _error(e):
    return (type(e).__name__, str(e))


def run(mod, spec, x, seed, g_out, segments=None):
    """Layers mlp(*spec); x a fresh leaf (requiring grad as given); torch.manual_seed(seed); then the
    learner's checkpoint(plain over the layers, x), or checkpoint_sequential(layers, segments, x) when
    segments is given (counting its calls of checkpoint). If the output requires grad, backward(g_out).
    Returns a dict: y, requires_grad, backward_error ((type, message) or None), grads (each parameter's
    .grad or None, in order), x_grad, checkpoint_calls."""
    layers = mlp(*spec)
    xb = x.detach().clone().requires_grad_(x.requires_grad)
    calls = []
    original = mod.checkpoint
    if segments is not None:
        def spy(fn, *args):
            calls.append(1)
            return original(fn, *args)
        mod.checkpoint = spy
    try:
        torch.manual_seed(seed)
        if segments is None:
            yb = mod.checkpoint(lambda t: plain(layers, t), xb)
        else:
            yb = mod.checkpoint_sequential(layers, segments, xb)
    finally:
        mod.checkpoint = original
    out = dict(y=yb.detach().clone(), requires_grad=bool(yb.requires_grad), backward_error=None, grads=None,
               x_grad=None, checkpoint_calls=len(calls))
    if yb.requires_grad:
        try:
            yb.backward(g_out)
        except Exception as e:
            out["backward_error"] = _error(e)
            return out
        out["grads"] = [None if p.grad is None else p.grad.clone() for l in layers for p in l.parameters()]
        out["x_grad"] = None if xb.grad is None else xb.grad.clone()
    return out


def rng_after(mod, spec, x, seed, n):
    """Layers mlp(*spec); torch.manual_seed(seed); checkpoint(plain over the layers, x).sum().backward();
    then torch.rand(n): where the global RNG stands afterwards."""
    layers = mlp(*spec)
    x = x.detach().clone().requires_grad_(True)
    torch.manual_seed(seed)
    mod.checkpoint(lambda t: plain(layers, t), x).sum().backward()
    return torch.rand(n)


def two_inputs(mod, w, a, b, log_grad_mode=False):
    """Leaves w, a, b (requiring grad); checkpoint(fn, a, b) with fn(a, b) = tanh(a @ w) * b, then
    .sum().backward(). Returns a dict: grads (of a, b, w; None where none), and, with log_grad_mode,
    calls_forward / calls_total (torch.is_grad_enabled() at each call of fn, after forward and in all)
    and backward_error ((type, message) or None)."""
    w, a, b = (t.detach().clone().requires_grad_(True) for t in (w, a, b))
    calls = []

    def fn(a, b):
        if log_grad_mode:
            calls.append(torch.is_grad_enabled())
        return torch.tanh(a @ w) * b

    out = mod.checkpoint(fn, a, b)
    res = dict(calls_forward=list(calls), backward_error=None)
    try:
        out.sum().backward()
    except Exception as e:
        if not log_grad_mode:
            raise
        res["backward_error"] = _error(e)
    res["calls_total"] = list(calls)
    res["grads"] = [None if t.grad is None else t.grad.clone() for t in (a, b, w)]
    return res


def saved_bytes(mod, spec, x, segments):
    """Layers mlp(*spec); under saved-tensor hooks, checkpoint_sequential(layers, segments, x) with x a
    leaf requiring grad. Returns the bytes of the distinct storages (parameters excluded) autograd saved
    for backward in that forward; backward then runs once (its error, if any, is raised)."""
    layers = mlp(*spec)
    params = {p.untyped_storage().data_ptr() for l in layers for p in l.parameters()}
    x = x.detach().clone().requires_grad_(True)
    seen = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if ptr not in params:
            seen[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = mod.checkpoint_sequential(layers, segments, x)
    saved = sum(seen.values())
    y.sum().backward()
    return saved
