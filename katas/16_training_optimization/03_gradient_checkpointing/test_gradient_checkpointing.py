"""Gradient checkpointing: outputs and gradients (inputs and parameters, float64) equal to the plain
run, with dropout inside, with inputs that do not require grad, recomputation counted, uneven segments;
then a count of the bytes saved for backward."""
import pytest
import torch
from torch import nn

from kata.testing import assert_close

T64 = dict(atol=1e-12, rtol=1e-10)


def mlp(n_layers, width, seed, dropout=0.0, dtype="float64"):
    # (support/probes.py builds the same layers from the same arguments, for the learner's run)
    torch.manual_seed(seed)
    layers = []
    for _ in range(n_layers):
        layers.append(nn.Sequential(nn.Linear(width, width), nn.GELU(), nn.Dropout(dropout)).to(getattr(torch, dtype)))
    return layers


def grads(layers):
    return [p.grad.clone() if p.grad is not None else None for l in layers for p in l.parameters()]


def plain(layers, x):
    for l in layers:
        x = l(x)
    return x


def compare_runs(kata, mod, spec, x, seed, what, segments=None):
    """Run plain here and checkpointed (in the probe, on the same layers mlp(*spec)) with the same RNG
    seed; compare outputs and gradients. segments: checkpoint_sequential(layers, segments, x) instead of
    checkpoint(plain over the layers, x). Returns how many times checkpoint_sequential called checkpoint."""
    layers = mlp(*spec)
    g_out = torch.randn(x.shape[0], 19, dtype=torch.float64, generator=torch.Generator().manual_seed(seed + 1))
    xa = x.detach().clone().requires_grad_(x.requires_grad)
    torch.manual_seed(seed)
    ya = plain(layers, xa)
    ya.backward(g_out)
    want_g, want_x = grads(layers), (xa.grad.clone() if x.requires_grad else None)
    got = kata.probe("probes.py").run(mod, spec, x, seed, g_out, segments)
    assert_close(got["y"], ya, **T64, what="output", on=what)
    if not got["requires_grad"]:
        raise AssertionError(f"{what}: the output does not require grad, so backward cannot reach the parameters inside "
                             "fn. When no argument requires grad, autograd skips your Function: give apply() an extra "
                             "input that requires grad (an empty tensor will do).")
    if got["backward_error"]:
        name, msg = got["backward_error"]
        raise AssertionError(f"{what}: output.backward(grad) raised {name}: {msg}")
    for i, (a, b) in enumerate(zip(got["grads"], want_g)):
        if a is None:
            raise AssertionError(f"{what}: parameter {i} got no gradient. In backward, recompute fn under "
                                 "torch.enable_grad() and call torch.autograd.backward(output, grad_output): that fills "
                                 "the .grad of every parameter used inside fn.")
        try:
            assert_close(a, b, **T64, what=f"gradient of parameter {i}", on=what)
        except AssertionError as e:
            hint = ("\n  With dropout, the recompute must draw the same masks: save torch.get_rng_state() in forward, "
                    "set it before recomputing, and restore the outer state afterwards." if "dropout" in what else "")
            raise AssertionError(f"{e}{hint}") from None
    if x.requires_grad:
        assert got["x_grad"] is not None, f"{what}: the input got no gradient: backward must return grad for each arg"
        assert_close(got["x_grad"], want_x, **T64, what="input gradient", on=what)
    return got["checkpoint_calls"]


def test_single_checkpoint(kata):
    mod = kata.module()
    spec = (3, 19, 0)
    mlp(*spec)
    x = torch.randn(5, 19, dtype=torch.float64).requires_grad_(True)
    compare_runs(kata, mod, spec, x, 1, "checkpoint(3 layers, x)")


def test_with_dropout(kata):
    mod = kata.module()
    spec = (3, 19, 2, 0.3)
    mlp(*spec)
    x = torch.randn(6, 19, dtype=torch.float64).requires_grad_(True)
    compare_runs(kata, mod, spec, x, 3, "checkpoint of 3 layers with dropout p=0.3 (training mode)")


def test_rng_stream_continues(kata):
    # After backward, the global RNG must be where it would be without checkpointing.
    mod = kata.module()
    spec = (2, 19, 4, 0.5)
    layers = mlp(*spec)
    x = torch.randn(3, 19, dtype=torch.float64, requires_grad=True)
    torch.manual_seed(5)
    plain(layers, x).sum().backward()
    want = torch.rand(4)
    got = kata.probe("probes.py").rng_after(mod, spec, x, 5, 4)  # the same, through checkpoint
    assert torch.equal(got, want), ("after forward and backward through checkpoint, the global RNG is not where it would be "
                                    "without checkpointing: restore the outer RNG state after the recompute")


