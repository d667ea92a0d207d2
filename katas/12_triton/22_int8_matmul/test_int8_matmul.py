"""int8 matmul in Triton: exact int32 accumulation (checked against float64) on awkward shapes, worst-case
magnitudes and strided operands; no torch compute; the epilogue fused (CPU, bytes stored); speed against
torch's bf16 matmul (GPU)."""
import pytest
import torch

from kata.testing import assert_close
from kata.timing import gpu_ms, tflops
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, expect


def ints(shape, device, seed, lo=-127, hi=127):
    g = torch.Generator(device=device).manual_seed(seed)
    return torch.randint(lo, hi + 1, shape, generator=g, device=device, dtype=torch.int8)


def scales(n, device, seed):
    g = torch.Generator(device=device).manual_seed(seed)
    return torch.rand(n, generator=g, device=device) * 0.02 + 1e-3


def reference(a, sa, b, sb):
    acc = a.cpu().double() @ b.cpu().double().t()  # exact: integers far below 2**53
    return acc * sa.cpu().double()[:, None] * sb.cpu().double()[None, :]


def check(kata, a, sa, b, sb, out_dtype, on):
    # a_q, a_scale, b_q and b_scale stay as they were; the output is (M, N) in out_dtype
    out = call_checked(kata.module().int8_matmul, a, sa, b, sb, out_dtype, name="int8_matmul(a_q, a_scale, b_q, b_scale)",
                       on=on, guard=True, returns=torch.Tensor, shape=(a.shape[0], b.shape[0]), dtype=out_dtype)
    tol = {torch.float32: 1e-6, torch.float16: 1e-3, torch.bfloat16: 8e-3}[out_dtype]
    assert_close(out, reference(a, sa, b, sb), atol=1e-30, rtol=tol, on=on,
                 what="int8_matmul (int32 sum of products, times a_scale[m] * b_scale[n])")


# ---------------------------------------------------------------------------------------- correctness

SHAPES = [(1, 1, 1), (37, 300, 53), (130, 1000, 96)]


@pytest.mark.parametrize("shape", SHAPES, ids=["x".join(map(str, s)) for s in SHAPES])
@pytest.mark.parametrize("out_dtype", ["fp32", "fp16"])
def test_shapes(kata, device, out_dtype, shape):
    M, K, N = shape
    dt = {"fp32": torch.float32, "fp16": torch.float16}[out_dtype]
    check(kata, ints((M, K), device, M), scales(M, device, 1), ints((N, K), device, N + 1), scales(N, device, 2),
          dt, f"(M, K, N) = {shape}, {out_dtype} output")


def test_worst_case_magnitudes(kata, device):
    # Every product 127 * 127 (or -127 * 127): sums reach 16 million at K = 1000, far past int16.
    M, K, N = 20, 1000, 24
    a = torch.full((M, K), 127, dtype=torch.int8, device=device)
    a[1::2] = -127
    b = torch.full((N, K), 127, dtype=torch.int8, device=device)
    check(kata, a, scales(M, device, 3), b, scales(N, device, 4), torch.float32,
          "every element +-127, K = 1000 (sums of +-16 million)")


def test_strided_operands(kata, device):
    # b as stored by a (K, N) weight and transposed to (N, K); a a slice of a wider activation buffer.
    M, K, N = 40, 200, 33
    wide = ints((M, K + 56), device, 5)
    a = wide[:, 8:8 + K]
    b = ints((K, N), device, 6).t()
    check(kata, a, scales(M, device, 7), b, scales(N, device, 8), torch.float32,
          f"a = wide[:, 8:208] (strides {a.stride()}), b transposed (strides {b.stride()})")


def test_no_torch_compute(kata, device):
    a, b = ints((50, 128), device, 9), ints((40, 128), device, 10)
    sa, sb = scales(50, device, 11), scales(40, device, 12)
    mod = kata.module()
    with forbid_torch_compute() as guard, guard_allocations():
        mod.int8_matmul(a, sa, b, sb, torch.float32)
    expect(guard.launches >= 1, "int8_matmul returned without launching a Triton kernel")


# ------------------------------------------------------------------------------ fused epilogue (CPU)


