"""Tiled matmul in CUDA C: shared-memory tiles.

CPU tier (nvcc, no GPU): builds for sm_90; no spills or stack, at most 128 registers; the PTX loads A
and B, does FMAs, writes C, indexes by a 2-D (or 1-D) grid, compares (the edges), and never writes and
reads back shared memory without a barrier. Perf gate (PTX and ptxas): tiles in shared memory (st.shared,
ld.shared, bar.sync, at least 2 KiB of static shared memory). With the GPUs hidden the launcher fails.

GPU tier: awkward shapes (1 x 1 x 1, primes, K not a multiple of any tile, a row, a column) with C
between NaN guards and A, B between NaN guards, against float64; racecheck; then speed at 4096^3 against
torch.matmul in true fp32 (TF32 off).
"""
from __future__ import annotations


import numpy as np
import pytest

from kata.cudakit import (check_rc, check_resources, cuda_failure, expect_failed_launch, fail, gpu_error, hide_gpus,
                          kernels, launcher, racecheck, stub_check, unsynchronised_shared)
from native.ptx import closest

CDEF = "int matmul(const float *A, const float *B, float *C, int M, int N, int K);"
FILE = "tiled_matmul.cu"
MAX_REGISTERS = 128
MIN_SHARED = 2048  # two 16 x 16 float tiles


def problems(k) -> list[str]:
    out = []
    if len(k.loads) < 2:
        out.append(f"it loads from global memory {len(k.loads)} time(s): A and B must both be read")
    if not k.uses(r"fma\.rn\.f32|mul\.(rn\.)?f32"):
        out.append("it multiplies no floats (no fma.rn.f32)")
    if not k.stores:
        out.append("it never writes global memory: C is never written")
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
    launcher(kata, CDEF, "matmul", FILE)


def test_kernel_resources(kata):
    report, facts = kernels(kata, FILE)
    check_resources(kata, report, facts, FILE, MAX_REGISTERS,
                    " (the reference, with a 4 x 4 block of C a thread, uses 64): each thread's block of C too big?")


def test_kernel_does_the_work(kata):
    _, facts = kernels(kata, FILE)
    stub_check(facts, FILE, "Compute C[r][c] = sum over k of A[r][k] * B[k][c] and store it.")
    best = closest(facts, problems)
    found = problems(best)
    kata.record(global_loads=len(best.loads), shared_loads=len(best.shared_loads), fma=best.count(r"fma\.rn\.f32"),
                barriers=len(best.barriers))
    if found:
        fail(f"{best.shown}:\n  - " + "\n  - ".join(found) + f"\n  (its PTX shows: {best.summary()})")


@pytest.mark.perf
def test_shared_memory_tiles(kata):
    """The perf gate a CPU can see: tiles of A and B staged in shared memory (st.shared, then bar.sync, then
    ld.shared) and at least 2 KiB of it (two 16 x 16 float tiles) in ptxas's report."""
    report, facts = kernels(kata, FILE)
    k = max(facts, key=lambda f: (bool(f.shared_stores and f.shared_loads and f.barriers), len(f.shared_loads)))
    res = report.kernels.get(k.name)
    smem = res.shared_bytes if res else 0
    kata.record(shared_bytes=smem, shared_loads=len(k.shared_loads), fma=k.count(r"fma\.rn\.f32"))
    missing = []
    if not (k.shared_stores and k.shared_loads and k.barriers):
        missing.append("tiles in shared memory: copy a tile of A and a tile of B into __shared__ arrays (st.shared), "
                       "__syncthreads() (bar.sync), multiply them out of shared memory (ld.shared)")
    if smem < MIN_SHARED:
        missing.append(f"enough static shared memory: ptxas reports {smem} bytes, under {MIN_SHARED} (two 16 x 16 "
                       "float tiles; declare them with fixed sizes, `__shared__ float As[16][16];`)")
    if missing:
        fail(f"{k.shown} lacks " + "; and ".join(missing) + ". Without tiles every element of A and B is fetched from "
             f"global memory M or N times.\n  (its PTX shows: {k.summary()})")


def test_launcher_reports_a_failed_launch(kata, request, monkeypatch):
    hide_gpus(request, monkeypatch)
    a = np.ones((8, 8), dtype=np.float32)
    c = np.full((8, 8), np.nan, dtype=np.float32)
    rc = launcher(kata, CDEF, "matmul", FILE)(a, a, c, 8, 8, 8)
    expect_failed_launch("matmul", rc, {"C": c}, "A, B and C")


# ------------------------------------------------------------------------------------ GPU tier

MARGIN = 4096


def _guarded(torch, rows, cols, fill=None, seed=0):
    buf = torch.full((rows * cols + 2 * MARGIN,), float("nan"), device="cuda")
    inner = buf[MARGIN:MARGIN + rows * cols].view(rows, cols)
    if fill == "rand":
        g = torch.Generator(device="cuda").manual_seed(seed)
        inner.copy_(torch.randn(rows, cols, generator=g, device="cuda"))
    return buf, inner


SHAPES = [(1, 1, 1), (1, 1, 17), (2, 3, 5), (16, 16, 16), (17, 33, 65), (64, 64, 64), (65, 63, 129), (127, 129, 31),
          (1000, 1, 1000), (1, 1000, 999), (513, 257, 1025), (300, 200, 0), (1024, 1024, 1024)]


