"""Row softmax in CUDA C: one warp per row, warp shuffles for the max and the sum.

CPU tier (nvcc, no GPU): builds for sm_90; no spills or stack, at most 64 registers; the PTX loads x,
stores y, exponentiates (ex2), takes a max (max.f32: the max subtraction), normalises (a reciprocal or a
division), indexes by blockIdx/threadIdx, checks bounds. Perf gate (PTX): warp shuffles (at least two
shfl.sync: the max and the sum). With the GPUs hidden the launcher fails.

GPU tier: awkward shapes (a column of 1, widths around 32, a prime width, more than 65535 rows) with
magnitudes up to 400 (exp overflows without the max subtraction) and y between NaN guards, against
float64; then bandwidth at 32768 x 1024 against the copy bandwidth (torch.softmax recorded beside it).
"""
from __future__ import annotations


import numpy as np
import pytest

from kata.cudakit import (check_rc, check_resources, cuda_failure, expect_failed_launch, fail, gpu_error, hide_gpus,
                          kernels, launcher, stub_check)
from native.ptx import closest

CDEF = "int row_softmax(const float *x, float *y, int rows, int cols);"
FILE = "row_softmax.cu"
MAX_REGISTERS = 64


def problems(k) -> list[str]:
    out = []
    if not k.loads:
        out.append("it never loads from global memory: x is never read")
    if not k.stores:
        out.append("it never writes global memory: y is never written")
    if not k.uses(r"ex2\."):
        out.append("it exponentiates nothing (no ex2 in its PTX: expf and __expf both compile to it)")
    if not k.uses(r"max(\.\w+)*\.f32"):
        out.append("it takes no maximum (no max.f32 in its PTX): without subtracting the row's max, expf overflows "
                   "to inf for inputs above 88 and the row turns NaN (inf / inf). Use fmaxf for the row max.")
    if not k.uses(r"(rcp|div)(\.\w+)*\.f32"):
        out.append("it divides by nothing (no div or rcp in its PTX): each exp must be divided by the row's sum")
    if "%tid" not in k.specials or "%ctaid" not in k.specials:
        out.append("its row does not come from blockIdx and threadIdx")
    if k.compares == 0:
        out.append("it compares nothing (no setp): no bounds checks on rows or columns")
    return out


def test_builds(kata):
    kernels(kata, FILE)
    launcher(kata, CDEF, "row_softmax", FILE)


def test_kernel_resources(kata):
    report, facts = kernels(kata, FILE)
    check_resources(kata, report, facts, FILE, MAX_REGISTERS, " (a softmax needs 20-40; the reference uses 30)")


def test_kernel_does_the_work(kata):
    _, facts = kernels(kata, FILE)
    stub_check(facts, FILE, "Find the row's max, sum exp(x - max), write exp(x - max) / sum.")
    best = closest(facts, problems)
    found = problems(best)
    kata.record(global_loads=len(best.loads), global_stores=len(best.stores), shuffles=len(best.shuffles),
                ex2=best.count(r"ex2\."), max=best.count(r"max(\.\w+)*\.f32"))
    if found:
        fail(f"{best.shown}:\n  - " + "\n  - ".join(found) + f"\n  (its PTX shows: {best.summary()})")


@pytest.mark.perf
def test_warp_shuffles(kata):
    """The perf gate a CPU can see: the row's max and sum combined across the warp with shuffles."""
    _, facts = kernels(kata, FILE)
    k = max(facts, key=lambda f: len(f.shuffles))
    kata.record(shuffles=len(k.shuffles), kinds=sorted(set(k.shuffles)))
    if len(k.shuffles) < 2:
        fail(f"{k.shown} has {len(k.shuffles)} warp shuffle(s) (shfl.sync) in its PTX; a warp per row combines its "
             "32 lanes' maxima and sums with __shfl_xor_sync (a max and a sum: at least two). One thread per row "
             "makes each warp read 32 different rows at once, 32 sectors for every load."
             f"\n  (its PTX shows: {k.summary()})")


def test_launcher_reports_a_failed_launch(kata, request, monkeypatch):
    hide_gpus(request, monkeypatch)
    y = np.full((4, 40), np.nan, dtype=np.float32)
    rc = launcher(kata, CDEF, "row_softmax", FILE)(np.ones((4, 40), dtype=np.float32), y, 4, 40)
    expect_failed_launch("row_softmax", rc, {"y": y}, "x and y")


# ------------------------------------------------------------------------------------ GPU tier

MARGIN = 4096
SHAPES = [(1, 1), (1, 31), (3, 32), (5, 33), (7, 64), (9, 1000), (100, 1023), (64, 4097), (17, 12345), (65537, 8),
          (2, 100003)]


