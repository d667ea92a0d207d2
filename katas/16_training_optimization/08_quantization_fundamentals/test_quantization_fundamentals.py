"""Quantization fundamentals: scale and zero-point formulas; q against torch's own quantize_per_tensor /
quantize_per_channel given your scale and zero-point; zero exactly representable; all-zero data; per
channel on several axes; SQNR's formula, and per-channel beating per-tensor on outlier channels."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

from kata.testing import assert_close, assert_equal


def expected_params(x, scheme, axis):
    if axis is None:
        red = lambda t, f: f(t.reshape(-1))
    else:
        dims = [d for d in range(x.dim()) if d != axis % x.dim()]
        red = lambda t, f: f(t, dim=dims, keepdim=True) if dims else t.clone()
    if scheme == "symmetric":
        s = red(x.abs(), torch.amax) / 127
        s = torch.where(s > 0, s, torch.ones_like(s))
        return s, torch.zeros_like(s, dtype=torch.int64)
    lo = torch.clamp(red(x, torch.amin), max=0.0)
    hi = torch.clamp(red(x, torch.amax), min=0.0)
    s = (hi - lo) / 255
    s = torch.where(s > 0, s, torch.ones_like(s))
    return s, torch.clamp(torch.round(-lo / s), 0, 255).to(torch.int64)


def torch_q(x, scale, zp, scheme, axis):
    dt = torch.qint8 if scheme == "symmetric" else torch.quint8
    if axis is None:
        q = torch.quantize_per_tensor(x, float(scale), int(zp), dt).int_repr()
    else:
        q = torch.quantize_per_channel(x, scale.reshape(-1).double(), zp.reshape(-1), axis % x.dim(), dt).int_repr()
    return q.clamp(-127, 127) if scheme == "symmetric" else q


def check(mod, x, scheme, axis, what):
    q, scale, zp = mod.quantize(x.clone(), scheme, axis) if axis is not None else mod.quantize(x.clone(), scheme)
    want_s, want_zp = expected_params(x, scheme, axis)
    want_dtype = torch.int8 if scheme == "symmetric" else torch.uint8
    assert q.dtype == want_dtype and q.shape == x.shape, (
        f"quantize({what}, {scheme!r}, axis={axis}): q must be {want_dtype} of x's shape {tuple(x.shape)}, got {q.dtype} {tuple(q.shape)}")
    scale, zp = torch.as_tensor(scale), torch.as_tensor(zp)
    assert tuple(scale.shape) == tuple(want_s.shape), (
        f"quantize({what}, {scheme!r}, axis={axis}): scale has shape {tuple(scale.shape)}, expected {tuple(want_s.shape)} "
        "(0-d per tensor; per channel, x's number of dimensions with size 1 except along axis)")
    if not torch.isfinite(scale).all():
        raise AssertionError(f"quantize({what}, {scheme!r}, axis={axis}): scale holds NaN/inf. All-zero data would give "
                             "scale 0 (and 0 / 0 = NaN): use scale 1 there.")
    try:
        assert_close(scale, want_s, rtol=1e-6, atol=0, what="scale", on=f"{what}, {scheme}, axis={axis}")
    except AssertionError as e:
        hint = ("per channel, reduce over every dimension except `axis`" if axis is not None else
                "symmetric: max|x| / 127; asymmetric: (hi - lo) / 255 with lo = min(min x, 0), hi = max(max x, 0)")
        raise AssertionError(f"{e}\n  {hint}") from None
    assert_equal(zp.to(torch.int64), want_zp, what="zero_point", on=f"{what}, {scheme}, axis={axis} "
                 "(round(-lo / scale) clamped to [0, 255]; lo includes 0)")
    want_q = torch_q(x, want_s, want_zp, scheme, axis)
    try:
        assert_equal(q.to(torch.int64), want_q.to(torch.int64), what="q", on=f"{what}, {scheme}, axis={axis}")
    except AssertionError as e:
        hint = ("Round x / scale to the nearest integer (torch.round), then add zero_point and clamp; a plain integer "
                "cast truncates toward zero.")
        raise AssertionError(f"{e}\n  {hint}") from None
    return q, scale, zp


@pytest.mark.parametrize("scheme", ["symmetric", "asymmetric"])
def test_per_tensor(kata, scheme):
    g = torch.Generator().manual_seed(0)
    check(kata.module(), torch.randn(17, 23, generator=g) * 3 + 1, scheme, None, "randn(17, 23) * 3 + 1")


@pytest.mark.parametrize("scheme", ["symmetric", "asymmetric"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_per_channel(kata, scheme, axis):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 9, 5, generator=g) * torch.linspace(0.1, 10, 9)[None, :, None]
    check(kata.module(), x, scheme, axis, "a (6, 9, 5) tensor with channel scales 0.1..10 along dim 1")


def test_zero_is_exact(kata):
    # Padding and ReLU outputs are exact zeros: they must dequantize to exactly 0.
    mod = kata.module()
    x = torch.cat([torch.zeros(10), torch.linspace(0.3, 5.0, 30)])  # all >= 0: lo must still be 0, not 0.3
    q, s, zp = check(mod, x, "asymmetric", None, "ten zeros then linspace(0.3, 5, 30)")
    back = mod.dequantize(q, s, zp)
    assert_equal(back[:10], torch.zeros(10), what="dequantized zeros", on="asymmetric: 0 must be exactly representable "
                 "(widen the range to include 0, so that zero_point is an integer standing for 0.0)")


@pytest.mark.parametrize("scheme", ["symmetric", "asymmetric"])
def test_all_zero(kata, scheme):
    mod = kata.module()
    x = torch.zeros(4, 6)
    x[1] = torch.linspace(-1, 2, 6)
    check(mod, torch.zeros(5), scheme, None, "an all-zero tensor")
    q, s, zp = check(mod, x, scheme, 0, "a (4, 6) tensor whose rows 0, 2, 3 are all zero (per channel, axis 0)")
    assert torch.isfinite(mod.dequantize(q, s, zp)).all()


@settings(max_examples=40)
@given(shape=st.lists(st.integers(1, 7), min_size=1, max_size=3).map(tuple), scheme=st.sampled_from(["symmetric", "asymmetric"]),
       per_channel=st.booleans(), shift=st.sampled_from([0.0, 2.0, -5.0]), seed=st.integers(0, 2**31 - 1))
def test_round_trip_error(kata, shape, scheme, per_channel, shift, seed):
    mod = kata.module()
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed)) * 4 + shift
    axis = len(shape) - 1 if per_channel else None
    q, s, zp = check(mod, x, scheme, axis, f"randn{shape} * 4 + {shift} (seed {seed})")
    back = mod.dequantize(q, s, zp)
    assert back.dtype == torch.float32 and back.shape == x.shape
    assert bool(((back - x).abs() <= s / 2 * (1 + 1e-5) + 1e-6).all()), (
        "dequantize(quantize(x)) must be within half a step (scale / 2) of x")


def test_sqnr(kata):
    mod = kata.module()
    x = torch.tensor([3.0, -4.0, 0.0])
    assert math.isinf(mod.sqnr_db(x, x.clone())), "sqnr_db(x, x) must be inf (no noise)"
    got = mod.sqnr_db(x, torch.tensor([3.0, -4.0, 0.5]))
    assert abs(got - 10 * math.log10(25 / 0.25)) < 1e-9, (
        f"sqnr_db([3, -4, 0], [3, -4, 0.5]) = {got}, expected 10 log10(25 / 0.25) = 20 dB (power ratio, not amplitude)")


def test_per_channel_beats_per_tensor(kata):
    # Weights whose output channels differ in scale by 100x: one scale for all wastes levels on the small ones.
    mod = kata.module()
    g = torch.Generator().manual_seed(3)
    w = torch.randn(32, 64, generator=g) * torch.logspace(-2, 0, 32)[:, None]
    pt = mod.dequantize(*mod.quantize(w, "symmetric"))
    pc = mod.dequantize(*mod.quantize(w, "symmetric", 0))
    a, b = mod.sqnr_db(w, pt), mod.sqnr_db(w, pc)
    kata.record(sqnr_per_tensor=round(a, 2), sqnr_per_channel=round(b, 2))
    assert b > a + 6, f"per-channel SQNR {b:.1f} dB should beat per-tensor {a:.1f} dB by well over 6 dB on these weights"
