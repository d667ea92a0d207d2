"""STREAM: exact results on every length, then bandwidth against memcpy's, timed interleaved."""
import ctypes

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import Guarded, assert_equal, assert_unchanged

CDEF = """
void stream_copy(const float *a, float *c, long n);
void stream_scale(const float *c, float *b, float s, long n);
void stream_add(const float *a, const float *b, float *c, long n);
void stream_triad(const float *b, const float *c, float *a, float s, long n);
"""
S = np.float32(3.0)


def inputs(n, seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(np.float32) for _ in range(2)]


def run_all(lib, n, seed):
    x, y = inputs(n, seed)
    xb, yb = x.copy(), y.copy()
    on = f"n = {n}"
    for name, args, want in [
        ("stream_copy", (x,), x),
        ("stream_scale", (x,), S * x),
        ("stream_add", (x, y), x + y),
    ]:
        out = Guarded(n)
        if name == "stream_scale":
            lib.stream_scale(x, out.inner, S, n)
        else:
            getattr(lib, name)(*args, out.inner, n)
        out.check_margins(f"the output of {name}")
        assert_equal(out.inner, want, what=f"{name} output", on=on)
    out = Guarded(n)
    lib.stream_triad(x, y, out.inner, S, n)
    out.check_margins("the output of stream_triad")
    # b + s*c rounded twice (mul, then add), or once with an FMA: either is exact in its own way.
    twice = x + S * y
    once = (x.astype(np.float64) + np.float64(S) * y.astype(np.float64)).astype(np.float32)
    got = out.inner
    assert_equal(got, np.where(got == twice, twice, once), what="stream_triad output (a = b + s*c)", on=on)
    assert_unchanged(xb, x, what="the input arrays")
    assert_unchanged(yb, y, what="the input arrays")


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100, 1023, 4099])
def test_lengths(kata, n):
    run_all(kata.library(CDEF), n, seed=n)


@settings(max_examples=60)
@given(n=st.integers(0, 3000), seed=st.integers(0, 2**31))
def test_any_length(kata, n, seed):
    run_all(kata.library(CDEF), n, seed)


# ------------------------------------------------------------------------ performance (wall clock)
# Arrays of 2^22 floats (16 MiB each): far past the 2 MiB L2 of each core here; the 300 MiB L3 is
# shared by the whole host, so these stream from L3 and DRAM. Bandwidth counts the bytes STREAM counts
# (copy: 2 arrays, triad: 3); the baseline is memcpy moving the same bytes.
# Timing: kernel and memcpy run interleaved (A B A B ...), 15 rounds, and each side keeps its fastest run.
# On this shared VM the same loop swings 2-4x from one run to the next (CPU steal, other tenants'
# traffic); noise only ever adds time, so minima of interleaved runs give a stable ratio that a lucky
# phase cannot fake. One retry if the first attempt falls short.
N = 1 << 22
GATE = 0.5


def _memcpy(dst, src):
    ctypes.memmove(dst.ctypes.data, src.ctypes.data, src.nbytes)


def fastest_interleaved(fast, slow, rounds=15, warmup=2):
    import time
    for _ in range(warmup):
        fast(), slow()
    tf, ts = [], []
    for i in range(rounds):
        for fn, out in ((fast, tf), (slow, ts)) if i % 2 == 0 else ((slow, ts), (fast, tf)):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    return min(tf), min(ts)


@pytest.mark.perf
@pytest.mark.wallclock
@pytest.mark.time_limit(120)
@pytest.mark.parametrize("kernel", ["copy", "triad"])
def test_bandwidth_vs_memcpy(kata, kernel):
    lib = kata.library(CDEF)
    a, b, c = (np.ones(N, np.float32) for _ in range(3))
    if kernel == "copy":
        fn, arrays = (lambda: lib.stream_copy(a, c, N)), 2
        base = lambda: _memcpy(c, a)  # noqa: E731
    else:
        fn, arrays = (lambda: lib.stream_triad(b, c, a, S, N)), 3
        half = N // 2  # the baseline moves the same bytes: memcpy of 1.5 arrays
        base = lambda: (_memcpy(a, b), _memcpy(a[:half], c[:half]))  # noqa: E731
    fn()
    for attempt in range(2):
        tf, ts = fastest_interleaved(fn, base)
        ratio = ts / tf  # our bandwidth over memcpy's
        if ratio >= GATE:
            break
    gbps = arrays * N * 4 / tf / 1e9
    kata.record(**{f"{kernel}_gbps": round(gbps, 2), f"{kernel}_vs_memcpy": round(ratio, 3)})
    assert ratio >= GATE, (
        f"stream_{kernel}: {gbps:.1f} GB/s, {ratio:.2f}x memcpy's bandwidth on the same bytes (fastest of 15 "
        f"interleaved runs: {tf * 1e3:.2f} ms vs {ts * 1e3:.2f} ms; the gate is {GATE}x).\n  Walk each array once, "
        "in order, one element after the next: every 64-byte line should be fetched once and used whole.")
