"""Parallel sum with pthreads: exact sums for 1 to 64 threads and every awkward size (0, 1, fewer elements
than threads, sizes no thread count divides), repeated so that a race shows; every thread joined; the
threads' structure counted (pthread_create/pthread_join wrapped at link time: all threads started
before the first is waited for); and, only where this machine can run two threads at once, a coarse
wall-clock gate for 2 threads against 1."""
import statistics
import time

import numpy as np
import pytest

from kata.toolkit import expect
from native import oskit

CDEF = "int parallel_sum(const int64_t *x, size_t n, int nthreads, int64_t *out);"


def load(kata):
    return oskit.threads_library(kata, CDEF)


def data(n, seed=0):
    return np.random.default_rng(seed).integers(-2**40, 2**40, max(n, 1), dtype=np.int64)[:n].copy()


def check(lib, x, nthreads, what=""):
    out = np.array([0x5EED], np.int64)
    lib.reset_threads()
    rc = lib.parallel_sum(x if x.size else np.zeros(1, np.int64), x.size, nthreads, out)
    expect(rc == 0, f"parallel_sum(n={x.size}, nthreads={nthreads}) returned {rc}, expected 0")
    want = int(x.sum())
    got = int(out[0])
    if got != want:
        n, T = x.size, nthreads
        hint = ""
        if T > 1 and n % T and got == int(x[: n // T * T].sum()):
            hint = f": exactly the sum without the last {n % T} elements (the tail when {T} does not divide {n})"
        pytest.fail(f"parallel_sum of {n} int64 with {T} threads{what}: {got}, expected {want} (off by {got - want})"
                    f"{hint}", pytrace=False)
    c = lib.thread_counts()
    expect(c.outstanding == 0, f"parallel_sum(n={x.size}, nthreads={nthreads}) returned with {c.outstanding} of its "
                               f"{c.creates} threads never joined: join every thread before returning")
    return c


@pytest.mark.parametrize("nthreads", [1, 2, 3, 4, 7, 8, 64])
def test_exact_sum(kata, nthreads):
    lib = load(kata)
    for n in [0, 1, 2, 5, 63, 64, 65, 1000, 99_991]:
        check(lib, data(n, n), nthreads)


def test_repeated_under_threads(kata):
    # Races lose updates only when threads interleave at the wrong moment: repeat big sums many times.
    lib = load(kata)
    x = data(400_003, 7)
    for rep in range(20):
        check(lib, x, (2, 3, 4, 8)[rep % 4], f" (repetition {rep + 1} of 20)")


def test_bad_thread_counts(kata):
    lib = load(kata)
    x = data(10)
    for bad in (0, -1, 257, 1 << 30):
        out = np.array([0x5EED], np.int64)
        rc = lib.parallel_sum(x, x.size, bad, out)
        expect(rc == -1, f"parallel_sum(nthreads={bad}) returned {rc}, expected -1 (valid: 1..256)")
        expect(out[0] == 0x5EED, f"parallel_sum(nthreads={bad}) returned -1 but wrote *out")
    check(lib, x, 256, " (the most allowed)")


# -------------------------------------------------------------------- performance: structure (counted)
@pytest.mark.perf
def test_threads_run_side_by_side(kata):
    lib = load(kata)
    x = data(100_000, 3)
    for T in (2, 4, 8):
        c = check(lib, x, T)
        kata.record(**{f"threads_{T}_created": c.creates, f"threads_{T}_peak_outstanding": c.peak})
        expect(c.creates in (T - 1, T), f"parallel_sum with nthreads={T} created {c.creates} threads: expected {T} "
                                        f"(or {T - 1}, the calling thread doing one share)")
        expect(c.peak >= T - 1,
               f"parallel_sum with nthreads={T}: at most {c.peak} thread(s) were ever created-and-not-yet-joined at "
               f"once, so they ran one after another. Create all {T} first, then join them all.")


# -------------------------------------------------------------------- performance: wall clock (coarse)
# 2 threads against 1 over 4 M int64 (32 MB). On a quiet 2-core machine the reference runs 1.5-1.9x faster
# with 2 threads; the gate is 1.25x. A round counts only if both calls ran in parallel most of the time
# (process CPU time / wall time >= 1.6 for the 2-thread call: threads that take turns on one core show
# ~1.0); with fewer than 3 such rounds in 15 tries the test is skipped, saying so.
GATE, TRIES, NEED, PARALLEL = 1.25, 15, 3, 1.6


def _timed(fn):
    # (kata.remote.timing: when the judge is separate, a call into the learner's library counts the wall
    # and CPU time its process measured around the call, its threads' CPU time included)
    from kata.remote import timing

    with timing("wall") as tw, timing("cpu") as tc:
        w, c = time.perf_counter(), time.process_time()
        fn()
        w, c = time.perf_counter() - w + tw.adjust, time.process_time() - c + tc.adjust
    return w, c / w if w > 0 else 0.0


@pytest.mark.perf
@pytest.mark.wallclock
@pytest.mark.time_limit(120)
def test_two_threads_faster(kata):
    lib = load(kata)
    x = data(4_000_000, 5)
    out = np.zeros(1, np.int64)
    check(lib, x, 2)
    one, two, seen = [], [], []
    for i in range(TRIES):
        a = _timed(lambda: lib.parallel_sum(x, x.size, 1, out))
        b = _timed(lambda: lib.parallel_sum(x, x.size, 2, out))
        seen.append(b[1])
        if b[1] >= PARALLEL:
            one.append(a[0])
            two.append(b[0])
            if len(two) >= 5:
                break
        if i >= 5 and not two:
            break  # six rounds and not one in parallel: this machine is busy
    if len(two) < NEED:
        pytest.skip(f"two threads ran side by side in only {len(two)} of {len(seen)} rounds (CPU time / wall time of "
                    f"the 2-thread call: median {statistics.median(seen):.2f}; 2.0 is fully parallel): this machine is "
                    "too busy for a speed-up to show. The structure test above still holds; run this one on an idle "
                    "machine.")
    ratio = statistics.median(one) / statistics.median(two)
    kata.record(two_vs_one_thread=round(ratio, 2), parallel_rounds=len(two))
    expect(ratio >= GATE, f"2 threads are only {ratio:.2f}x as fast as 1 over 4 M elements (median of {len(two)} "
                          f"rounds in which both ran in parallel; the gate is {GATE}x): are both working at once, "
                          "on halves of the array?")