def test_input_without_grad(kata):
    mod = kata.module()
    spec = (2, 19, 6)
    mlp(*spec)
    x = torch.randn(4, 19, dtype=torch.float64)  # data: does not require grad
    compare_runs(kata, mod, spec, x, 7,
                 "checkpoint(2 layers, x) with x not requiring grad (parameters still need gradients)")


def test_two_inputs(kata):
    mod = kata.module()
    w = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    a = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    # checkpoint(fn, a, b).sum().backward() with fn(a, b) = tanh(a @ w) * b, in the probe
    ga, gb, gw = kata.probe("probes.py").two_inputs(mod, w, a, b)["grads"]
    (torch.tanh(a @ w) * b).sum().backward()
    for name, g in (("a", ga), ("b", gb), ("w (a tensor captured by fn)", gw)):
        assert g is not None, f"checkpoint(fn, a, b), fn = tanh(a @ w) * b: after backward, {name} has no gradient"
    assert_close(ga, a.grad, **T64, what="grad of a", on="checkpoint(fn, a, b), fn = tanh(a @ w) * b")
    assert_close(gb, b.grad, **T64, what="grad of b", on="checkpoint(fn, a, b)")
    assert_close(gw, w.grad, **T64, what="grad of w (a tensor captured by fn)", on="checkpoint(fn, a, b)")


@pytest.mark.perf
def test_recomputes_once(kata):
    # The trade: forward records nothing, backward recomputes fn once, with grad.
    mod = kata.module()
    w = torch.randn(4, 4, dtype=torch.float64, requires_grad=True)
    a = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    # fn(a, b) = tanh(a @ w) * b logs torch.is_grad_enabled() at each call; out = checkpoint(fn, a, b),
    # then out.sum().backward(), in the probe
    got = kata.probe("probes.py").two_inputs(mod, w, a, b, log_grad_mode=True)
    calls = got["calls_forward"]
    assert len(calls) == 1 and calls[0] is False, (
        f"forward ran fn {len(calls)} time(s) with grad mode {calls}: run it once, under torch.no_grad() (a custom "
        "Function's forward already is), so that autograd records nothing")
    if got["backward_error"]:
        name, msg = got["backward_error"]
        raise AssertionError(f"checkpoint(fn, a, b).sum().backward() raised {name}: {msg}")
    calls = got["calls_total"]
    assert len(calls) == 2 and calls[1] is True, (
        f"fn ran {len(calls)} times in total (grad mode {calls}); expected twice: once in forward without grad, once "
        "in backward with grad enabled (torch.enable_grad())")


@pytest.mark.parametrize("n,segments", [(7, 3), (4, 4), (5, 1)])
def test_checkpoint_sequential(kata, n, segments):
    mod = kata.module()
    spec = (n, 19, 8 + n, 0.1)
    mlp(*spec)
    x = torch.randn(4, 19, dtype=torch.float64).requires_grad_(True)
    calls = compare_runs(kata, mod, spec, x, 9 + n,
                         f"checkpoint_sequential({n} layers with dropout, {segments} segments)", segments=segments)
    assert calls == segments, f"checkpoint_sequential({n} layers, {segments} segments) called checkpoint {calls} times"


# ------------------------------------------------------------------------- performance (a count)
# Saved-tensor hooks see every tensor autograd keeps for backward. 8 layers (Linear, GELU) of width 256
# on a batch of 64, in 4 segments: checkpointing keeps the 4 segment inputs (64 KiB each). Without it,
# each layer keeps its Linear input and its GELU input: 16 activations.


@pytest.mark.perf
def test_saved_bytes(kata):
    mod = kata.module()
    spec = (8, 256, 10, 0.0, "float32")
    mlp(*spec)
    x = torch.randn(64, 256, requires_grad=True)
    # the bytes autograd saves (parameters aside) in checkpoint_sequential(layers, 4, x), in the probe
    saved = kata.probe("probes.py").saved_bytes(mod, spec, x, 4)
    act = 64 * 256 * 4
    budget = 4 * act
    kata.record(saved_bytes=saved, budget_bytes=budget, activations_saved=round(saved / act, 2))
    assert saved <= budget, (
        f"the forward pass saved {saved:,} bytes of activations for backward ({saved / act:.1f} activations of "
        f"{act:,} bytes); the budget is {budget:,}: the 4 segment inputs. Inside checkpoint, run fn under "
        "torch.no_grad() and save only its inputs with ctx.save_for_backward.")
