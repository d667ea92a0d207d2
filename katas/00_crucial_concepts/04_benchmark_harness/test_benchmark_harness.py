"""Benchmark harness: driven by a fake clock, so every sample is known in advance and checked exactly."""
import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st


class FakeClock:
    """Time stands still except while fn runs: each call of fn advances it by the next scripted
    duration. So a harness that reads the clock right before and after one call gets exactly that
    call's duration, and anything else shows."""

    def __init__(self, durations, start=0):
        self.durations = list(durations)
        self.now = start
        self.calls = 0
        self.reads = 0

    def clock(self):
        self.reads += 1
        return self.now

    def fn(self):
        if self.calls >= len(self.durations):
            raise AssertionError(f"fn() was called more than the {len(self.durations)} times expected "
                                 "(warm-up + repeats)")
        self.now += self.durations[self.calls]
        self.calls += 1


def oracle(samples, k=1.5):
    a = np.asarray(samples, dtype=np.float64)
    q1, q3 = np.percentile(a, 25), np.percentile(a, 75)
    iqr = q3 - q1
    out = [i for i, x in enumerate(samples) if x < q1 - k * iqr or x > q3 + k * iqr]
    kept = [x for i, x in enumerate(samples) if i not in out]
    return dict(median=statistics.median(samples), mean=statistics.fmean(samples),
                stdev=statistics.stdev(samples) if len(samples) > 1 else 0.0, minimum=min(samples),
                q1=q1, q3=q3, iqr=iqr, outliers=out, clean_mean=statistics.fmean(kept))


def check_stats(st_, samples, k=1.5, on=""):
    __tracebackhide__ = True
    want = oracle(samples, k)
    assert list(st_.samples) == list(samples), f"samples{on}: got {st_.samples}, expected {samples}"
    for name, w in want.items():
        g = getattr(st_, name)
        if name == "outliers":
            assert list(g) == w, (f"outliers{on}: got indices {list(g)}, expected {w} (fences q1 - {k}*iqr = "
                                  f"{want['q1'] - k * want['iqr']:g} and q3 + {k}*iqr = {want['q3'] + k * want['iqr']:g})")
        elif not math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-12):
            raise AssertionError(f"{name}{on}: got {g!r}, expected {w!r}")


def test_warmup_is_not_timed(kata):
    b = kata.module()
    # The first two calls are cold (page faults, caches, lazy initialisation): 500 and 90 ns.
    clk = FakeClock([500, 90, 10, 12, 11, 13, 10, 11, 12, 10, 11, 12], start=10**12)
    st_ = b.benchmark(clk.fn, clock=clk.clock, warmup=2, repeats=10)
    assert clk.calls == 12, f"fn() ran {clk.calls} times; expected 2 warm-up + 10 timed = 12"
    check_stats(st_, [10, 12, 11, 13, 10, 11, 12, 10, 11, 12],
                on=" (integer nanosecond clock starting at 10**12, after 2 cold warm-up calls of 500 and 90 ns)")


def test_outlier_is_flagged(kata):
    b = kata.module()
    # One timed call was preempted by another process: 100 instead of about 2.
    clk = FakeClock([7, 1, 2, 3, 2, 100, 2], start=0)
    st_ = b.benchmark(clk.fn, clock=clk.clock, warmup=1, repeats=6)
    check_stats(st_, [1, 2, 3, 2, 100, 2], on=" (samples 1, 2, 3, 2, 100, 2)")
    assert st_.median == 2, f"median of 1, 2, 3, 2, 100, 2: got {st_.median}, expected 2"


def test_float_seconds_and_even_median(kata):
    b = kata.module()
    clk = FakeClock([0.5, 0.25, 0.125, 1.0, 0.75], start=0.0)
    st_ = b.benchmark(clk.fn, clock=clk.clock, warmup=1, repeats=4)
    check_stats(st_, [0.25, 0.125, 1.0, 0.75], on=" (float seconds, an even number of samples)")


def test_edges(kata):
    b = kata.module()
    clk = FakeClock([3])
    st_ = b.benchmark(clk.fn, clock=clk.clock, warmup=0, repeats=1)
    check_stats(st_, [3], on=" (warmup=0, repeats=1)")
    assert clk.calls == 1, f"warmup=0, repeats=1: fn() ran {clk.calls} times"
    for kw in [dict(warmup=1, repeats=0), dict(warmup=-1, repeats=3)]:
        clk = FakeClock([1] * 5)
        with pytest.raises(ValueError):
            b.benchmark(clk.fn, clock=clk.clock, **kw)
    # Equal samples: iqr 0, nothing is an outlier.
    check_stats(b.summarize([4, 4, 4, 4]), [4, 4, 4, 4], on=" (four equal samples)")


def test_percentile_known(kata):
    b = kata.module()
    v = [1, 2, 3, 4]
    for p, want in [(0, 1), (25, 1.75), (50, 2.5), (75, 3.25), (100, 4), (10, 1.3)]:
        got = b.percentile(v, p)
        assert math.isclose(got, want), f"percentile([1, 2, 3, 4], {p}): got {got}, expected {want} (linear interpolation)"


@settings(max_examples=150)
@given(v=st.lists(st.integers(-10**6, 10**6), min_size=1, max_size=40), p=st.floats(0, 100))
def test_percentile_like_numpy(kata, v, p):
    b = kata.module()
    s = sorted(v)
    got, want = b.percentile(s, p), float(np.percentile(np.asarray(s, dtype=np.float64), p))
    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-6), f"percentile({s}, {p}): got {got}, numpy says {want}"


@settings(max_examples=150)
@given(samples=st.lists(st.integers(1, 10**6), min_size=1, max_size=30), k=st.sampled_from([1.5, 3.0]),
       warmup=st.integers(0, 3), seed=st.integers(0, 1000))
def test_any_samples(kata, samples, k, warmup, seed):
    b = kata.module()
    cold = [10**7 + seed] * warmup
    clk = FakeClock(cold + samples, start=seed * 10**9)
    st_ = b.benchmark(clk.fn, clock=clk.clock, warmup=warmup, repeats=len(samples), k=k)
    check_stats(st_, samples, k, on=f" (samples {samples}, k={k}, warmup={warmup})")
