"""Transpose in CUDA C: coalesced reads and writes through a padded shared-memory tile.

CPU tier (nvcc, no GPU): builds for sm_90; no spills or stack, at most 64 registers; the PTX loads, stores,
indexes by blockIdx/threadIdx, checks bounds, and never writes and reads back shared memory without a
barrier. Perf gate (PTX + ptxas): a tile in shared memory (st.shared, bar.sync, ld.shared) whose size is
not a power-of-two number of words (padded: float[32][33] is 1056 words; float[32][32], 1024, reads its
columns with a 32-way bank conflict). With the GPUs hidden the launcher fails.

GPU tier: exact results on awkward shapes with out between NaN guards; racecheck; then bandwidth at
8192 x 8192 against the device's copy bandwidth (torch's x.t().contiguous() recorded beside it).
"""
from __future__ import annotations


import numpy as np
import pytest

from kata.cudakit import (check_rc, check_resources, cuda_failure, expect_failed_launch, fail, gpu_error, hide_gpus,
                          kernels, launcher, racecheck, stub_check, unsynchronised_shared)
from native.ptx import closest

CDEF = "int transpose(const float *in, float *out, int rows, int cols);"
FILE = "transpose.cu"
MAX_REGISTERS = 64


def problems(k) -> list[str]:
    out = []
    if not k.loads:
        out.append("it never loads from global memory: `in` is never read")
    if not k.stores:
        out.append("it never writes global memory: `out` is never written")
    if "%tid" not in k.specials or "%ctaid" not in k.specials:
        out.append("its indices do not come from blockIdx and threadIdx")
    if k.compares == 0:
        out.append("it compares nothing (no setp): no bounds checks, so edge tiles read and write past the matrices")
    race = unsynchronised_shared(k)
    if race:
        out.append(race)
    return out


def test_builds(kata):
    kernels(kata, FILE)
    launcher(kata, CDEF, "transpose", FILE)


def test_kernel_resources(kata):
    report, facts = kernels(kata, FILE)
    check_resources(kata, report, facts, FILE, MAX_REGISTERS, " (a transpose needs 10-30; the reference uses 30)")


def test_kernel_does_the_work(kata):
    _, facts = kernels(kata, FILE)
    stub_check(facts, FILE, "Copy in[r][c] to out[c][r].")
    best = closest(facts, problems)
    found = problems(best)
    kata.record(global_loads=len(best.loads), global_stores=len(best.stores), shared_loads=len(best.shared_loads),
                barriers=len(best.barriers))
    if found:
        fail(f"{best.shown}:\n  - " + "\n  - ".join(found) + f"\n  (its PTX shows: {best.summary()})")


def _power_of_two(x: int) -> bool:
    return x > 0 and x & (x - 1) == 0


