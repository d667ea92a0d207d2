"""Reduction in CUDA C: a shared-memory tree, then warp shuffles.

CPU tier (nvcc, no GPU): builds for sm_90; no spills or stack, at most 64 registers; the PTX loads x,
adds floats, writes *out (a store or an atomic), indexes by blockIdx/threadIdx, and synchronises the
threads of a block around its shared memory. Perf gate (PTX): a shared-memory tree (st.shared, ld.shared,
bar.sync) and warp shuffles (shfl.sync). The launcher, run with the GPUs hidden, reports the failure.

GPU tier: sums of many n (tiny, around a block, primes, more than 2^24) with x between NaN guards and
*out starting as NaN; n = 0; compute-sanitizer racecheck; then bandwidth at n = 2^26 against the
device's copy bandwidth and torch.sum.
"""
from __future__ import annotations


import numpy as np
import pytest

from kata.cudakit import (check_rc, check_resources, cuda_failure, expect_failed_launch, fail, gpu_error, hide_gpus,
                          kernels, launcher, racecheck, stub_check, unsynchronised_shared)
from native.ptx import closest

CDEF = "int reduce_sum(const float *x, float *out, int n);"
FILE = "reduction.cu"
MAX_REGISTERS = 64


def problems(k) -> list[str]:
    out = []
    if not k.loads:
        out.append("it never loads from global memory (no ld.global): x is never read")
    if not (k.adds or k.uses(r"(atom|red)\.(global\.)?add\.f32")):
        out.append("it adds no floats (no add.f32, no atomic add)")
    if not k.stores:
        out.append("it never writes global memory (no st.global, no atomic): *out is never written")
    if "%tid" not in k.specials or "%ctaid" not in k.specials:
        out.append("its index does not come from blockIdx and threadIdx (the PTX never reads %ctaid and %tid)")
    race = unsynchronised_shared(k)
    if race:
        out.append(race)
    return out


# ------------------------------------------------------------------------------------ CPU tier

def test_builds(kata):
    kernels(kata, FILE)
    launcher(kata, CDEF, "reduce_sum", FILE)


def test_kernel_resources(kata):
    report, facts = kernels(kata, FILE)
    check_resources(kata, report, facts, FILE, MAX_REGISTERS,
                    " (a reduction needs 10-30; the reference uses 26): unrolled too far?")


def test_kernel_does_the_work(kata):
    """In the PTX: loads of x, float adds, a write of *out, an index from blockIdx/threadIdx, and no shared
    memory written and read back without a barrier."""
    _, facts = kernels(kata, FILE)
    stub_check(facts, FILE, "Sum a slice of x per thread, then the block, then add the block's total into *out.")
    best = closest(facts, problems)
    found = problems(best)
    kata.record(global_loads=len(best.loads), shared_loads=len(best.shared_loads), barriers=len(best.barriers),
                shuffles=len(best.shuffles), atomics=len(best.atomics))
    if found:
        fail(f"{best.shown}:\n  - " + "\n  - ".join(found) + f"\n  (its PTX shows: {best.summary()})")


@pytest.mark.perf
def test_tree_and_shuffles(kata):
    """The perf gate a CPU can see: the block's partial sums meet in shared memory (st.shared, ld.shared,
    bar.sync) and the last 32 in a warp's registers (shfl.sync). One atomic per element instead fails."""
    _, facts = kernels(kata, FILE)
    k = max(facts, key=lambda f: (bool(f.shared_loads and f.shared_stores and f.barriers), bool(f.shuffles)))
    missing = []
    if not (k.shared_stores and k.shared_loads and k.barriers):
        missing.append("a shared-memory tree: the block's threads store their partial sums to __shared__ memory "
                       "(st.shared), __syncthreads() (bar.sync), and add pairs (ld.shared), halving each level")
    if not k.shuffles:
        missing.append("warp shuffles: the last 32 values summed in registers with __shfl_down_sync or "
                       "__shfl_xor_sync (shfl.sync), with no shared memory and no barrier")
    kata.record(shared_loads=len(k.shared_loads), shared_stores=len(k.shared_stores), barriers=len(k.barriers),
                shuffles=len(k.shuffles), atomics=len(k.atomics))
    if missing:
        atom = (" Its PTX has atomics and nothing else to combine values: one atomicAdd per element makes every "
                "thread of the GPU queue on one address, at a tiny fraction of the bandwidth."
                if k.atomics and not k.shuffles and not k.shared_stores else "")
        fail(f"{k.shown} lacks " + "; and ".join(missing) + f".{atom}\n  (its PTX shows: {k.summary()})")


