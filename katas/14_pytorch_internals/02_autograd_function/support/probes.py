"""What the SiLU tests do beside the learner's silu(): autograd graphs cannot cross, so the calls on
inputs that require grad, the backward passes, saved-tensor hooks, the backward spy and op census,
gradcheck and the storage count run here, and what came out (outputs, gradients, node type names, op
lists, byte counts, (type name, message) of errors) goes back for the test to judge against its own
float64 reference. Under `kata grade` this file runs in the learner's process (kata.probe); the checks
do not."""
import torch


def _error(e):
    return (type(e).__name__, str(e))


class _Stop(Exception):
    """A call of silu() gave nothing to go on with: the test reports it from the call's record."""


def _call(mod, x, calls):
    """y = silu(x), recorded in `calls`: y (detached) when a tensor, else other = (type name, repr);
    error = (type name, message) of an AttributeError it raised (ctx None); node = y.grad_fn's type
    name or None; yours = whether that is the node of the learner's SiLUFunction."""
    rec = dict(y=None, other=None, error=None, node=None, yours=False)
    calls.append(rec)
    try:
        y = mod.silu(x)
    except AttributeError as e:
        rec["error"] = _error(e)
        raise _Stop() from None
    except Exception as e:
        e._kata_forward = True  # raised as it is, not recorded
        raise
    if not isinstance(y, torch.Tensor):
        rec["other"] = (type(y).__name__, repr(y)[:80])
        raise _Stop()
    rec["y"] = y.detach().clone()
    fn = y.grad_fn
    rec["node"] = None if fn is None else type(fn).__name__
    rec["yours"] = fn is not None and type(fn) is mod.SiLUFunction._backward_cls
    return y


def _run(body):
    """body(calls) -> dict; calls records each silu() call. An error after the calls (backward, or a
    loss on a mis-shaped output) comes back as error = (type name, message)."""
    calls, out = [], {}
    try:
        out = body(calls) or {}
        out.setdefault("error", None)
    except _Stop:
        out = dict(error=None)
    except Exception as e:
        if getattr(e, "_kata_forward", False):
            raise
        out = dict(out, error=_error(e))
    out["calls"] = calls
    return out


def _grad(t):
    return None if t.grad is None else t.grad.clone()


def forward(mod, x):
    """silu(x) once (x as given, requiring grad or not)."""
    return _run(lambda calls: (_call(mod, x, calls), {})[1])


def backward(mod, x, g):
    """leaf = x.detach() requiring grad (the same memory and strides); y = silu(leaf); if y has a
    grad_fn, y.backward(g). Returns grad (leaf.grad), x_after and g_after (x and g afterwards)."""
    res = {}

    def body(calls):
        leaf = x.detach().requires_grad_(True)
        y = _call(mod, leaf, calls)
        if y.grad_fn is not None:
            y.backward(g)
        res["grad"] = _grad(leaf)

    out = _run(body)
    out.update(res, x_after=x.detach().clone(), g_after=g.detach().clone())
    out.setdefault("grad", None)
    return out


def gradcheck(mod, x):
    """torch.autograd.gradcheck(silu, (x,), eps=1e-6, atol=1e-6, rtol=1e-4): None when it passes, the
    (type name, message) of a RuntimeError it raised otherwise."""
    x = x.detach().requires_grad_(True)
    try:
        torch.autograd.gradcheck(mod.silu, (x,), eps=1e-6, atol=1e-6, rtol=1e-4, raise_exception=True)
    except RuntimeError as e:
        return _error(e)
    return None


