"""Float bits: exact, bit for bit, over millions of float32 values chosen to hit every bf16 and fp16
rounding boundary (ties, carries into the exponent, overflow, subnormals, NaN payloads), against numpy's
and torch's own casts."""
import numpy as np
import pytest
import torch

CDEF = """
void f32_fields(float f, uint32_t *sign, uint32_t *biased_exponent, uint32_t *fraction);
uint16_t f32_to_bf16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f);
float fp16_to_f32(uint16_t h);
void apply_from_f32(const uint32_t *xbits, long n, uint16_t *bf, uint16_t *h, uint32_t *sign, uint32_t *exp, uint32_t *frac);
void apply_to_f32(const uint16_t *h, long n, uint32_t *from_fp16, uint32_t *from_bf16);
"""


def lib_of(kata):
    return kata.library(CDEF, extra_sources=[kata.support("apply_float_bits.c")])


def f32(bits):
    return bits.view(np.float32)


def is_nan16(h, exp_mask):
    return ((h & exp_mask) == exp_mask) & ((h & ~np.uint16(0x8000) & ~exp_mask) != 0)


def compare16(name, x, got, want, exp_mask, fmt):
    """Bit-exact, except that any NaN is accepted where a NaN is expected (payloads and sign vary)."""
    __tracebackhide__ = True
    nan_want = is_nan16(want, exp_mask)
    bad = np.flatnonzero(np.where(nan_want, ~is_nan16(got, exp_mask), got != want))
    if bad.size:
        lines = [f"  x = {f32(x[i:i + 1])[0]!r} (bits 0x{int(x[i]):08x}): got 0x{int(got[i]):04x} "
                 f"({fmt(got[i])}), expected 0x{int(want[i]):04x} ({fmt(want[i])})" for i in bad[:6]]
        raise AssertionError(f"{name}: {bad.size} of {len(x)} values wrong\n" + "\n".join(lines) +
                             ("\n  ..." if bad.size > 6 else ""))


def half_str(h):
    return repr(np.uint16(h).view(np.float16))


def bf16_str(h):
    return repr(np.float32(np.uint32(int(h) << 16).view(np.float32)))


