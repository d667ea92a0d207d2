"""Tiled matmul in Triton: C = A @ B against float64 (shapes that are multiples of no block, strided and
transposed operands, never-written tiles), no torch compute, then the program order (grouped, checked
in the interpreter), bytes moved (CPU) and TFLOP/s against torch.matmul (GPU, autotuned)."""
import pytest
import torch

from kata.timing import gpu_ms, tflops
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_low_precision, describe, expect, randn

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
# The CPU tier always passes a config: the interpreter cannot benchmark, so autotuning is the GPU tier.
CFG = {"BLOCK_M": 32, "BLOCK_N": 32, "BLOCK_K": 32, "GROUP_M": 4}
# (M, K, N): 200 rows are 7 row-tiles of 32 (a last, shorter group of 3 with GROUP_M = 4); K = 130
# leaves a partial K-block; 1 and 17 are smaller than any block.
SHAPES = [(1, 1, 1), (17, 16, 33), (64, 64, 64), (100, 130, 70), (200, 96, 160)]
# Error allowed, per element, relative to (|A| @ |B|), the size of the terms summed: fp16/bf16 output
# rounding is 2^-11..2^-9 of |C|; fp32 inputs may go through TF32 Tensor Cores on a GPU (2^-11 per term).
REL = 3e-3


def check_close(c, a, b, on: str, rel: float = REL):
    a64, b64 = a.detach().cpu().double(), b.detach().cpu().double()
    want, scale = a64 @ b64, a64.abs() @ b64.abs()
    got = c.detach().cpu().double()
    err = (got - want).abs()
    bad = ~(err <= rel * scale + 1e-6)  # NaN counts as bad
    if bad.any():
        idx = bad.nonzero()[:5].tolist()
        n_nan = int(got.isnan().sum())
        lines = [f"matmul(a, b) on {on}: {int(bad.sum())} of {got.numel()} elements wrong"]
        if n_nan:
            lines.append(f"  {n_nan} are NaN: never written (a tile no program computed, or a store mask too tight)")
        lines += [f"  at [{i}, {j}]: got {got[i, j].item()!r}, expected {want[i, j].item()!r}" for i, j in idx]
        # Where the wrong elements lie says what is wrong: whole tiles, the last K-block, the edges.
        rows = bad.any(1).nonzero().flatten()
        cols = bad.any(0).nonzero().flatten()
        lines.append(f"  wrong rows {rows.min().item()}..{rows.max().item()}, columns {cols.min().item()}.."
                     f"{cols.max().item()}")
        pytest.fail("\n".join(lines), pytrace=False)


def check_matmul(kata, a, b, on: str, config=CFG):
    kw = {} if config is None else {"config": config}
    # the output comes back NaN-filled, between poisoned margins: (M, N), a's dtype and device
    c = call_checked(kata.module().matmul, a, b, **kw, name="matmul(a, b)", on=on, guard=True, like=a,
                     shape=(a.shape[0], b.shape[1]))
    check_close(c, a, b, on)
    return c


# ---------------------------------------------------------------------------------------- correctness


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{k}x{n}" for m, k, n in SHAPES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_shapes(kata, device, dtype, shape):
    m, k, n = shape
    a, b = randn((m, k), DTYPES[dtype], device, m), randn((k, n), DTYPES[dtype], device, n)
    check_matmul(kata, a, b, on=f"({m} x {k}) @ ({k} x {n}) {dtype} with config {CFG}")


CONFIGS = [{"BLOCK_M": 16, "BLOCK_N": 16, "BLOCK_K": 16, "GROUP_M": 1},
           {"BLOCK_M": 64, "BLOCK_N": 32, "BLOCK_K": 16, "GROUP_M": 8},
           {"BLOCK_M": 16, "BLOCK_N": 64, "BLOCK_K": 64, "GROUP_M": 2, "num_warps": 2}]


@pytest.mark.parametrize("config", CONFIGS, ids=["16x16x16-g1", "64x32x16-g8", "16x64x64-g2"])
def test_configs(kata, device, config):
    # The kernel is correct for every block shape and group size the autotuner might pick.
    a, b = randn((90, 75), torch.float16, device, 1), randn((75, 110), torch.float16, device, 2)
    check_matmul(kata, a, b, on=f"(90 x 75) @ (75 x 110) fp16 with config {config}", config=config)


def _transposed_a(device):
    return randn((75, 90), torch.float32, device, 3).t(), randn((75, 60), torch.float32, device, 4)


def _transposed_b(device):
    return randn((90, 75), torch.float32, device, 5), randn((60, 75), torch.float32, device, 6).t()


