"""Float formats: decode every bit pattern of every format against torch's own dtypes; encode random
float32 bit patterns, every representable value, every midpoint between neighbours (the ties) and one
float32 ulp either side of each, boundaries and specials; bit-exact against torch's casts. Saturation
against torch's cast of a clamped input. NaN is compared as NaN-ness (payloads may differ)."""
import pytest
import torch

from kata.toolkit import OpCensus

DTYPE = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp8_e4m3": torch.float8_e4m3fn, "fp8_e5m2": torch.float8_e5m2}
BITS = {"fp16": 16, "bf16": 16, "fp8_e4m3": 8, "fp8_e5m2": 8}
MAX = {"fp16": 65504.0, "bf16": 3.3895313892515355e38, "fp8_e4m3": 448.0, "fp8_e5m2": 57344.0}
FMTS = list(DTYPE)
LOW = set(DTYPE.values())


def torch_bits(x, fmt):
    t = x.to(DTYPE[fmt])
    if BITS[fmt] == 8:
        return t.view(torch.uint8).to(torch.int64)
    return t.view(torch.int16).to(torch.int64) & 0xFFFF


def all_codes(fmt):
    return torch.arange(2 ** BITS[fmt], dtype=torch.int64)


def torch_decode(codes, fmt):
    if BITS[fmt] == 8:
        return codes.to(torch.uint8).view(DTYPE[fmt]).float()
    return codes.to(torch.int32).to(torch.int16).view(DTYPE[fmt]).float()


def describe_code(c, fmt):
    E = {"fp16": 5, "bf16": 8, "fp8_e4m3": 4, "fp8_e5m2": 5}[fmt]
    M = BITS[fmt] - 1 - E
    c = int(c)
    return f"0x{c:0{BITS[fmt] // 4}x} (sign {c >> (E + M)}, exponent field {(c >> M) & (2 ** E - 1)}, mantissa {c & (2 ** M - 1)})"


def check_encode(mod, x, fmt, what, saturate=False):
    got = mod.encode(x.clone(), fmt, saturate=saturate) if saturate else mod.encode(x.clone(), fmt)
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        raise AssertionError(f"encode({what}, {fmt!r}) must return an integer tensor of x's shape {tuple(x.shape)}, got "
                             f"{tuple(getattr(got, 'shape', ())) or type(got).__name__}")
    got = got.to(torch.int64) & (2 ** BITS[fmt] - 1)
    ref_in = x.clamp(-MAX[fmt], MAX[fmt]) if saturate else x
    want = torch_bits(ref_in, fmt)
    nan = torch.isnan(ref_in)
    got_nan = torch.isnan(torch_decode(got, fmt))
    bad = torch.where((got != want) & ~nan | (nan & ~got_nan))[0]
    if bad.numel():
        lines = []
        for i in bad[:6].tolist():
            xi = float(x[i])
            lines.append(f"    x = {xi!r} (float32 bits 0x{int(x[i:i + 1].view(torch.int32)) & 0xFFFFFFFF:08x}): got "
                         f"{describe_code(got[i], fmt)} = {float(torch_decode(got[i:i + 1], fmt))!r}, expected "
                         f"{describe_code(want[i], fmt)} = {float(torch_decode(want[i:i + 1], fmt))!r}")
        raise AssertionError(f"encode(x, {fmt!r}{', saturate=True' if saturate else ''}) on {what}: {bad.numel()} of "
                             f"{x.numel()} values wrong:\n" + "\n".join(lines) + "\n  " + diagnose(x[bad], got[bad], want[bad], fmt))


def diagnose(x, got, want, fmt):
    gv, wv = torch_decode(got, fmt).double(), torch_decode(want, fmt).double()
    xd = x.double()
    if torch.isinf(gv).any() and not torch.isinf(wv[torch.isinf(gv)]).any():
        return ("You returned inf where a finite value was expected: with saturate=True (and always for e4m3, which has no "
                "inf) overflow gives the largest finite value of the same sign.")
    if (gv.abs() < wv.abs()).all() and ((wv - xd).abs() <= (gv - xd).abs()).all() and not (gv == 0).all():
        return ("Every wrong result is smaller in magnitude than expected: that is truncation. Round to nearest: look at the "
                "bits you drop; above half an ulp round up, below round down.")
    if ((gv == 0) & (wv != 0)).any():
        return ("You returned zero where a subnormal was expected: below the smallest normal, keep the exponent field at 0 "
                "and round |x| to a multiple of the smallest subnormal, 2^(1 - bias - mantissa_bits).")
    if (gv.abs() < wv.abs()).all() and ((wv - xd).abs() <= (gv - xd).abs()).all():
        return ("Every wrong result is smaller in magnitude than expected: that is truncation. Round to nearest: look at the "
                "bits you drop; above half an ulp round up, below round down.")
    if ((gv - xd).abs() == (wv - xd).abs()).all():
        return ("The wrong values are exact ties (x halfway between two neighbours): round to the neighbour whose last "
                "mantissa bit is 0 (ties to even), not away from zero.")
    return "Compare your steps on the first value above: exponent, shift, rounding, carry into the exponent, overflow."