@pytest.mark.perf
def test_padded_shared_tile(kata):
    """The perf gate a CPU can see: a tile staged in shared memory, padded against bank conflicts."""
    report, facts = kernels(kata, FILE)
    k = max(facts, key=lambda f: (bool(f.shared_stores and f.shared_loads and f.barriers), len(f.shared_loads)))
    res = report.kernels.get(k.name)
    smem = res.shared_bytes if res else 0
    kata.record(shared_bytes=smem, shared_loads=len(k.shared_loads), shared_stores=len(k.shared_stores))
    if not (k.shared_stores and k.shared_loads and k.barriers):
        fail(f"{k.shown} does not go through shared memory (its PTX shows: {k.summary()}): writing out[c][r] straight "
             "from in[r][c] makes every warp's writes land 32 rows apart, 32 sectors for 128 useful bytes. Read a "
             "tile into __shared__ memory row by row, __syncthreads(), write it out column by column.")
    if smem == 0:
        fail(f"{k.shown}: ptxas reports no static shared memory: declare the tile with a fixed size, "
             "`__shared__ float tile[32][33];` (the padding is then visible in the report)")
    if _power_of_two(smem // 4):
        fail(f"{k.shown}: its shared tile is {smem} bytes = {smem // 4} words, a power of two: an unpadded square tile "
             f"(float[32][32] is 1024 words). Reading a column of it puts all 32 threads of a warp in one bank, a "
             "32-way bank conflict. Pad each row by one element: float tile[32][33] (1056 words).")


def test_launcher_reports_a_failed_launch(kata, request, monkeypatch):
    hide_gpus(request, monkeypatch)
    o = np.full((50, 40), np.nan, dtype=np.float32)
    rc = launcher(kata, CDEF, "transpose", FILE)(np.ones((40, 50), dtype=np.float32), o, 40, 50)
    expect_failed_launch("transpose", rc, {"out": o}, "in and out")


# ------------------------------------------------------------------------------------ GPU tier

MARGIN = 4096
SHAPES = [(1, 1), (1, 1000), (1000, 1), (31, 33), (32, 32), (33, 31), (64, 96), (100, 257), (257, 100), (1025, 2047),
          (4097, 65), (3, 70001)]


@pytest.mark.gpu
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_matches_torch(kata, shape):
    import torch

    rows, cols = shape
    transpose = launcher(kata, CDEF, "transpose", FILE)
    what = f"rows, cols = {rows}, {cols}"
    g = torch.Generator(device="cuda").manual_seed(rows * 1000 + cols)
    ibuf = torch.full((rows * cols + 2 * MARGIN,), float("nan"), device="cuda")
    x = ibuf[MARGIN:MARGIN + rows * cols].view(rows, cols)
    x.copy_(torch.randn(rows, cols, generator=g, device="cuda"))
    x0 = x.clone()
    obuf = torch.full((rows * cols + 2 * MARGIN,), float("nan"), device="cuda")
    out = obuf[MARGIN:MARGIN + rows * cols].view(cols, rows)
    check_rc(transpose(x, out, rows, cols), "transpose", what)
    got = {}
    err = gpu_error(lambda: got.update(o=obuf.cpu().numpy()))
    if err:
        cuda_failure(err, what)
    full = got["o"]
    for side, part in (("before the start", full[:MARGIN]), ("past the end", full[MARGIN + rows * cols:])):
        if not np.isnan(part).all():
            fail(f"OUT-OF-BOUNDS WRITE on {what}: {int((~np.isnan(part)).sum())} element(s) written {side} of out. "
                 "Check both indices against the matrix before every load and store of an edge tile.")
    o = full[MARGIN:MARGIN + rows * cols].reshape(cols, rows)
    want = x0.t().cpu().numpy()
    bad = ~(o == want)
    if bad.any():
        c, r = np.argwhere(bad)[0]
        nan = int(np.isnan(o[bad]).sum())
        fail(f"out on {what}: {int(bad.sum())} of {rows * cols} elements wrong ({nan} NaN: never written), e.g. "
             f"out[{c}][{r}] = {o[c, r]!r}, expected in[{r}][{c}] = {want[c, r]!r}. out is cols x rows: its row stride "
             "is rows.")
    if not torch.equal(x, x0):
        fail(f"transpose changed `in` on {what}")


@pytest.mark.gpu
@pytest.mark.time_limit(300)
def test_racecheck(kata):
    racecheck(kata, CDEF, """
        rows, cols = 100, 70
        x = torch.rand(rows, cols, device="cuda"); out = torch.empty(cols, rows, device="cuda")
        rc = lib.transpose(ctypes.c_void_p(x.data_ptr()), ctypes.c_void_p(out.data_ptr()), ctypes.c_int(rows), ctypes.c_int(cols))
        torch.cuda.synchronize()
        assert rc == 0, f"transpose returned {rc}"
        assert torch.equal(out, x.t()), "wrong result under racecheck"
        """, FILE)


PERF = 8192
NEED_OF_COPY = 0.65


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
@pytest.mark.time_limit(300)
def test_bandwidth(kata):
    import torch

    from kata.timing import copy_bandwidth, device_name, gbps, gpu_ms

    transpose = launcher(kata, CDEF, "transpose", FILE)
    n = PERF
    x = torch.randn(n, n, device="cuda")
    out = torch.empty(n, n, device="cuda")
    ref = torch.empty(n, n, device="cuda")
    what = f"{n} x {n}"
    got = {}

    def measure():
        check_rc(transpose(x, out, n, n), "transpose", what)
        if not torch.equal(out, x.t()):
            fail(f"wrong result on {what}: its speed is not graded until it is right (see the correctness tests)")
        got["copy"] = copy_bandwidth()
        got["torch_ms"] = gpu_ms(lambda: ref.copy_(x.t()))
        got["ms"] = gpu_ms(lambda: transpose(x, out, n, n))
        if gbps(8 * n * n, got["ms"]) * 1e9 / got["copy"] < NEED_OF_COPY:
            got["ms"] = min(got["ms"], gpu_ms(lambda: transpose(x, out, n, n)))
    err = gpu_error(measure)
    if err:
        cuda_failure(err, what)
    ms, torch_ms, copy = got["ms"], got["torch_ms"], got["copy"]
    rate = gbps(8 * n * n, ms)
    frac = rate * 1e9 / copy
    kata.record(device=device_name(), kernel_ms=round(ms, 4), torch_ms=round(torch_ms, 4), gbps=round(rate, 1),
                copy_gbps=round(copy / 1e9, 1), fraction_of_copy=round(frac, 3), speed_vs_torch=round(torch_ms / ms, 3))
    if frac < NEED_OF_COPY:
        fail(f"{what} on {device_name()}: {ms:.3f} ms = {rate:.0f} GB/s (4 bytes read + 4 written an element), {frac:.0%} "
             f"of the copy bandwidth ({copy / 1e9:.0f} GB/s); the gate is {NEED_OF_COPY:.0%}. torch's "
             f"x.t().contiguous() took {torch_ms:.3f} ms.\n  Both the reads and the writes must be coalesced (a tile "
             "in shared memory), and the tile padded (float[32][33]) so that reading its columns is conflict-free.")