def _slices(device):
    return randn((100, 120), torch.float16, device, 7)[5:95, 10:85], randn((80, 140), torch.float16, device, 8)[2:77, ::2]


@pytest.mark.parametrize("make", [_transposed_a, _transposed_b, _slices], ids=["a_transposed", "b_transposed", "slices"])
def test_non_contiguous(kata, device, make):
    # Pass all four strides to the kernel: a transposed operand is column-major, a slice has a row
    # stride longer than its row, and b[:, ::2] has a column stride of 2.
    a, b = make(device)
    check_matmul(kata, a, b, on=f"a {describe(a)} @ b {describe(b)}: use the operands' strides")


def test_no_torch_compute(kata, device):
    a, b = randn((64, 48), torch.float32, device, 9), randn((48, 80), torch.float32, device, 10)
    mod = kata.module()
    with forbid_torch_compute() as guard, guard_allocations():
        c = mod.matmul(a, b, config=CFG)
    expect(guard.launches > 0, "matmul(a, b) returned without launching a Triton kernel: compute it in "
                               "matmul_kernel with tl.dot, not with torch or numpy")
    check_close(c, a, b, "(64 x 48) @ (48 x 80) fp32")


@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(512, 512, 512), (1000, 1200, 700)], ids=["512", "1000x1200x700"])
def test_bf16_autotuned(kata, device, shape):
    # The autotuned path (no config) in bf16. The rule: your largest error against float64 at most twice
    # torch.matmul's own in bf16, plus a hair.
    m, k, n = shape
    a, b = randn((m, k), torch.bfloat16, device, 1), randn((k, n), torch.bfloat16, device, 2)
    on = f"{shape} bf16 (autotuned)"
    c = call_checked(kata.module().matmul, a, b, name="matmul(a, b)", on=on, guard=True, like=a, shape=(m, n))
    check_low_precision(kata, c, a.double().cpu() @ b.double().cpu(), a @ b, what=f"matmul(a, b) on {on}",
                        baseline_name="torch.matmul", slack=1e-3, hint="Accumulate in fp32 (tl.dot's default "
                        "accumulator) and round to bf16 once, at the store.")


# --------------------------------------------------------------------------- program order (interpreter)