def check_from_f32(lib, x):
    x = np.ascontiguousarray(x, dtype=np.uint32)
    n = len(x)
    bf, h = np.full(n, 0xABCD, np.uint16), np.full(n, 0xABCD, np.uint16)
    sign, exp, frac = (np.full(n, 0xDEADBEEF, np.uint32) for _ in range(3))
    lib.apply_from_f32(x, n, bf, h, sign, exp, frac)
    for name, got, want in [("f32_fields sign", sign, x >> 31), ("f32_fields biased_exponent", exp, (x >> 23) & 0xFF),
                            ("f32_fields fraction", frac, x & 0x7FFFFF)]:
        bad = np.flatnonzero(got != want)
        if bad.size:
            i = bad[0]
            raise AssertionError(f"{name}: {bad.size} of {n} wrong; e.g. bits 0x{int(x[i]):08x}: got {int(got[i]):#x}, "
                                 f"expected {int(want[i]):#x}")
    with np.errstate(over="ignore", invalid="ignore"):
        want_h = f32(x).astype(np.float16).view(np.uint16)
    compare16("f32_to_fp16", x, h, want_h, np.uint16(0x7C00), half_str)
    want_bf = torch.from_numpy(f32(x).copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    compare16("f32_to_bf16", x, bf, want_bf, np.uint16(0x7F80), bf16_str)


def around(upper_bits, shift, lows, rng):
    """Every value of the upper bits, combined with each low pattern and one random low pattern."""
    base = np.arange(1 << upper_bits, dtype=np.uint32) << np.uint32(shift)
    parts = [base | np.uint32(lo) for lo in lows]
    parts.append(base | rng.integers(0, 1 << shift, size=base.size, dtype=np.uint32))
    return np.concatenate(parts)


def test_known_values(kata):
    lib = lib_of(kata)
    for f, bf, h in [(1.0, 0x3F80, 0x3C00), (-2.0, 0xC000, 0xC000), (0.0, 0x0000, 0x0000), (-0.0, 0x8000, 0x8000),
                     (65504.0, 0x4780, 0x7BFF), (65520.0, 0x4780, 0x7C00), (1 / 3, 0x3EAB, 0x3555),
                     (2.0 ** -24, 0x3380, 0x0001), (float("inf"), 0x7F80, 0x7C00)]:
        got_bf, got_h = lib.f32_to_bf16(f), lib.f32_to_fp16(f)
        assert got_bf == bf, f"f32_to_bf16({f!r}) = 0x{got_bf:04x}, expected 0x{bf:04x}"
        assert got_h == h, f"f32_to_fp16({f!r}) = 0x{got_h:04x}, expected 0x{h:04x}"
    assert lib.fp16_to_f32(0x3C00) == 1.0 and lib.bf16_to_f32(0x3F80) == 1.0


def test_every_bf16_boundary(kata):
    # All 2^16 upper halves, each with low halves 0, 1, just below half, exactly half (a tie), just
    # above, all ones, and one random: every bf16 value, every tie, every carry.
    rng = np.random.default_rng(16)
    check_from_f32(lib_of(kata), around(16, 16, [0, 1, 0x7FFF, 0x8000, 0x8001, 0xFFFF], rng))


def test_every_fp16_boundary(kata):
    # Sign, float32 exponent and the 10 fraction bits fp16 keeps (2^19 patterns), each with the 13 dropped
    # bits set to 0, 1, below half, exactly half, above half, all ones and random: every float32 exponent,
    # so overflow to inf, NaN, and fp16's subnormal range are all crossed.
    rng = np.random.default_rng(17)
    check_from_f32(lib_of(kata), around(19, 13, [0, 1, 0x0FFF, 0x1000, 0x1001, 0x1FFF], rng))


def test_fp16_subnormal_ties(kata):
    # fp16 subnormals are multiples of 2^-24. Exactly halfway between two of them must go to the even one;
    # a float32 one ulp either side must not.
    k = np.arange(0, 2049, dtype=np.float64)
    vals = np.concatenate([k * 2.0 ** -24, (k + 0.5) * 2.0 ** -24, (k + 0.25) * 2.0 ** -24]).astype(np.float32)
    b = vals.view(np.uint32)
    b = np.concatenate([b, b + 1, np.where(b > 0, b - 1, 0)]).astype(np.uint32)
    check_from_f32(lib_of(kata), np.concatenate([b, b | np.uint32(0x80000000)]))


def test_special_values(kata):
    specials = [0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001,
                0x7F80FFFF, 0x7FBFFFFF, 0x7F7FFFFF, 0x00000001, 0x007FFFFF, 0x00800000, 0x477FEFFF, 0x477FF000,
                0x477FF001, 0x387FC000, 0x387FE000, 0x33000000, 0x33000001, 0x32FFFFFF]
    check_from_f32(lib_of(kata), np.array(specials, dtype=np.uint32))


def test_random_floats(kata):
    rng = np.random.default_rng(32)
    check_from_f32(lib_of(kata), rng.integers(0, 1 << 32, size=1 << 21, dtype=np.uint64).astype(np.uint32))


def test_every_half_to_f32(kata):
    lib = lib_of(kata)
    h = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    a, b = np.full(h.size, 0xDEADBEEF, np.uint32), np.full(h.size, 0xDEADBEEF, np.uint32)
    lib.apply_to_f32(h, h.size, a, b)
    for name, got, want in [("fp16_to_f32", a, h.view(np.float16).astype(np.float32).view(np.uint32)),
                            ("bf16_to_f32", b, h.astype(np.uint32) << 16)]:
        gf, wf = got.view(np.float32), want.view(np.float32)
        bad = np.flatnonzero(np.where(np.isnan(wf), ~np.isnan(gf), got != want))
        if bad.size:
            i = bad[0]
            raise AssertionError(f"{name}: {bad.size} of 65536 halves wrong; e.g. 0x{int(h[i]):04x}: got {gf[i]!r} "
                                 f"(bits 0x{int(got[i]):08x}), expected {wf[i]!r} (bits 0x{int(want[i]):08x})")


def test_torch_agrees_on_fp16(kata):
    # The same casts torch uses in mixed precision: torch.float16 on a dense sample.
    rng = np.random.default_rng(5)
    x = (rng.standard_normal(1 << 18) * np.exp2(rng.integers(-30, 20, 1 << 18))).astype(np.float32)
    lib = lib_of(kata)
    n = x.size
    bf, h = np.zeros(n, np.uint16), np.zeros(n, np.uint16)
    junk = [np.zeros(n, np.uint32) for _ in range(3)]
    lib.apply_from_f32(x.view(np.uint32), n, bf, h, *junk)
    want = torch.from_numpy(x).to(torch.float16).view(torch.int16).numpy().view(np.uint16)
    compare16("f32_to_fp16 (against torch)", x.view(np.uint32), h, want, np.uint16(0x7C00), half_str)