@pytest.mark.gpu
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_matches_float64(kata, shape):
    import torch

    M, N, K = shape
    matmul = launcher(kata, CDEF, "matmul", FILE)
    what = f"M, N, K = {M}, {N}, {K}"
    abuf, A = _guarded(torch, M, K, "rand", seed=M * 7 + K)
    bbuf, B = _guarded(torch, K, N, "rand", seed=N * 11 + K)
    cbuf, C = _guarded(torch, M, N)
    A0, B0 = A.clone(), B.clone()
    check_rc(matmul(A, B, C, M, N, K), "matmul", what)
    got = {}
    err = gpu_error(lambda: got.update(c=cbuf.cpu().numpy()))
    if err:
        cuda_failure(err, what)
    full = got["c"]
    for side, part in (("before the start", full[:MARGIN]), ("past the end", full[MARGIN + M * N:])):
        if not np.isnan(part).all():
            fail(f"OUT-OF-BOUNDS WRITE on {what}: {int((~np.isnan(part)).sum())} element(s) written {side} of C. "
                 "Check row < M and column < N before every store.")
    c = full[MARGIN:MARGIN + M * N].reshape(M, N).astype(np.float64)
    a64, b64 = A0.double().cpu().numpy(), B0.double().cpu().numpy()
    want = a64 @ b64
    tol = 3e-6 * np.sqrt(max(K, 1)) * (np.abs(a64) @ np.abs(b64)) + 1e-6
    unwritten = np.argwhere(np.isnan(c))
    if unwritten.size:
        r, col = unwritten[0]
        fail(f"C on {what}: {len(unwritten)} element(s) are NaN, e.g. C[{r}][{col}]: never written, or a NaN read from "
             "past the end of A or B (they sit between NaN guards): check k < K when loading the last tile.")
    bad = np.abs(c - want) > tol
    if bad.any():
        r, col = np.argwhere(bad)[0]
        fail(f"C on {what}: {int(bad.sum())} of {M * N} elements wrong, e.g. C[{r}][{col}] = {c[r, col]!r}, expected "
             f"{want[r, col]:.7g}. (Edges: is the last partial tile along k padded with zeros? Rows and columns "
             "past M and N masked?)")
    if not (torch.equal(A, A0) and torch.equal(B, B0)):
        fail(f"matmul changed A or B on {what}: they are inputs")


@pytest.mark.gpu
@pytest.mark.time_limit(300)
def test_racecheck(kata):
    racecheck(kata, CDEF, """
        M, N, K = 130, 70, 100
        A = torch.rand(M, K, device="cuda"); B = torch.rand(K, N, device="cuda"); C = torch.empty(M, N, device="cuda")
        rc = lib.matmul(*(ctypes.c_void_p(t.data_ptr()) for t in (A, B, C)), ctypes.c_int(M), ctypes.c_int(N), ctypes.c_int(K))
        torch.cuda.synchronize()
        assert rc == 0, f"matmul returned {rc}"
        """, FILE)


PERF = 4096
NEED_OF_TORCH = 0.20   # of torch.matmul in true fp32 (cuBLAS SGEMM)


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
@pytest.mark.time_limit(300)
def test_speed_against_torch(kata):
    import torch

    from kata.timing import device_name, gpu_ms, gpu_once_ms, tflops

    matmul = launcher(kata, CDEF, "matmul", FILE)
    n = PERF
    A = torch.randn(n, n, device="cuda")
    B = torch.randn(n, n, device="cuda")
    C = torch.empty(n, n, device="cuda")
    what = f"{n} x {n} x {n}"
    got = {}
    old = torch.backends.cuda.matmul.allow_tf32

    def measure():
        torch.backends.cuda.matmul.allow_tf32 = False  # true fp32, as the kernel computes
        check_rc(matmul(A, B, C, n, n, n), "matmul", what)
        ref = A @ B
        if not torch.allclose(C, ref, rtol=1e-3, atol=1e-2):
            fail(f"wrong result on {what}: its speed is not graded until it is right (see the correctness tests)")
        got["torch_ms"] = gpu_ms(lambda: torch.mm(A, B, out=ref))
        once = gpu_once_ms(lambda: matmul(A, B, C, n, n, n))
        ms = once if once > 20 * got["torch_ms"] else gpu_ms(lambda: matmul(A, B, C, n, n, n))
        if ms > got["torch_ms"] / NEED_OF_TORCH:
            ms = min(ms, gpu_ms(lambda: matmul(A, B, C, n, n, n)))
        got["ms"] = ms
    try:
        err = gpu_error(measure)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old
    if err:
        cuda_failure(err, what)
    ms, torch_ms = got["ms"], got["torch_ms"]
    flops = 2 * n ** 3
    kata.record(device=device_name(), kernel_ms=round(ms, 3), torch_ms=round(torch_ms, 3),
                tflops=round(tflops(flops, ms), 2), torch_tflops=round(tflops(flops, torch_ms), 2),
                speed_vs_torch=round(torch_ms / ms, 3))
    if torch_ms / ms < NEED_OF_TORCH:
        fail(f"{what} on {device_name()}: {ms:.2f} ms = {tflops(flops, ms):.1f} TFLOP/s, {torch_ms / ms:.2f}x the speed of "
             f"torch.matmul in fp32 ({torch_ms:.2f} ms, {tflops(flops, torch_ms):.1f} TFLOP/s); the gate is "
             f"{NEED_OF_TORCH}x.\n  A plain 16 x 16 or 32 x 32 shared tile, one output a thread, reaches about 0.1x: "
             "give each thread a small block of C in registers (README, hint 5).")