def test_launcher_reports_a_failed_launch(kata, request, monkeypatch):
    """With every GPU hidden, the launcher must return the CUDA error, not 0."""
    hide_gpus(request, monkeypatch)
    out = np.full(1, np.nan, dtype=np.float32)
    rc = launcher(kata, CDEF, "reduce_sum", FILE)(np.ones(1000, dtype=np.float32), out, 1000)
    expect_failed_launch("reduce_sum", rc, {"out": out}, "x and out",
                         "return the CUDA error (of cudaMemsetAsync, or cudaGetLastError() after the launch).")


# ------------------------------------------------------------------------------------ GPU tier

MARGIN = 4096


def _run_sum(reduce_sum, n: int, seed: int, what: str):
    """x between NaN guards, out between NaN guards and starting as NaN; returns (got, the exact sum)."""
    import torch

    g = torch.Generator(device="cuda").manual_seed(seed)
    xbuf = torch.full((n + 2 * MARGIN,), float("nan"), device="cuda")
    x = xbuf[MARGIN:MARGIN + n]
    # Small integers: every partial sum is an integer far below 2^24, so float32 adds them EXACTLY in any
    # order (tree, atomics, ...): the sum must be exact, and one lost or doubled element shows.
    x.copy_(torch.randint(-8, 9, (n,), generator=g, device="cuda").float())
    x0 = x.clone()
    obuf = torch.full((2 * MARGIN + 1,), float("nan"), device="cuda")
    rc = reduce_sum(x, obuf[MARGIN:MARGIN + 1], n)
    check_rc(rc, "reduce_sum", what)
    got = {}

    def fetch():
        got["o"] = obuf.cpu().numpy()
        got["x_same"] = bool(torch.equal(torch.nan_to_num(x, nan=7.0), torch.nan_to_num(x0, nan=7.0)))
    err = gpu_error(fetch)
    if err:
        cuda_failure(err, what)
    o = got["o"]
    if not np.isnan(np.delete(o, MARGIN)).all():
        fail(f"OUT-OF-BOUNDS WRITE on {what}: something was written next to *out (out is a single float)")
    if not got["x_same"]:
        fail(f"reduce_sum changed x on {what}: x is an input")
    return float(o[MARGIN]), float(x0.double().sum())


SIZES = [1, 2, 31, 32, 33, 255, 256, 257, 1000, 1023, 1024, 1025, 4097, 65537, 1000003, (1 << 24) + 3]


@pytest.mark.gpu
@pytest.mark.parametrize("n", SIZES)
def test_sum_matches(kata, n):
    reduce_sum = launcher(kata, CDEF, "reduce_sum", FILE)
    what = f"n = {n}"
    got, want = _run_sum(reduce_sum, n, seed=n, what=what)
    if np.isnan(got):
        fail(f"*out is NaN on {what} (expected {want:.6g}): *out was never written (or never zeroed before the "
             "blocks added into it), or the kernel read past the end of x (x sits between NaN guards)")
    if got != want:
        fail(f"*out = {got!r} on {what}, expected {want!r} (x holds small integers, so every order of addition gives "
             f"exactly that), off by {got - want:+g}. Elements lost or counted twice? (a tail not summed, a tree level "
             "skipped, a warp's lanes dropped, a race between levels)")


