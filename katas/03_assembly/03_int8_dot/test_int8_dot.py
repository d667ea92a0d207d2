"""Exact int8 dot product in assembly: every call goes through native.abi's trampoline (the callee-saved
registers poisoned and checked); values compared exactly with numpy in int64, at every length 0..80,
unaligned, at the extremes (-128 * -128 breaks the popular vpsignb trick), next to an unmapped page;
then an instruction count against a scalar C loop."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import assert_unchanged
from native import abi
from native.measure import callgrind

CDEF = "int dot_i8(const int8_t *a, const int8_t *b, long n);"


class Dot:
    """dot_i8 through the ABI trampoline, run by the kata's probe (support/probes.py) where the learner's
    code is, with the arrays placed there: at a byte offset past a 64-byte boundary, or ending right
    before an unmapped page."""

    def __init__(self, kata):
        self.lib = kata.library(CDEF, extra_sources=[abi.SOURCE])
        self.probe = kata.probe("probes.py")

    def __call__(self, a, b, where_a=None, where_b=None):
        return self.probe.dot_i8(self.lib, a, b, where_a, where_b)


def fn(kata):
    return Dot(kata)


def explain(a, b, got, want):
    n = len(a)
    p = a.astype(np.int64) * b.astype(np.int64)
    for k in (32, 16, 8):
        if n % k and got == int(p[:n - n % k].sum()):
            return (f"That is the sum of the first {n - n % k} products: the last {n % k} (what the vector loop "
                    "left over) were skipped. Finish with a scalar tail.")
    zx = (a.astype(np.int64) % 256) * (b.astype(np.int64) % 256)
    if any(got == int(zx[:m].sum() + p[m:].sum()) for m in (n - n % 16, n - n % 32, n - n % 8)):
        return ("That is the answer with the bytes read as UNSIGNED (-1 as 255): widen with vpmovsxbw, not vpmovzxbw.")
    flip = (a < 0) & (b == -128)
    if flip.any():
        return ("Check the elements where a[i] < 0 and b[i] = -128: -(-128) does not fit in a signed byte, so the "
                "vpabsb/vpsignb trick (|a| times b with a's sign) gets the sign wrong there. Widen to 16 bits first "
                "(vpmovsxbw + vpmaddwd).")
    return "Try it by hand on a short input with negative values."


def check(f, a, b, what, where_a=None, where_b=None):
    """dot_i8 on a and b (placed at where_a and where_b: see probes.place): an ABI violation, then the
    value, then the inputs left as they were."""
    __tracebackhide__ = True
    r = f(a, b, where_a, where_b)
    if "violation" in r:
        raise abi.AbiViolation(r["violation"])
    got = r["got"]
    want = int((a.astype(np.int64) * b.astype(np.int64)).sum())
    if got != want:
        raise AssertionError(f"dot_i8 on {what} (n = {len(a)}): returned {got}, expected {want}.\n  "
                             f"{explain(a, b, got, want)}")
    assert_unchanged(a, r["a"], what="a")
    assert_unchanged(b, r["b"], what="b")


def rand(n, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(-128, 128, n, dtype=np.int8), rng.integers(-128, 128, n, dtype=np.int8)


@pytest.mark.parametrize("offset", [0, 1, 7, 33])
def test_every_length(kata, offset):
    f = fn(kata)
    for n in range(0, 81):
        a, b = rand(n, n)
        check(f, a, b, f"random bytes, a at +{offset} bytes", offset, (offset + 5) % 64)


@pytest.mark.parametrize("case", ["min_times_min", "min_times_max", "max_times_max", "alternating", "ones"])
def test_extremes(kata, case):
    for n in [1, 16, 17, 64, 100, 4099]:
        extreme(fn(kata), case, n)


def extreme(f, case, n):
    a = np.full(n, {"min_times_min": -128, "min_times_max": -128, "max_times_max": 127, "alternating": -128,
                    "ones": -1}[case], dtype=np.int8)
    b = np.full(n, {"min_times_min": -128, "min_times_max": 127, "max_times_max": 127, "alternating": 127,
                    "ones": -1}[case], dtype=np.int8)
    if case == "alternating":
        a[1::2], b[1::2] = 127, -128
    check(f, a, b, case.replace("_", " "))


@pytest.mark.parametrize("n", [1, 15, 16, 31, 32, 33, 1000])
def test_arrays_ending_at_an_unmapped_page(kata, n):
    a, b = rand(n, n + 9)
    check(fn(kata), a, b, "arrays whose last byte is the last before an unmapped page", "unmapped", "unmapped")


@settings(max_examples=100, deadline=None)
@given(n=st.integers(0, 3000), seed=st.integers(0, 2**32 - 1), oa=st.integers(0, 63), ob=st.integers(0, 63))
def test_any(kata, n, seed, oa, ob):
    a, b = rand(n, seed)
    check(fn(kata), a, b, f"random bytes (seed {seed})", oa, ob)


def test_largest_n(kata):
    n = 100000
    a = np.full(n, -128, dtype=np.int8)
    check(fn(kata), a, a.copy(), "100,000 times -128 * -128 (1,638,400,000: int32 holds it)")


# ----------------------------------------------------------------------------- performance (count)
N = 100003
GATE = 0.25


@pytest.mark.perf
def test_instructions_against_scalar_loop(kata):
    prog = kata.program("measure_dot8.c")
    mine = callgrind(prog, [N], "dot_i8").instructions
    base = callgrind(prog, [N], "dot_i8_scalar_baseline").instructions
    ratio = mine / base
    kata.record(instructions=mine, scalar_baseline=base, ratio=round(ratio, 3), per_element=round(mine / N, 3))
    assert ratio <= GATE, (
        f"dot_i8 on {N:,} bytes executed {mine:,} instructions ({mine / N:.2f} per element); the scalar C loop "
        f"{base:,} ({base / N:.2f} per element). Yours is {ratio:.2f}x that; the gate is {GATE}x.\n"
        "  vpmovsxbw turns 16 bytes into 16 int16 in one instruction and vpmaddwd multiplies 16 pairs and adds "
        "neighbours into 8 int32: four instructions for 16 elements (see the hints).")
