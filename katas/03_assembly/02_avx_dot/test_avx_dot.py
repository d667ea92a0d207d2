"""AVX2 dot product in assembly: values against float64 with a rounding bound that a skipped element
cannot hide in, every length 0..70 at unaligned addresses, arrays that end at an unmapped page (a
tail read with a full 8-float load faults), the calling convention through native.abi's trampoline,
and an instruction count against a scalar C loop."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import assert_unchanged
from native import abi
from native.measure import callgrind

CDEF = "float dot_f32(const float *a, const float *b, long n);"
ABI_CDEF = "long dot_f32(const float *a, const float *b, long n);"  # the trampoline reads rax only
EPS = np.finfo(np.float32).eps


class Dot:
    """dot_f32, run by the kata's probe (support/probes.py) where the learner's code is, with the arrays
    placed there: at a byte offset past a 64-byte boundary, or ending right before an unmapped page."""

    def __init__(self, kata):
        self.lib = kata.library(CDEF)
        self.probe = kata.probe("probes.py")

    def __call__(self, a, b, where_a=None, where_b=None):
        return self.probe.dot_f32(self.lib, a, b, where_a, where_b)


def lib(kata):
    return Dot(kata)


def check(L, a, b, what, where_a=None, where_b=None):
    """dot_f32 on a and b (placed at where_a and where_b: see probes.place): the value, then the inputs
    left as they were."""
    __tracebackhide__ = True
    r = L(a, b, where_a, where_b)
    got = r["got"]
    prods = a.astype(np.float64) * b.astype(np.float64)
    want = float(prods.sum())
    # Any summation order in float32 stays within n * eps * sum|a_i b_i| (plus FMA's single rounding).
    bound = (len(a) + 2) * EPS * float(np.abs(prods).sum()) + 1e-30
    if not abs(got - want) <= bound:
        hint = ""
        n = len(a)
        if got == 0.0 and want != 0.0:
            hint = "\n  0.0: is the result left in %xmm0 (the low lane of the folded accumulator)?"
        for k in (32, 16, 8, 4):
            if n % k and abs(got - prods[:n - n % k].sum()) <= bound:
                hint = (f"\n  That is the sum of the first {n - n % k} products only: the last {n % k} (what the "
                        "vector loop left over) were skipped. After the vector loop, finish the tail.")
        raise AssertionError(f"dot_f32 on {what} (n = {n}): returned {got!r}, expected {want!r} (allowed rounding "
                             f"error {bound:.3g}){hint}")
    assert_unchanged(a, r["a"], what="a")
    assert_unchanged(b, r["b"], what="b")


def rand(n, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)


@pytest.mark.parametrize("offset", [0, 1, 3, 7])
def test_every_length_at_unaligned_addresses(kata, offset):
    # 0..70: every tail of a 4-, 8-, 16- and 32-wide loop, with a and b 0, 4, 12, 28 bytes past a
    # 64-byte boundary (vmovaps faults on those).
    L = lib(kata)
    for n in range(0, 71):
        a, b = rand(n, n)
        check(L, a, b, f"random arrays, a at +{4 * offset} bytes", 4 * offset, 4 * ((offset + 2) % 8))


@pytest.mark.parametrize("n", [1, 7, 8, 9, 31, 32, 33, 100, 1023])
def test_arrays_ending_at_an_unmapped_page(kata, n):
    L = lib(kata)
    a, b = rand(n, 100 + n)
    check(L, a, b, "arrays whose last element ends right before an unmapped page", "unmapped", "unmapped")


def test_known_values(kata):
    L = lib(kata)
    for n in (1, 8, 9, 100):
        ones = np.ones(n, dtype=np.float32)
        check(L, ones, ones, "all ones (the answer is n)")
        ramp = np.arange(n, dtype=np.float32)
        check(L, ramp, ones, "0, 1, 2, ... times ones")
    big = np.full(40, 1e18, dtype=np.float32)
    check(L, big, big, "1e18 * 1e18 forty times (float32 holds 4e37)")


@settings(max_examples=80, deadline=None)
@given(n=st.integers(0, 600), seed=st.integers(0, 2**32 - 1), offset=st.integers(0, 7))
def test_any_length(kata, n, seed, offset):
    L = lib(kata)
    a, b = rand(n, seed)
    check(L, a, b, f"random arrays (seed {seed})", 4 * offset, 4 * (7 - offset))


@pytest.mark.parametrize("n", [0, 5, 8, 37, 1000])
def test_calling_convention(kata, n):
    # Through the trampoline: callee-saved registers poisoned before and checked after, rsp 16-aligned.
    # The call runs in the kata's probe, beside the learner's code; its findings are judged here.
    lib, probe = kata.library(ABI_CDEF, extra_sources=[abi.SOURCE]), kata.probe("probes.py")
    a, b = rand(n, 7)
    r = probe.checked_call(lib, "dot_f32", [a, b, n])
    if "violation" in r:
        raise abi.AbiViolation(r["violation"])


# ----------------------------------------------------------------------------- performance (count)
N = 100003
GATE = 0.25


@pytest.mark.perf
def test_instructions_against_scalar_loop(kata):
    prog = kata.program("measure_dot.c")
    mine = callgrind(prog, [N], "dot_f32").instructions
    base = callgrind(prog, [N], "dot_scalar_baseline").instructions
    ratio = mine / base
    kata.record(instructions=mine, scalar_baseline=base, ratio=round(ratio, 3), per_element=round(mine / N, 3))
    assert ratio <= GATE, (
        f"dot_f32 on {N:,} floats executed {mine:,} instructions ({mine / N:.2f} per element); the scalar C loop "
        f"executes {base:,} ({base / N:.2f} per element). Yours is {ratio:.2f}x that; the gate is {GATE}x.\n"
        "  One ymm register holds 8 floats: one vmovups + one vfmadd231ps handle 8 elements (see the hints).")