@pytest.mark.gpu
def test_n_zero(kata):
    import torch

    reduce_sum = launcher(kata, CDEF, "reduce_sum", FILE)
    x = torch.zeros(1, device="cuda")
    out = torch.full((1,), float("nan"), device="cuda")
    check_rc(reduce_sum(x, out, 0), "reduce_sum", "n = 0")
    v = float(out.cpu()[0])
    if v != 0.0:
        fail(f"reduce_sum(x, out, 0) left *out = {v!r}: the sum of nothing is 0.0 (write it, even with no blocks to launch)")


@pytest.mark.gpu
@pytest.mark.time_limit(300)
def test_racecheck(kata):
    """compute-sanitizer --tool racecheck on n = 100003: a missing __syncthreads() is reported every run."""
    racecheck(kata, CDEF, """
        n = 100003
        x = torch.rand(n, device="cuda")
        out = torch.empty(1, device="cuda")
        rc = lib.reduce_sum(ctypes.c_void_p(x.data_ptr()), ctypes.c_void_p(out.data_ptr()), ctypes.c_int(n))
        torch.cuda.synchronize()
        assert rc == 0, f"reduce_sum returned {rc}"
        """, FILE)


PERF_N = 1 << 26
NEED_OF_COPY = 0.60      # bytes read / time, against the device's copy bandwidth (read + write)
NEED_OF_TORCH = 0.70     # speed against torch.sum


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
@pytest.mark.time_limit(300)
def test_bandwidth(kata):
    import torch

    from kata.timing import copy_bandwidth, device_name, gbps, gpu_ms, gpu_once_ms

    reduce_sum = launcher(kata, CDEF, "reduce_sum", FILE)
    n = PERF_N
    x = torch.randint(-8, 9, (n,), device="cuda").float()  # exact in any order (see _run_sum)
    out = torch.empty(1, device="cuda")
    what = f"n = 2^26 = {n}"
    got = {}

    def measure():
        check_rc(reduce_sum(x, out, n), "reduce_sum", what)
        want = float(x.double().sum())
        if float(out.cpu()[0]) != want:
            fail(f"wrong sum on {what}: its speed is not graded until it is right (see the correctness tests)")
        got["copy"] = copy_bandwidth()
        got["torch_ms"] = gpu_ms(lambda: torch.sum(x))
        once = gpu_once_ms(lambda: reduce_sum(x, out, n))
        got["ms"] = once if once > 20 * got["torch_ms"] else gpu_ms(lambda: reduce_sum(x, out, n))
    err = gpu_error(measure)
    if err:
        cuda_failure(err, what)
    ms, torch_ms, copy = got["ms"], got["torch_ms"], got["copy"]
    rate = gbps(4 * n, ms)
    frac = rate * 1e9 / copy
    kata.record(device=device_name(), kernel_ms=round(ms, 4), torch_ms=round(torch_ms, 4), gbps=round(rate, 1),
                copy_gbps=round(copy / 1e9, 1), fraction_of_copy=round(frac, 3), speed_vs_torch=round(torch_ms / ms, 3))
    if frac < NEED_OF_COPY or torch_ms / ms < NEED_OF_TORCH:
        fail(f"{what} on {device_name()}: {ms:.3f} ms = {rate:.0f} GB/s read, {frac:.0%} of the copy bandwidth "
             f"({copy / 1e9:.0f} GB/s; the gate is {NEED_OF_COPY:.0%}), {torch_ms / ms:.2f}x the speed of torch.sum "
             f"({torch_ms:.3f} ms; the gate is {NEED_OF_TORCH}x).\n  " + (
                 "Far too slow: atomics on one address serialise. Sum in registers and shared memory first; one "
                 "atomic per block." if frac < 0.1 else
                 "Keep more loads in flight: several independent accumulators a thread (README, hint 5), and "
                 "enough blocks to fill every SM."))