def larger_graph(mod, x):
    """x a leaf: loss = silu(x).sum() * 3 + x.pow(2).sum(), backward (grads[0] = x.grad); then
    loss2 = silu(silu(x)).sum(), backward (grads[1] = x.grad, accumulated)."""
    res = dict(grads=[])

    def body(calls):
        leaf = x.detach().clone().requires_grad_(True)
        (_call(mod, leaf, calls).sum() * 3 + leaf.pow(2).sum()).backward()
        res["grads"].append(_grad(leaf))
        _call(mod, _call(mod, leaf, calls), calls).sum().backward()
        res["grads"].append(_grad(leaf))

    out = _run(body)
    out.update(res)
    return out


def strided(mod, case, base, w=None):
    """base a leaf. case "transposed": y = silu(base.t()), (y * w.t()).sum().backward(); "expanded":
    silu(base.expand(4, 6)).sum().backward(); "every_other": silu(base[:, ::2]).sum().backward().
    Returns grad (base.grad)."""
    res = dict(grad=None)

    def body(calls):
        leaf = base.detach().clone().requires_grad_(True)
        if case == "transposed":
            (_call(mod, leaf.t(), calls) * w.t()).sum().backward()
        elif case == "expanded":
            _call(mod, leaf.expand(4, 6), calls).sum().backward()
        else:
            _call(mod, leaf[:, ::2], calls).sum().backward()
        res["grad"] = _grad(leaf)

    out = _run(body)
    out.update(res)
    return out


def census(mod, x):
    """silu(x) once; when its node is the learner's, SiLUFunction.backward is wrapped in a counting spy
    and, under OpCensus, y = silu(x) then y.backward(ones): returns backward_calls, forward_ops and
    backward_ops (the aten ops of each)."""
    from kata.toolkit import OpCensus
    out = forward(mod, x)
    calls = out["calls"]
    if out["error"] or not calls[-1]["yours"]:
        return out
    x = x.detach().requires_grad_(True)
    spied = []
    original = mod.SiLUFunction.backward

    def spy(ctx, *grads):
        spied.append(1)
        return original(ctx, *grads)

    mod.SiLUFunction.backward = staticmethod(spy)
    try:
        with OpCensus() as log:
            y = mod.silu(x)
            forward_ops = list(log.ops)
            y.backward(torch.ones_like(y))
    finally:
        mod.SiLUFunction.backward = staticmethod(original)
    out.update(backward_calls=len(spied), forward_ops=forward_ops, backward_ops=list(log.ops[len(forward_ops):]))
    return out


def _holds_tensor(v) -> bool:
    if isinstance(v, torch.Tensor):
        return True
    if isinstance(v, (list, tuple, set)):
        return any(_holds_tensor(i) for i in v)
    if isinstance(v, dict):
        return any(_holds_tensor(i) for i in v.values())
    return False


def saved(mod, x, keep_values=False):
    """Under saved-tensor hooks, y = silu(x) (x a leaf requiring grad). Returns stashed (names of ctx
    attributes holding tensors, sorted, when y.grad_fn is the learner's node) and packed: for each tensor saved for backward, dtype (name),
    shape, storage (its storage's address), nbytes (its storage's bytes), is_x (the input's own
    storage) and, with keep_values, value (a copy, when shaped like x)."""
    x = x.detach().requires_grad_(True)
    packed = []

    def body(calls):
        with torch.autograd.graph.saved_tensors_hooks(lambda t: (packed.append(t), t)[1], lambda t: t):
            y = _call(mod, x, calls)
        yours = calls[-1]["yours"]  # (another node, torch's own, need not have a __dict__)
        return dict(stashed=sorted(k for k, v in vars(y.grad_fn).items() if _holds_tensor(v)) if yours else [])

    out = _run(body)
    xp = x.untyped_storage().data_ptr()
    out["packed"] = [dict(dtype=str(t.dtype).removeprefix("torch."), shape=list(t.shape),
                          storage=t.untyped_storage().data_ptr(), nbytes=t.untyped_storage().nbytes(),
                          is_x=t.untyped_storage().data_ptr() == xp,
                          value=t.detach().clone() if keep_values and t.shape == x.shape else None)
                     for t in packed]
    return out
