"""SIMD: saxpy exact and dot within the float32 error bound, on every tail length; then instruction
counts per element (callgrind), which is what 8 lanes per instruction buys."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import Guarded, assert_equal, assert_unchanged
from native.measure import callgrind

CDEF = """
void saxpy(float a, const float *x, float *y, long n);
float dot(const float *x, const float *y, long n);
"""
EPS = 2.0 ** -24


def check_saxpy(lib, a, x, y0, on):
    n = len(x)
    g = Guarded(n)
    g.inner[:] = y0
    xb = x.copy()
    lib.saxpy(np.float32(a), x, g.inner, n)
    g.check_margins("y")
    assert_unchanged(xb, x, what="x")
    # a*x + y rounded twice (multiply, add) or once (an FMA): both are right.
    twice = np.float32(a) * x + y0
    once = (np.float64(np.float32(a)) * x.astype(np.float64) + y0.astype(np.float64)).astype(np.float32)
    got = g.inner
    assert_equal(got, np.where(got == twice, twice, once), what="y after saxpy", on=on)


def check_dot(lib, x, y, on):
    n = len(x)
    xb, yb = x.copy(), y.copy()
    got = float(lib.dot(x, y, n))
    assert_unchanged(xb, x, what="x")
    assert_unchanged(yb, y, what="y")
    prods = x.astype(np.float64) * y.astype(np.float64)
    exact = math.fsum(prods.tolist())
    # Any summation order is allowed: the classic bound |error| <= n * eps * sum|x*y| (plus the final rounding).
    tol = (n + 1) * EPS * float(np.abs(prods).sum()) + 1e-30
    if not abs(got - exact) <= tol:
        raise AssertionError(f"dot on {on} (n = {n}): got {got!r}, exact {exact!r}; error {abs(got - exact):.3g} exceeds "
                             f"the float32 bound {tol:.3g} = (n + 1) * eps * sum|x*y|. Lost tail elements or lanes?")


def data(n, seed, positive=False):
    rng = np.random.default_rng(seed)
    if positive:  # every term >= 1: a lost element is always far outside the tolerance
        return (1 + rng.random(n)).astype(np.float32), (1 + rng.random(n)).astype(np.float32)
    return rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)


def test_every_tail(kata):
    lib = kata.library(CDEF)
    for n in list(range(0, 34)) + [63, 64, 65, 127, 1000, 4099]:
        x, y = data(n, n, positive=True)
        check_saxpy(lib, 1.5, x, y, f"n = {n}")
        check_dot(lib, x, y, f"n = {n}, x and y in [1, 2)")


@settings(max_examples=80)
@given(n=st.integers(0, 600), seed=st.integers(0, 2**31), a=st.floats(-100, 100, width=32), pos=st.booleans())
def test_any_length(kata, n, seed, a, pos):
    lib = kata.library(CDEF)
    x, y = data(n, seed, pos)
    check_saxpy(lib, a, x, y, f"n = {n}, a = {a!r}")
    check_dot(lib, x, y, f"n = {n}")


def test_unaligned_pointers(kata):
    # Arrays from a numpy slice start 4 bytes past a 32-byte boundary: use loadu/storeu, not load/store.
    lib = kata.library(CDEF)
    bx, by = data(1001, 3, positive=True)
    x, y0 = bx[1:], by[1:].copy()
    check_saxpy(lib, -0.5, np.ascontiguousarray(x), y0, "arrays starting at an odd float")
    check_dot(lib, bx[1:], by[1:], "arrays starting at an odd float")


def test_large_dot(kata):
    lib = kata.library(CDEF)
    x, y = data(1 << 20, 9)
    check_dot(lib, x, y, "2^20 normal values")


# ------------------------------------------------------------------------ performance (count)
# Instructions executed inside the function (callgrind, deterministic) for n = 4101 (a tail of 5):
# per element. The reference: about 0.6 (saxpy) and 0.4 (dot); plain scalar loops: 5 and 4.
N = 4101
GATES = {"saxpy": 1.5, "dot": 1.5}


@pytest.mark.perf
@pytest.mark.parametrize("fn", ["saxpy", "dot"])
def test_instructions_per_element(kata, fn):
    prog = kata.program("measure_simd.c")
    counts = callgrind(prog, [fn, N], fn)
    per = counts.instructions / N
    kata.record(**{f"{fn}_instructions": counts.instructions, f"{fn}_per_element": round(per, 3)})
    assert per <= GATES[fn], (
        f"{fn}(n = {N}): {counts.instructions:,} instructions, {per:.2f} per element (the gate is {GATES[fn]}).\n"
        "  A scalar loop spends 4-6 instructions on every element. With __m256 one load, one FMA and one store "
        "handle 8 floats: use _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_storeu_ps, and a scalar loop for the tail.")
