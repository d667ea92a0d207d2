"""LoRA forward in Triton: against float64 on awkward shapes and ranks, strided and sliced operands; no
torch compute; nothing but y stored (CPU); peak memory and time (GPU)."""
from functools import partial

import pytest
import torch

from kata.testing import assert_close
from kata.timing import gpu_ms, tflops
from kata.tritonkit import count_bytes, forbid_torch_compute, gpu_peak_memory, guard_allocations
from kata.toolkit import call_checked, check_low_precision, expect, randn

# the inputs: 1 * N(0, 1) unless a test says otherwise, drawn on the device (fast for the large timed ones)
randn = partial(randn, scale=1.0, draw_on_device=True)

DTYPES = {"fp32": (torch.float32, 1e-4), "fp16": (torch.float16, 3e-3)}


def operands(M, K, N, r, dtype, device, seed):
    x = randn((M, K), dtype, device, seed)
    W = randn((N, K), dtype, device, seed + 1, scale=K ** -0.5)
    A = randn((r, K), dtype, device, seed + 2, scale=K ** -0.5)
    B = randn((N, r), dtype, device, seed + 3, scale=1.0)  # nonzero (a trained adapter), so the update shows
    return x, W, A, B


def reference(x, W, A, B, alpha):
    x, W, A, B = (t.detach().cpu().double() for t in (x, W, A, B))
    return x @ W.t() + (alpha / A.shape[0]) * (x @ A.t()) @ B.t()


def check(kata, x, W, A, B, alpha, on, tol):
    # x, W, A and B stay as they were; y is (M, N) in x's dtype
    y = call_checked(kata.module().lora_forward, x, W, A, B, alpha, name="lora_forward(x, W, A, B, alpha)", on=on,
                     guard=True, returns=torch.Tensor, shape=(x.shape[0], W.shape[0]), dtype=x.dtype)
    want = reference(x, W, A, B, alpha)
    assert_close(y, want, atol=tol, rtol=tol, what="lora_forward: x @ W.T + (alpha / r) * (x @ A.T) @ B.T", on=on)


# ---------------------------------------------------------------------------------------- correctness

CASES = [(1, 16, 1, 1), (37, 100, 53, 8), (130, 300, 140, 16), (20, 64, 200, 64)]