@pytest.mark.gpu
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_matches_float64(kata, shape):
    import torch

    rows, cols = shape
    row_softmax = launcher(kata, CDEF, "row_softmax", FILE)
    what = f"rows, cols = {rows}, {cols}"
    g = torch.Generator(device="cuda").manual_seed(rows * 7919 + cols)
    x = torch.randn(rows, cols, generator=g, device="cuda")
    x *= torch.rand(rows, 1, generator=g, device="cuda") * 400   # row magnitudes from 0 to 400: exp(400) = inf
    if cols >= 2:
        x[::3, ::5] = float("-inf")                               # masked-out entries (never a whole row)
        x[::3, 1] = 1.0
    x0 = x.clone()
    ybuf = torch.full((rows * cols + 2 * MARGIN,), float("nan"), device="cuda")
    y = ybuf[MARGIN:MARGIN + rows * cols].view(rows, cols)
    check_rc(row_softmax(x, y, rows, cols), "row_softmax", what)
    got = {}
    err = gpu_error(lambda: got.update(y=ybuf.cpu().numpy()))
    if err:
        cuda_failure(err, what)
    full = got["y"]
    for side, part in (("before the start", full[:MARGIN]), ("past the end", full[MARGIN + rows * cols:])):
        if not np.isnan(part).all():
            fail(f"OUT-OF-BOUNDS WRITE on {what}: {int((~np.isnan(part)).sum())} element(s) written {side} of y: check "
                 "column < cols (and row < rows) before every store.")
    yy = full[MARGIN:MARGIN + rows * cols].reshape(rows, cols).astype(np.float64)
    want = torch.softmax(x0.double(), dim=1).cpu().numpy()
    bad = ~(np.abs(yy - want) <= 1e-6 + 2e-4 * np.abs(want))  # x - max rounds in fp32: |x| up to 400
    if bad.any():
        r, c = np.argwhere(bad)[0]
        nan = int(np.isnan(yy[bad]).sum())
        big = float(x0[r].abs().max())
        fail(f"y on {what}: {int(bad.sum())} of {rows * cols} elements wrong ({nan} NaN), e.g. y[{r}][{c}] = {yy[r, c]!r}, "
             f"expected {want[r, c]:.7g} (row {r}'s inputs reach magnitude {big:.0f}).\n  "
             + ("NaN: exp overflowed (subtract the row's max first), or an element was never written." if nan else
                "Every lane must use the WHOLE row's max and sum: reduce with __shfl_xor_sync (all lanes get the result), "
                "or broadcast lane 0's with __shfl_sync."))
    if not torch.equal(x, x0):
        fail(f"row_softmax changed x on {what}")


PERF_ROWS, PERF_COLS = 32768, 1024
NEED_OF_COPY = 0.50


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
@pytest.mark.time_limit(300)
def test_bandwidth(kata):
    import torch

    from kata.timing import copy_bandwidth, device_name, gbps, gpu_ms

    row_softmax = launcher(kata, CDEF, "row_softmax", FILE)
    rows, cols = PERF_ROWS, PERF_COLS
    x = torch.randn(rows, cols, device="cuda")
    y = torch.empty_like(x)
    what = f"{rows} x {cols}"
    got = {}

    def measure():
        check_rc(row_softmax(x, y, rows, cols), "row_softmax", what)
        if not torch.allclose(y, torch.softmax(x, dim=1), rtol=1e-4, atol=1e-6):
            fail(f"wrong result on {what}: its speed is not graded until it is right (see the correctness tests)")
        got["copy"] = copy_bandwidth()
        got["torch_ms"] = gpu_ms(lambda: torch.softmax(x, dim=1))
        got["ms"] = gpu_ms(lambda: row_softmax(x, y, rows, cols))
        if gbps(8 * rows * cols, got["ms"]) * 1e9 / got["copy"] < NEED_OF_COPY:
            got["ms"] = min(got["ms"], gpu_ms(lambda: row_softmax(x, y, rows, cols)))
    err = gpu_error(measure)
    if err:
        cuda_failure(err, what)
    ms, torch_ms, copy = got["ms"], got["torch_ms"], got["copy"]
    rate = gbps(8 * rows * cols, ms)
    frac = rate * 1e9 / copy
    kata.record(device=device_name(), kernel_ms=round(ms, 4), torch_ms=round(torch_ms, 4), gbps=round(rate, 1),
                copy_gbps=round(copy / 1e9, 1), fraction_of_copy=round(frac, 3), speed_vs_torch=round(torch_ms / ms, 3))
    if frac < NEED_OF_COPY:
        fail(f"{what} on {device_name()}: {ms:.3f} ms = {rate:.0f} GB/s (4 bytes read + 4 written an element), {frac:.0%} "
             f"of the copy bandwidth ({copy / 1e9:.0f} GB/s); the gate is {NEED_OF_COPY:.0%}. torch.softmax took "
             f"{torch_ms:.3f} ms.\n  One warp per row, lanes on consecutive columns (coalesced), and enough rows in "
             "flight: 8 warps (rows) a block, one block per 8 rows.")
