"""Blocked transpose: exact results on every shape, then a simulated-cache-miss gate."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import Guarded, assert_equal, assert_unchanged
from native.measure import Cache, callgrind

CDEF = "void transpose(const float *src, float *dst, int rows, int cols);"


def run(lib, src):
    rows, cols = src.shape
    out = Guarded((cols, rows))
    before = src.copy()
    lib.transpose(src, out.inner, rows, cols)
    out.check_margins("dst")
    assert_unchanged(before, src, what="src")
    assert_equal(out.inner, src.T, what="dst", on=f"a {rows}x{cols} src")


@pytest.mark.parametrize("rows,cols", [(1, 1), (4, 4), (16, 16), (32, 32), (1, 33), (33, 1), (17, 31), (64, 48)])
def test_known_shapes(kata, rows, cols):
    lib = kata.library(CDEF)
    run(lib, np.arange(rows * cols, dtype=np.float32).reshape(rows, cols))


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 70), cols=st.integers(1, 70), seed=st.integers(0, 2**31))
def test_any_shape(kata, rows, cols, seed):
    # Shapes that are not multiples of any tile size catch tails that are skipped or overrun.
    lib = kata.library(CDEF)
    run(lib, np.random.default_rng(seed).standard_normal((rows, cols)).astype(np.float32))


# ------------------------------------------------------------------------------ performance (count)
# A simulated L1: 32 KiB, 8-way, 64-byte lines (a typical x86 L1d). Compulsory misses are one per
# 64-byte line of src and of dst: 2 * rows * cols * 4 / 64. The reference (16x16 tiles) lands at
# 1.26x that; the row-by-row transpose at 8.5x (every write to dst misses).
L1 = Cache(32 * 1024, 8, 64)
GATE = 2.0


@pytest.mark.perf
@pytest.mark.parametrize("rows,cols", [(1000, 1000), (997, 1013)])
def test_cache_misses(kata, rows, cols):
    prog = kata.program("measure_transpose.c")
    counts = callgrind(prog, [rows, cols], "transpose", d1=L1)
    compulsory = 2 * rows * cols * 4 // L1.line
    ratio = counts.d1_misses / compulsory
    kata.record(d1_misses=counts.d1_misses, compulsory=compulsory, miss_ratio=round(ratio, 3),
                instructions=counts.instructions)
    assert ratio <= GATE, (
        f"{rows}x{cols} transpose: {counts.d1_misses:,} L1 misses in a simulated {L1}; the unavoidable "
        f"minimum is {compulsory:,}, so you miss {ratio:.2f}x that (the gate is {GATE}x).\n"
        f"  reads missed {counts.d1_read_misses:,} times, writes {counts.d1_write_misses:,} times.\n"
        "  Walking dst down a column touches a new 64-byte line per element: work in square tiles "
        "so a tile's lines of dst are reused before they are evicted (see the README's hints).")