@pytest.mark.parametrize("case", CASES, ids=[f"M{m}K{k}N{n}r{r}" for m, k, n, r in CASES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_shapes(kata, device, dtype, case):
    M, K, N, r = case
    dt, tol = DTYPES[dtype]
    check(kata, *operands(M, K, N, r, dt, device, seed=M + N), alpha=2.0 * r, tol=tol,
          on=f"(M, K, N, r) = {case} {dtype}, alpha = {2 * r} (so alpha / r = 2)")


def test_scale_is_alpha_over_r(kata, device):
    # alpha = 16, r = 4: the update is scaled by 4, not by 16.
    check(kata, *operands(33, 96, 48, 4, torch.float32, device, seed=1), alpha=16.0, tol=1e-4,
          on="(M, K, N, r) = (33, 96, 48, 4), alpha = 16")


def test_strided_and_sliced(kata, device):
    # x a slice of a wider buffer; W stored (K, N) and transposed; A and B the first r = 8 rows/columns of
    # adapters allocated for rank 16 (the rest holds other values: only r of them belong to this adapter).
    M, K, N, r = 45, 120, 70, 8
    x = randn((M, K + 30), torch.float32, device, 2)[:, 10:10 + K]
    W = randn((K, N), torch.float32, device, 3, scale=K ** -0.5).t()
    A = randn((16, K), torch.float32, device, 4, scale=K ** -0.5)[:r]
    B = randn((N, 16), torch.float32, device, 5)[:, :r]
    check(kata, x, W, A, B, 16.0, f"x {tuple(x.stride())}-strided, W transposed, A = A16[:8], B = B16[:, :8]", 1e-4)


def test_no_torch_compute(kata, device):
    x, W, A, B = operands(40, 64, 50, 8, torch.float32, device, seed=6)
    mod = kata.module()
    with forbid_torch_compute() as guard, guard_allocations():
        mod.lora_forward(x, W, A, B, 16.0)
    expect(guard.launches >= 1, "lora_forward returned without launching a Triton kernel")


# ---------------------------------------------------------------------------------- stores (CPU)


@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("dtype", DTYPES)
def test_only_y_stored(kata, device, dtype):
    M, K, N, r = 130, 256, 140, 16
    dt, _ = DTYPES[dtype]
    x, W, A, B = operands(M, K, N, r, dt, device, seed=7)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        mod.lora_forward(x, W, A, B, 32.0)
    y_bytes = M * N * dt.itemsize
    allowed = y_bytes + M * r * 4
    kata.record(bytes_stored=moved.stored, y_bytes=y_bytes, bytes_loaded=moved.loaded, launches=moved.launches,
                torch_bytes=moved.torch_bytes)
    expect(moved.stored <= allowed and moved.torch_bytes == 0, (
        f"lora_forward on (M, K, N, r) = {(M, K, N, r)} {dtype}: kernels stored {moved.stored:,} bytes and torch "
        f"copies/fills moved {moved.torch_bytes:,}; the gate is at most {allowed:,} stored (y once, {y_bytes:,}, "
        f"plus at most an (M, r) float32 intermediate, {M * r * 4:,}) and no torch copies.\n  {moved}\n"
        "  Fuse the update into the base matmul: in the K loop, dot each x tile with the W tile and with the "
        "A tile; after the loop add (alpha / r) * (xA) @ B.T to the accumulator and store y once. Writing y, "
        "then a y-sized update, then adding them writes y-sized data three times."))


# ---------------------------------------------------------------------------------------------- GPU

M_GPU, K_GPU, N_GPU, R_GPU = 8192, 4096, 4096, 16


@pytest.mark.gpu
def test_bf16(kata, device):
    M, K, N, r = 300, 1024, 520, 16
    x, W, A, B = operands(M, K, N, r, torch.bfloat16, device, seed=8)
    mod = kata.module()
    y = mod.lora_forward(x, W, A, B, 32.0)
    want = reference(x, W, A, B, 32.0)
    eager = x @ W.t() + (32.0 / r) * ((x @ A.t()) @ B.t())
    check_low_precision(kata, y, want, eager, what=f"lora_forward on (M, K, N, r) = {(M, K, N, r)} bf16",
                        baseline_name="torch's own bf16 computation", keys=("max_err", "torch_bf16_err"))


@pytest.mark.gpu
@pytest.mark.perf
def test_peak_memory(kata, device):
    x, W, A, B = operands(M_GPU, K_GPU, N_GPU, R_GPU, torch.bfloat16, "cuda", seed=9)
    mod = kata.module()
    mod.lora_forward(x[:64], W, A, B, 32.0)  # compile outside the measurement
    with gpu_peak_memory() as peak:  # under kata grade, re-derived from the call's tape: see kata.tritonkit
        y = mod.lora_forward(x, W, A, B, 32.0)
    extra = peak.extra
    y_bytes = y.numel() * 2
    ms = gpu_ms(lambda: mod.lora_forward(x, W, A, B, 32.0))
    eager_ms = gpu_ms(lambda: x @ W.t() + (32.0 / R_GPU) * ((x @ A.t()) @ B.t()))
    base_ms = gpu_ms(lambda: x @ W.t())
    flops = 2 * M_GPU * N_GPU * K_GPU
    kata.record(extra_mb=round(extra / 2**20, 1), y_mb=round(y_bytes / 2**20, 1), ms=round(ms, 4),
                tflops=round(tflops(flops, ms), 1), eager_lora_ms=round(eager_ms, 4), base_matmul_ms=round(base_ms, 4))
    limit = y_bytes + (8 << 20)
    expect(extra <= limit, (
        f"lora_forward on (M, K, N, r) = {(M_GPU, K_GPU, N_GPU, R_GPU)} bf16 allocated {extra / 2**20:,.0f} MiB at "
        f"its peak; y itself is {y_bytes / 2**20:,.0f} MiB and the gate is y + 8 MiB. A y-sized temporary for "
        f"the low-rank update doubles it. (Timed, for the record: {ms:.3f} ms; eager LoRA {eager_ms:.3f} ms; "
        f"torch's base matmul alone {base_ms:.3f} ms.)"))
