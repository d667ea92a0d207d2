"""Dynamic loss scaling: the scale's trajectory over patterns of overflows (against a model of the rule
and against torch.amp.GradScaler), unscaling, skipped steps leaving weights untouched, and an fp16
gradient that underflows without scaling and survives with it."""
import pytest
import torch

from kata.testing import assert_close


def model_trajectory(pattern, init, growth, backoff, interval):
    scale, good, out = init, 0, []
    for inf in pattern:
        if inf:
            scale, good = scale * backoff, 0
        else:
            good += 1
            if good == interval:
                scale, good = scale * growth, 0
        out.append(scale)
    return out


PATTERNS = {
    "all good": [False] * 10,
    "overflow every 4th": [i % 4 == 3 for i in range(16)],
    "overflow burst then calm": [True] * 3 + [False] * 9 + [True] + [False] * 7,
    "alternating": [bool(i % 2) for i in range(12)],
    "overflow just before growth": [False, False, True, False, False, False, False],
}


@pytest.mark.parametrize("name", list(PATTERNS))
def test_scale_trajectory(kata, name):
    mod = kata.module()
    pattern = PATTERNS[name]
    s = mod.DynamicLossScaler(init_scale=1024.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=3)
    got = []
    for inf in pattern:
        s.update(inf)
        got.append(float(s.scale))
    want = model_trajectory(pattern, 1024.0, 2.0, 0.5, 3)
    if got != want:
        i = next(j for j, (a, b) in enumerate(zip(got, want)) if a != b)
        raise AssertionError(
            f"scale after each update, pattern '{name}' (True = overflow), init 1024, growth 2, backoff 0.5, "
            f"interval 3:\n    overflow: {pattern}\n    got:      {got}\n    expected: {want}\n  first difference after "
            f"update {i}. An overflow halves the scale AND restarts the count of good steps; the scale doubles after "
            "3 good steps in a row (then the count restarts).")


def test_unscale(kata):
    mod = kata.module()
    # Parameters a, b and c (c has no gradient), unscaled at scale 256; then a's gradient holds a bad value.
    a0, b0 = torch.tensor([256.0, -512.0, 128.0]), torch.tensor([2.0, 0.0])
    bads = (float("inf"), float("nan"), float("-inf"))
    calls = [([], [0, 1, 2])] + [([(0, torch.tensor([1.0, bad, 1.0]))], [0, 1]) for bad in bads]
    out = kata.probe("probes.py").unscale(mod, 256.0, [a0, b0, None], calls)
    found, (a, b, c) = out[0]
    assert found is False or found == False, f"unscale_ with finite gradients returned {found!r}, expected False"  # noqa: E712
    assert_close(a, torch.tensor([1.0, -2.0, 0.5]), atol=0, what="a.grad after unscale_", on="scale 256")
    assert_close(b, torch.tensor([2.0 / 256, 0.0]), atol=0, what="b.grad after unscale_", on="scale 256")
    assert c is None, "unscale_ must skip parameters whose grad is None (and leave them None)"
    for bad, (found, _) in zip(bads, out[1:]):
        assert bool(found), f"unscale_ must return True when a gradient holds {bad}"


def _train(kata, mod, grads_seq, lr=0.1):
    # w = [1, -2, 3], SGD(lr), the learner's scaler (init 8, growth 2 every 2 good steps, backoff 0.5):
    # per step (stepped, scale, weights afterwards), from the probe (the optimizer and graph stay there).
    return kata.probe("probes.py").train(mod, torch.tensor([1.0, -2.0, 3.0]), grads_seq, lr, dict(
        init_scale=8.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=2))


def test_matches_torch_grad_scaler(kata):
    mod = kata.module()
    inf = float("inf")
    grads = [torch.tensor(x) for x in ([1.0, 2.0, 3.0], [0.5, 0.5, 0.5], [inf, 0.0, 1.0], [1.0, 0.0, -1.0],
                                       [2.0, 2.0, 2.0], [float("nan"), 1.0, 1.0], [1.0, 1.0, 1.0], [0.25, 0.0, 0.0])]
    got = _train(kata, mod, grads)
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    opt = torch.optim.SGD([w], lr=0.1)
    ref = torch.amp.GradScaler("cpu", init_scale=8.0, growth_factor=2.0, backoff_factor=0.5, growth_interval=2)
    for i, (g, (stepped, scale, wv)) in enumerate(zip(grads, got)):
        opt.zero_grad()
        ref.scale((w * g).sum()).backward()
        ref.step(opt)
        ref.update()
        want_scale = float(ref.get_scale())
        assert scale == want_scale, (f"after step {i} (gradient {g.tolist()}) your scale is {scale}, torch's GradScaler "
                                     f"has {want_scale} (init 8, growth 2 every 2 good steps, backoff 0.5)")
        assert torch.isfinite(wv).all(), (f"after step {i} (gradient {g.tolist()}) the weights hold {wv.tolist()}: a step "
                                          "with inf/NaN gradients must be skipped (optimizer.step() not called)")
        assert_close(wv, w.detach(), atol=1e-7, what=f"weights after step {i}", on=f"gradient {g.tolist()}, SGD lr 0.1")
        assert stepped == bool(torch.isfinite(g).all()), (
            f"step {i} (gradient {g.tolist()}): step() returned {stepped}; expected {bool(torch.isfinite(g).all())} "
            "(True only when the optimizer stepped)")


def test_fp16_underflow_is_rescued(kata):
    # A gradient of 1e-8 is 0 in fp16 (the smallest subnormal is 6e-8). Scaled by 2^16 it is 6.6e-4, fine.
    mod = kata.module()
    g_true = torch.full((4,), 1e-8)
    # w = ones(4); backward of scale_loss((w * g_true).sum()) at scale 2^16; the gradient stored in fp16
    # (what an fp16 backward would have stored); then unscale_([w]).
    found, grad = kata.probe("probes.py").fp16_backward(mod, 2.0 ** 16, torch.ones(4), g_true)
    assert not found
    assert_close(grad, g_true, rtol=1e-3, atol=0, what="unscaled gradient",
                 on="true gradient 1e-8, stored in fp16 after scaling by 2^16")


def test_recovers_from_overflow_then_grows(kata):
    mod = kata.module()
    s = mod.DynamicLossScaler(init_scale=2.0 ** 20, growth_interval=5)
    # A "model" whose scaled gradient overflows fp16 (65504) when scale * 1.0 > 65504.
    scales = []
    for _ in range(30):
        found = s.scale * 1.0 > 65504
        s.update(found)
        scales.append(s.scale)
    assert scales[4] == 2.0 ** 15, (f"starting at 2^20 with overflow whenever scale > 65504, after 5 updates the scale "
                                   f"should have backed off to 2^15 = 32768; got {scales[4]} (trajectory {scales[:8]})")
    assert max(scales[5:]) <= 2.0 ** 16 and min(scales[5:]) >= 2.0 ** 15, (
        f"after reaching a safe scale, it should oscillate between 2^15 and 2^16 (grow after 5 good steps, back off "
        f"on the next overflow); got {scales}")
