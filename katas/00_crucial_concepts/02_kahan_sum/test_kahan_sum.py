"""Kahan summation: float32 arithmetic, judged against the exact sum (math.fsum in float64) with the
error bound compensated summation guarantees, on inputs where a plain float sum is far outside it."""
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import assert_unchanged

CDEF = "float kahan_sum(const float *x, long n);"
EPS = 2.0 ** -24  # float32 unit roundoff


def check(lib, x, on):
    __tracebackhide__ = True
    x = np.ascontiguousarray(x, dtype=np.float32)
    before = x.copy()
    got = float(lib.kahan_sum(x, len(x)))
    assert_unchanged(before, x, what="x")
    exact = math.fsum(x.astype(np.float64).tolist())
    mag = float(np.abs(x.astype(np.float64)).sum())
    n = len(x)
    # Kahan: |error| <= (2 eps + O(n eps^2)) * sum|x|, plus rounding the result to float.
    tol = (2 * EPS + 2 * n * EPS * EPS) * mag + EPS * abs(exact)
    plain = float(np.cumsum(x, dtype=np.float32)[-1]) if n else 0.0
    if not abs(got - exact) <= tol:
        raise AssertionError(
            f"kahan_sum on {on} (n = {n}): got {got!r}, the exact sum is {exact!r}; error {abs(got - exact):.3g} "
            f"exceeds Kahan's bound {tol:.3g} = (2 eps + 2 n eps^2) * sum|x| + eps * |sum| (eps = 2^-24).\n"
            f"  A plain float loop gives {plain!r} here (error {abs(plain - exact):.3g}).")


def test_tiny_inputs(kata):
    lib = kata.library(CDEF)
    got = lib.kahan_sum(np.zeros(0, np.float32), 0)
    assert got == 0.0, f"the sum of nothing is 0.0; got {got!r}"
    for v in [1.5, -3.25, 1e-40, 3e38]:
        got = lib.kahan_sum(np.array([v], np.float32), 1)
        assert got == np.float32(v), f"the sum of one element {np.float32(v)!r} is itself; got {got!r}"
    check(lib, [1.0, 2.0, 3.0], "[1, 2, 3]")


def test_small_terms_survive(kata):
    # 1.0 then a million terms of 1e-8: each is below half an ulp of 1.0 (6e-8), so a plain sum never moves.
    lib = kata.library(CDEF)
    x = np.full(1_000_001, 1e-8, np.float32)
    x[0] = 1.0
    check(lib, x, "[1.0, then 1e6 x 1e-8]")


@pytest.mark.parametrize("name", ["uniform", "normal", "cancelling", "growing"])
def test_long_sums(kata, name):
    lib = kata.library(CDEF)
    rng = np.random.default_rng(42)
    n = 1 << 20
    x = {"uniform": lambda: rng.random(n),
         "normal": lambda: rng.standard_normal(n) * 1e3 + 1.0,
         "cancelling": lambda: np.concatenate([rng.random(n // 2) * 1e4, -rng.random(n // 2) * 1e4]),
         "growing": lambda: np.arange(n) * 1e-3}[name]().astype(np.float32)
    check(lib, x, f"{n} {name} values")


def test_odd_lengths(kata):
    lib = kata.library(CDEF)
    rng = np.random.default_rng(1)
    for n in [2, 3, 7, 17, 1000, 4099, 65537]:
        check(lib, rng.random(n).astype(np.float32) * 100, f"{n} random values")


@settings(max_examples=150)
@given(xs=st.lists(st.floats(-1e6, 1e6, width=32, allow_subnormal=True), min_size=0, max_size=3000),
       big=st.sampled_from([0.0, 1.0, 1e4, -3e5]))
def test_any_values(kata, xs, big):
    lib = kata.library(CDEF)
    check(lib, [big] + xs, f"[{big}] + {len(xs)} values from hypothesis")


def test_float_only(kata):
    # Summing in double would hide the lesson (and fails on inputs where double is not enough, too).
    src = kata.file().read_text()
    code = re.sub(r"/\*.*?\*/|//[^\n]*", " ", src, flags=re.S)
    assert not re.search(r"\bdouble\b", code), (
        "kahan.c uses `double`: the point is to sum accurately in float32 arithmetic alone. Keep a float "
        "sum and a float compensation term.")
