"""Blocked matmul: within float32 rounding of a float64 product on every size; then simulated L1 misses
inside matmul() per multiply-add."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import Guarded, assert_close, assert_unchanged
from native.measure import Cache, callgrind

CDEF = "void matmul(const float *A, const float *B, float *C, int n);"
EPS = 2.0 ** -24


def check(lib, n, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)).astype(np.float32)
    B = rng.standard_normal((n, n)).astype(np.float32)
    Ab, Bb = A.copy(), B.copy()
    C = Guarded((n, n))  # NaN-filled: an element never written stays NaN; C must be overwritten, not added to
    lib.matmul(A, B, C.inner, n)
    C.check_margins("C")
    assert_unchanged(Ab, A, what="A")
    assert_unchanged(Bb, B, what="B")
    want = A.astype(np.float64) @ B.astype(np.float64)
    bound = (n + 2) * EPS * (np.abs(A.astype(np.float64)) @ np.abs(B.astype(np.float64)))
    err = np.abs(C.inner - want)
    if not (err <= bound).all():
        assert_close(C.inner, want, atol=float(bound.max()), what="C", on=f"n = {n}")
        raise AssertionError(f"C on n = {n}: some elements are off by more than (n + 2) * eps * (|A| |B|)_ij")


def test_sizes(kata):
    lib = kata.library(CDEF)
    for n in [1, 2, 3, 7, 16, 31, 32, 33, 63, 64, 65, 100]:
        check(lib, n, n)


@settings(max_examples=25)
@given(n=st.integers(1, 90), seed=st.integers(0, 2**31))
def test_any_size(kata, n, seed):
    check(kata.library(CDEF), n, seed)


# ------------------------------------------------------------------------ performance (count)
# callgrind simulates a 32 KiB, 8-way L1 with 64-byte lines and counts misses inside matmul() for n = 128
# (each matrix 64 KiB: twice the L1) and n = 129; per multiply-add (n^3 of them). The i-j-k loop walks B down a
# column: 1.01 misses per multiply-add at n = 128 (the 512-byte stride maps a column onto 8 of the 64 sets),
# 0.064 at n = 129. i-k-j alone streams rows: about 0.07. The reference (32 x 32
# tiles, i-k-j inside): 0.005-0.006. Gate: 0.03.
L1 = Cache(32 * 1024, 8, 64)
GATE = 0.03


@pytest.mark.perf
@pytest.mark.parametrize("n", [128, 129])
def test_cache_misses(kata, n):
    prog = kata.program("measure_matmul.c")
    counts = callgrind(prog, [n], "matmul", d1=L1)
    per = counts.d1_misses / n ** 3
    kata.record(d1_misses=counts.d1_misses, misses_per_fma=round(per, 4), instructions=counts.instructions)
    assert per <= GATE, (
        f"n = {n}: {counts.d1_misses:,} L1 misses in a simulated {L1}, {per:.3f} per multiply-add (the gate is {GATE}).\n"
        "  Make the innermost loop walk rows (i-k-j order), then work in tiles small enough that the tile of B you "
        "reuse stays in L1 (see the hints).")