@pytest.mark.perf
@pytest.mark.interpret
def test_epilogue_fused(kata, device):
    M, K, N = 130, 256, 140
    a, b = ints((M, K), device, 13), ints((N, K), device, 14)
    sa, sb = scales(M, device, 15), scales(N, device, 16)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        mod.int8_matmul(a, sa, b, sb, torch.float16)
    need = M * N * 2
    kata.record(bytes_stored=moved.stored, bytes_stored_minimum=need, launches=moved.launches)
    expect(moved.stored == need and moved.torch_bytes == 0, (
        f"int8_matmul on (M, K, N) = {(M, K, N)} with fp16 output stored {moved.stored:,} bytes from kernels "
        f"(and torch copies/fills moved {moved.torch_bytes:,}); the gate is exactly {need:,}: the fp16 output, "
        f"written once.\n  {moved}\n"
        "  The int32 accumulator never needs to reach memory: multiply it by a_scale[rows, None] and "
        "b_scale[None, cols] while it is still in registers (the epilogue) and store only the result."))


# ---------------------------------------------------------------------------------------------- GPU

M_GPU = N_GPU = K_GPU = 4096
VS_BF16 = 0.5


@pytest.mark.gpu
def test_bf16_output(kata, device):
    M, K, N = 300, 4096, 520
    a, b = ints((M, K), device, 17), ints((N, K), device, 18)
    sa, sb = scales(M, device, 19), scales(N, device, 20)
    mod = kata.module()
    out = mod.int8_matmul(a, sa, b, sb, torch.bfloat16)
    want = reference(a, sa, b, sb)
    err = (out.double().cpu() - want).abs().max().item()
    best = (want.to(torch.bfloat16).double() - want).abs().max().item()  # rounding the exact answer once
    kata.record(max_err=err, rounding_err=best)
    expect(err <= 2 * best + 1e-30, (
        f"int8_matmul on (M, K, N) = {(M, K, N)} with bf16 output: largest error {err:.3g} against float64; "
        f"rounding the exact answer to bf16 errs by {best:.3g}, and the gate is twice that. Accumulate in "
        "int32, scale in float32, round once at the store."))


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
def test_speed(kata, device):
    a, b = ints((M_GPU, K_GPU), "cuda", 21), ints((N_GPU, K_GPU), "cuda", 22)
    sa, sb = scales(M_GPU, "cuda", 23), scales(N_GPU, "cuda", 24)
    mod = kata.module()
    out = mod.int8_matmul(a, sa, b, sb, torch.bfloat16)
    exact = (a.double() @ b.double().t()) * sa.double()[:, None] * sb.double()[None, :]
    rel = ((out.double() - exact).abs() / exact.abs().clamp_min(1e-6)).max().item()
    expect(rel < 1e-2, f"int8_matmul on the timed {M_GPU}^3 input is wrong (relative error {rel:.3g})")
    ms = gpu_ms(lambda: mod.int8_matmul(a, sa, b, sb, torch.bfloat16))
    ab, bb = a.to(torch.bfloat16), b.to(torch.bfloat16)
    bf16_ms = gpu_ms(lambda: ab @ bb.t())
    try:
        int_mm_ms = gpu_ms(lambda: torch._int_mm(a, b.t()))
    except RuntimeError:
        int_mm_ms = float("nan")
    flops = 2 * M_GPU * N_GPU * K_GPU
    kata.record(ms=round(ms, 4), tops=round(tflops(flops, ms), 1), bf16_matmul_ms=round(bf16_ms, 4),
                bf16_tflops=round(tflops(flops, bf16_ms), 1), torch_int_mm_ms=round(int_mm_ms, 4),
                speed_vs_bf16=round(bf16_ms / ms, 3))
    expect(bf16_ms / ms >= VS_BF16, (
        f"int8_matmul on {M_GPU}^3 took {ms:.3f} ms ({tflops(flops, ms):.0f} TOPS); torch's bf16 matmul of the "
        f"same shape {bf16_ms:.3f} ms ({tflops(flops, bf16_ms):.0f} TFLOP/s) and torch._int_mm (no epilogue) "
        f"{int_mm_ms:.3f} ms. You run at {bf16_ms / ms:.2f}x bf16's speed; the gate is {VS_BF16}x. tl.dot on "
        "int8 tiles uses the int8 tensor cores; converting the tiles to float first does not. Tiles of "
        "128 x 128 x 128 with num_warps=8 and num_stages=3 are a good start."))