def test_decode_every_pattern(kata):
    for fmt in FMTS:
        _test_decode_every_pattern(kata, fmt)


def _test_decode_every_pattern(kata, fmt):
    mod = kata.module()
    codes = all_codes(fmt)
    got = mod.decode(codes, fmt)
    want = torch_decode(codes, fmt)
    got = got.to(torch.float32)
    nan_w, nan_g = torch.isnan(want), torch.isnan(got)
    bad = torch.where((nan_w != nan_g) | (~nan_w & (got != want)) | (~nan_w & (torch.signbit(got) != torch.signbit(want))))[0]
    if bad.numel():
        rows = "\n".join(f"    {describe_code(c, fmt)}: got {float(got[c])!r}, expected {float(want[c])!r}" for c in bad[:6].tolist())
        raise AssertionError(f"decode(bits, {fmt!r}): {bad.numel()} of {codes.numel()} bit patterns wrong:\n{rows}\n  "
                             "Normal: (1 + m / 2^M) * 2^(e - bias); exponent field 0: m / 2^M * 2^(1 - bias) (subnormal); "
                             "all-ones exponent: inf (m = 0) or NaN, except e4m3, where only S.1111.111 is NaN.")


def test_encode_every_value_round_trips(kata):
    for fmt in FMTS:
        _test_encode_every_value_round_trips(kata, fmt)


def _test_encode_every_value_round_trips(kata, fmt):
    mod = kata.module()
    vals = torch_decode(all_codes(fmt), fmt)
    vals = vals[~torch.isnan(vals)]
    check_encode(mod, vals, fmt, "every representable value (each must encode to itself)")


def midpoints(fmt):
    vals = torch_decode(all_codes(fmt), fmt)
    pos = torch.unique(vals[torch.isfinite(vals) & (vals >= 0)]).double()
    mids = ((pos[1:] + pos[:-1]) / 2).float()
    up = torch.nextafter(mids, torch.tensor(float("inf")))
    down = torch.nextafter(mids, torch.tensor(0.0))
    above_max = torch.tensor([MAX[fmt] * (1 + 2.0 ** -(BITS[fmt] - 5)), MAX[fmt] * 1.001, MAX[fmt] * 4])
    x = torch.cat([mids, up, down, above_max.float()])
    return torch.cat([x, -x])


def test_encode_ties_and_neighbours(kata):
    for fmt in FMTS:
        _test_encode_ties_and_neighbours(kata, fmt)


def _test_encode_ties_and_neighbours(kata, fmt):
    # Exactly halfway between two neighbours: ties go to even. One float32 ulp either side: no tie.
    check_encode(kata.module(), midpoints(fmt), fmt, "midpoints between neighbouring values, and one float32 ulp either side")


def test_encode_random_bits(kata):
    for fmt in FMTS:
        _test_encode_random_bits(kata, fmt)


def _test_encode_random_bits(kata, fmt):
    g = torch.Generator().manual_seed(BITS[fmt] * 7 + len(fmt))
    x = torch.randint(-2 ** 31, 2 ** 31 - 1, (30000,), generator=g, dtype=torch.int64).to(torch.int32).view(torch.float32)
    y = torch.randn(30000, generator=g) * torch.exp2(torch.randint(-30, 20, (30000,), generator=g).float())
    check_encode(kata.module(), torch.cat([x, y]), fmt, "random float32 bit patterns and random magnitudes 2^-30..2^20")


def test_encode_specials(kata):
    for fmt in FMTS:
        _test_encode_specials(kata, fmt)


def _test_encode_specials(kata, fmt):
    tiny = float(torch_decode(torch.tensor([1]), fmt))
    x = torch.tensor([0.0, -0.0, float("inf"), float("-inf"), float("nan"), tiny, tiny / 2, tiny * 0.50001, tiny / 4,
                      1e-45, -1e-45, 1.0, -1.0, MAX[fmt], -MAX[fmt], 3.4028234663852886e38, -3.4028234663852886e38])
    check_encode(kata.module(), x, fmt, f"zeros, infinities, NaN, the smallest subnormal ({tiny:g}) and fractions of it, "
                 "float32 subnormals, the largest finite value, float32's largest")


def test_saturate(kata):
    for fmt in FMTS:
        _test_saturate(kata, fmt)


def _test_saturate(kata, fmt):
    mod = kata.module()
    g = torch.Generator().manual_seed(5)
    x = torch.cat([midpoints(fmt), torch.tensor([float("inf"), float("-inf"), float("nan")]),
                   torch.randn(5000, generator=g) * MAX[fmt]])
    check_encode(mod, x, fmt, "values around and beyond the largest finite value, and +-inf", saturate=True)


def test_no_low_precision_tensors(kata):
    mod = kata.module()
    x = torch.randn(64, generator=torch.Generator().manual_seed(6))
    with OpCensus() as m:
        for fmt in FMTS:
            mod.decode(mod.encode(x, fmt), fmt)
    seen = sorted(made for made in m.made if any(made.endswith(f"-> {dt}") for dt in LOW))
    assert not seen, (f"your code created low-precision tensors ({', '.join(seen[:4])}): that is torch "
                        "doing the rounding for you. Work on the float32 bits with integer arithmetic.")
