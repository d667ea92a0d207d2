"""Cache line stride: exact touches; infer_line_size on synthetic sweeps; the miss curve in a simulated
cache of 32-, 64- and 128-byte lines (deterministic, the grade); and the real machine's curve (wall clock,
recorded as a figure beside it, not graded)."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata import machine
from kata.timing import fastest_interleaved
from native.measure import MeasureError, callgrind_dumps

CDEF = """
uint64_t touch_stride(uint8_t *buf, size_t bytes, size_t stride);
int infer_line_size(const int *strides, const double *cost, int k);
uint8_t *alloc_huge(size_t bytes);
void free_huge(uint8_t *p);
"""
STRIDES = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]


def lib_of(kata):
    return kata.library(CDEF, extra_sources=[kata.support("helpers.c")])


def infer(lib, strides, cost):
    return lib.infer_line_size(np.array(strides, np.int32), np.array(cost, np.float64), len(strides))


@pytest.mark.parametrize("nbytes,stride", [(0, 8), (1, 8), (100, 1), (100, 7), (4096, 64), (4097, 64), (1000, 999), (1000, 1000), (5, 64)])
def test_touch(kata, nbytes, stride):
    lib = lib_of(kata)
    buf = np.zeros(nbytes + 128, np.uint8)
    buf[:] = 5
    want = buf.copy()
    want[0:nbytes:stride] += 1
    got = lib.touch_stride(buf, nbytes, stride)
    touched = len(range(0, nbytes, stride))
    assert got == touched, f"touch_stride(bytes = {nbytes}, stride = {stride}) returned {got}, expected {touched}"
    bad = np.flatnonzero(buf != want)
    assert bad.size == 0, (f"touch_stride(bytes = {nbytes}, stride = {stride}): byte {int(bad[0])} is {int(buf[bad[0]])}, "
                           f"expected {int(want[bad[0]])} (only indices 0, stride, 2*stride, ... below bytes get +1)")


def test_infer_ideal(kata):
    lib = lib_of(kata)
    for line in [16, 32, 64, 128, 256]:
        cost = [min(1.0, s / line) * 10 for s in STRIDES]
        got = infer(lib, STRIDES, cost)
        assert got == line, f"infer_line_size on the ideal curve of a {line}-byte line ({cost}): got {got}"


@settings(max_examples=150)
@given(line=st.sampled_from([16, 32, 64, 128, 256]), base=st.floats(0.5, 100), seed=st.integers(0, 2**31),
       floor=st.floats(0, 0.2))
def test_infer_noisy(kata, line, base, seed, floor):
    # Measured curves are noisy (+-15% here) and never start at zero (each touch costs an instruction too).
    lib = lib_of(kata)
    rng = np.random.default_rng(seed)
    ideal = np.array([max(floor, min(1.0, s / line)) for s in STRIDES])
    cost = (ideal * base * rng.uniform(0.85, 1.15, len(STRIDES))).tolist()
    cost[-1] = base * rng.uniform(0.95, 1.05)
    got = infer(lib, STRIDES, cost)
    plateau = cost[-1]
    want = next(s for s, c in zip(STRIDES, cost) if c >= 0.7 * plateau)
    assert got == want, (f"infer_line_size({STRIDES}, {[round(c, 3) for c in cost]}): got {got}, expected {want} (the smallest "
                         f"stride whose cost reaches 70% of the last one, {0.7 * plateau:.3f})")


# ------------------------------------------------------------------- performance: the simulated curve
# callgrind simulates an L1 of 32 KiB, 8-way, with 32-, 64- or 128-byte lines, and dumps the misses of each
# touch_stride() call (one per stride, each over fresh memory). Misses per touch must be stride/line below
# the line size and 1 from it on; your infer_line_size, fed that curve, must name the simulated line.
# Touching every stride-th byte by scanning all of them (the naive control) misses stride/line times per
# touch beyond the line: the curve never flattens and the inferred size is 1024.
def simulated_sweep(prog, line):
    cache = f"32768,8,{line}"
    events = callgrind_dumps(prog, STRIDES, ["--cache-sim=yes", f"--D1={cache}", f"--I1={cache}",
                                             f"--LL={8 << 20},16,{line}", "--toggle-collect=touch_stride",
                                             "--toggle-collect=touch_stride.*", "--dump-after=touch_stride"])
    events = [e for e in events if e.get("Ir", 0)][:len(STRIDES)]
    if len(events) != len(STRIDES):
        raise MeasureError(f"expected {len(STRIDES)} profile dumps, one per touch_stride() call, got {len(events)}")
    touches = [len(range(0, 256 << 10, s)) for s in STRIDES]
    misses = [(e.get("D1mr", 0) + e.get("D1mw", 0)) / t for e, t in zip(events, touches)]
    return misses, events[-1]["Ir"] / touches[-1]


IR_GATE = 20  # instructions per touch at stride 1024: the reference about 5; scanning every byte about 7000


@pytest.mark.perf
@pytest.mark.parametrize("line", [32, 64, 128])
def test_simulated_line_size(kata, line):
    lib = lib_of(kata)
    prog = kata.program("measure_sweep.c")
    curve, ir_per_touch = simulated_sweep(prog, line)
    shown = ", ".join(f"{s}: {c:.3f}" for s, c in zip(STRIDES, curve))
    kata.record(**{f"misses_per_touch_line{line}": [round(c, 3) for c in curve],
                   f"instructions_per_touch_stride{STRIDES[-1]}": round(ir_per_touch, 1)})
    assert ir_per_touch <= IR_GATE, (
        f"at stride {STRIDES[-1]} touch_stride executes {ir_per_touch:.0f} instructions per byte it touches (the gate is "
        f"{IR_GATE}): it does work for every byte in between. Step the index by `stride` instead of testing each byte.")
    want = [min(1.0, s / line) for s in STRIDES]
    far = [s for s, c, w in zip(STRIDES, curve, want) if abs(c - w) > 0.1 * w + 0.01]
    assert not far, (f"simulated {line}-byte lines: misses per touch by stride {{{shown}}}; expected stride/{line} below "
                     f"{line} and 1.0 from {line} on (off at strides {far}). Touch only the bytes you update: a loop "
                     "that visits every byte brings in every line whatever the stride.")
    got = infer(lib, STRIDES, curve)
    assert got == line, f"infer_line_size on the simulated {line}-byte-line curve ({shown}) said {got}"


# ------------------------------------------------------------------ the real machine: a figure, not a gate
# ns per touch on a buffer of 4x this machine's L2 (kata.machine reads it from sysfs or getconf; at least
# 8 MiB, 2 MiB pages where allowed), strides 4..1024, interleaved, the fastest of 9 runs each, in CPU time.
# Recorded beside the simulated curve, not graded: real machines do not agree on its shape. On one 2-core
# AMD EPYC VM the reference measured {4: 0.22, 16: 0.24, 64: 0.62, 128: 0.64, 256: 0.71, 1024: 4.13} ns
# (stride 1024 six times stride 128: the prefetchers stop at page boundaries and the TLB steps in); on an
# Intel host stride 1024 cost 0.5-1.5x stride 128. A gate on either ratio would fail a correct program
# somewhere. What the test does check here is exact: touch_stride's count on the big buffer.
REAL = [4, 16, 64, 128, 256, 1024]


@pytest.mark.wallclock
@pytest.mark.time_limit(180)
def test_real_sweep(kata):
    lib = lib_of(kata)
    l2 = machine.cache_size(2) or 0
    nbytes = min(max(8 << 20, 4 * l2), 64 << 20)
    buf = lib.alloc_huge(nbytes)
    assert buf, f"could not allocate {nbytes >> 20} MiB for the sweep"
    counts = {}
    try:
        lib.touch_stride(buf, 4096, 64)
        runs = [lambda s=s: counts.__setitem__(s, lib.touch_stride(buf, nbytes, s)) for s in REAL]
        best = fastest_interleaved(*runs, rounds=9, warmup=1)
    finally:
        lib.free_huge(buf)
    for s in REAL:
        want = len(range(0, nbytes, s))
        assert counts[s] == want, f"touch_stride(bytes = {nbytes}, stride = {s}) returned {counts[s]}, expected {want}"
    ns = {s: t / counts[s] * 1e9 for s, t in zip(REAL, best)}
    guess = infer(lib, REAL, [ns[s] for s in REAL])
    kata.record(ns_per_touch={s: round(v, 2) for s, v in ns.items()}, buffer_mib=nbytes >> 20,
                inferred_line_from_real_curve=guess, machine_line=machine.line_size(), machine=machine.summary())