def grouped_order(num_pid_m, num_pid_n, group_m):
    out = []
    for pid in range(num_pid_m * num_pid_n):
        per_group = group_m * num_pid_n
        first = (pid // per_group) * group_m
        size = min(num_pid_m - first, group_m)
        out.append((first + (pid % per_group) % size, (pid % per_group) // size))
    return out


@pytest.mark.perf
@pytest.mark.interpret
def test_grouped_order(kata, device):
    # Programs run (roughly) in pid order and share the L2 cache. Row-major order (pid_n fastest) makes
    # each wave of programs load one row-panel of A and many column-panels of B; grouped order walks
    # GROUP_M row-tiles down a column first, so a wave touches GROUP_M panels of each. The interpreter
    # runs programs strictly in pid order: the top-left corner of each tile stored, in that order,
    # gives your tile_coords. 7 x 5 tiles: the last group holds 3 rows of tiles, not 4.
    m, k, n = 7 * 32 - 5, 64, 5 * 32 - 3
    a, b = randn((m, k), torch.float16, device, 1), randn((k, n), torch.float16, device, 2)
    mod = kata.module()
    with count_bytes() as moved, guard_allocations():  # moved.store_starts: each tl.store's first address
        c = mod.matmul(a, b, config=CFG)
    records = moved.store_starts
    check_close(c, a, b, f"({m} x {k}) @ ({k} x {n}) fp16 (the program-order input)")
    base, isz = c.data_ptr(), c.element_size()
    tiles = []
    for addr in records:
        idx = (addr - base) // isz
        if 0 <= idx < c.numel():
            tile = (idx // n // 32, idx % n // 32)
            if not tiles or tiles[-1] != tile:
                tiles.append(tile)
    want = grouped_order(7, 5, 4)
    kata.record(tiles_stored=len(tiles))
    if tiles == want:
        return
    first_bad = next((i for i, (t, w) in enumerate(zip(tiles, want)) if t != w), min(len(tiles), len(want)))
    pytest.fail(f"with config {CFG} on a 7 x 5 grid of C tiles, programs stored their tiles in the order\n"
                f"  {tiles[:12]}{' ...' if len(tiles) > 12 else ''}\n"
                f"where grouped ordering (GROUP_M = 4) is\n  {want[:12]} ...\n"
                f"first difference at program {first_bad}. Program pid should take, within its group of "
                "GROUP_M * num_pid_n programs, pid_m = first_pid_m + (pid % group_programs) % group_size_m and "
                "pid_n = (pid % group_programs) // group_size_m, where the last group's size is "
                "min(num_pid_m - first_pid_m, GROUP_M). One program per C tile, launched on a 1-D grid.",
                pytrace=False)


# -------------------------------------------------------------------------------- bytes moved (CPU)

@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("dtype", DTYPES)
def test_bytes_moved(kata, device, dtype):
    # A tiled kernel reads A once per column of tiles and B once per row of tiles, and writes C once:
    # with 32 x 32 tiles that is A x ceil(N/32) + B x ceil(M/32) + C. Padded tiles (rows or columns
    # past the edge loaded anyway) are allowed. An untiled kernel reads B once per row of C.
    m, k, n = 200, 130, 160
    a, b = randn((m, k), DTYPES[dtype], device, 0), randn((k, n), DTYPES[dtype], device, 1)
    isz = a.element_size()
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        c = mod.matmul(a, b, config=CFG)
    check_close(c, a, b, f"the bytes-moved input ({m} x {k}) @ ({k} x {n}) {dtype}")
    tm, tn = -(-m // 32), -(-n // 32)
    need = (tm * 32 * k * tn + k * tn * 32 * tm + m * n) * isz
    exact = (m * k * tn + k * n * tm + m * n) * isz
    kata.record(bytes_moved=moved.total, bytes_tiled=exact, bytes_ratio=round(moved.total / exact, 3),
                launches=moved.launches)
    if moved.total <= need:
        return
    a_times, b_times = tn, tm
    pytest.fail(f"matmul(a, b, config={CFG}) on ({m} x {k}) @ ({k} x {n}) {dtype} moved {moved.total:,} bytes "
                f"({moved.total / exact:.1f}x what 32 x 32 tiles need: A read {a_times} times, B read {b_times} "
                f"times, C written once = {exact:,}; the gate allows padded tiles, {need:,}).\n  {moved}\n"
                "  Each program should load a BLOCK_M x BLOCK_K tile of A and a BLOCK_K x BLOCK_N tile of B per "
                "step and combine them with tl.dot: every element loaded is used BLOCK_M or BLOCK_N times. "
                "Computing one row (or one element) of C per program reloads B for every row.", pytrace=False)


# ------------------------------------------------------------------------------------ TFLOP/s (GPU)

# DESIGN: on an H100 a 5-config Triton matmul reached 0.79x cuBLAS; bf16 cuBLAS ~680 TFLOP/s on an
# H200. The gate leaves margin under that; the untiled naive control (no tl.dot) reaches a few percent.
GPU_N = 8192
VS_TORCH = 0.7


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
@pytest.mark.time_limit(300)
def test_tflops(kata):
    mod = kata.module()
    a = torch.randn((GPU_N, GPU_N), device="cuda", dtype=torch.bfloat16)
    b = torch.randn((GPU_N, GPU_N), device="cuda", dtype=torch.bfloat16)
    c = mod.matmul(a, b)  # autotunes (once per shape), then checks the timed answer
    ref = a @ b
    rel = ((c.float() - ref.float()).norm() / ref.float().norm()).item()
    expect(rel < 1e-2, f"matmul(a, b) on {GPU_N}^3 bf16 is wrong (relative error {rel:.3g}): fix correctness first")
    del c, ref
    ms = gpu_ms(lambda: mod.matmul(a, b))
    torch_ms = gpu_ms(lambda: a @ b)
    flops = 2 * GPU_N ** 3
    ratio = torch_ms / ms
    kata.record(ms=round(ms, 4), tflops=round(tflops(flops, ms), 1), torch_ms=round(torch_ms, 4),
                torch_tflops=round(tflops(flops, torch_ms), 1), speed_vs_torch=round(ratio, 3))
    expect(ratio >= VS_TORCH, (
        f"matmul(a, b) on {GPU_N}^3 bf16 took {ms:.3f} ms ({tflops(flops, ms):.0f} TFLOP/s), torch.matmul "
        f"(cuBLAS) {torch_ms:.3f} ms ({tflops(flops, torch_ms):.0f} TFLOP/s): {ratio:.2f}x; the gate is "
        f"{VS_TORCH}x.\n  Tensor Cores need tl.dot on tiles of at least 64 x 64 here; large tiles (128 x 128, "
        "128 x 256) with BLOCK_K 64, num_stages 3-4 (software pipelining of the loads) and num_warps 4-8 "
        "are the usual winners; GROUP_M 8 keeps A and B panels in L2."))
