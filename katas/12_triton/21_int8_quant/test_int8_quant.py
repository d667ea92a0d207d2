"""Row-wise int8 quantize/dequantize in Triton: exact codes against a float64 reference on awkward
shapes and strides, no torch compute, bytes moved (CPU), bandwidth (GPU)."""
from functools import partial

import pytest
import torch

from kata.testing import assert_close, assert_equal
from kata.timing import gpu_ms
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bandwidth, expect, randn

# the inputs: 3 * N(0, 1) unless a test says otherwise, drawn on the device (fast for the large timed ones)
randn = partial(randn, scale=3.0, draw_on_device=True)

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


def reference(x):
    """float64: scale = absmax / 127, q = round half away from zero of x * 127 / absmax."""
    x64 = x.detach().cpu().double()
    absmax = x64.abs().amax(dim=1)
    inv = torch.where(absmax > 0, 127.0 / absmax, torch.zeros_like(absmax))
    v = x64 * inv[:, None]
    q = (torch.sign(v) * torch.floor(v.abs() + 0.5)).clamp(-127, 127)
    return q, absmax / 127.0, v


def check_quantize(kata, x, on):
    q, scale = call_checked(kata.module().quantize, x, name="quantize(x)", on=on, guard=True)  # x stays as it was
    M, N = x.shape
    expect(isinstance(q, torch.Tensor) and q.dtype == torch.int8 and tuple(q.shape) == (M, N),
           f"quantize(x) on {on}: q must be an int8 tensor of shape {(M, N)}, got "
           f"{getattr(q, 'dtype', type(q))} {tuple(getattr(q, 'shape', ()))}")
    expect(isinstance(scale, torch.Tensor) and scale.dtype == torch.float32 and tuple(scale.shape) == (M,),
           f"quantize(x) on {on}: scale must be a float32 tensor of shape {(M,)}, got "
           f"{getattr(scale, 'dtype', type(scale))} {tuple(getattr(scale, 'shape', ()))}")
    want_q, want_s, v = reference(x)
    assert_close(scale, want_s, atol=0, rtol=1e-6, what="scale (absmax / 127 of each row)", on=on)
    # x * (127/absmax) is computed in fp32 by the kernel: where the float64 value sits within 1e-3 of a
    # rounding tie the fp32 one may fall on the other side. Those elements may be off by one.
    tie = (v.abs() - torch.floor(v.abs()) - 0.5).abs() < 1e-3
    got = q.cpu().double()
    assert_equal(torch.where(tie & ((got - want_q).abs() <= 1), want_q, got), want_q,
                 what="q (round(x * 127 / absmax), half away from zero)", on=on)
    return q, scale


def check_dequantize(kata, q, scale, dtype, on):
    # q and scale stay as they were; the output is a `dtype` tensor of q's shape
    out = call_checked(kata.module().dequantize, q, scale, dtype, name=f"dequantize(q, scale, {dtype})", on=on,
                       guard=True, returns=torch.Tensor, shape=q.shape, dtype=dtype)
    want = (q.cpu().float() * scale.cpu()[:, None]).to(dtype)  # one fp32 product, one rounding
    assert_equal(out, want, what="dequantize(q, scale)", on=on)


# ---------------------------------------------------------------------------------------- correctness

SHAPES = [(1, 1), (3, 1000), (17, 333), (5, 4097)]


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{n}" for m, n in SHAPES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip(kata, device, dtype, shape):
    x = randn(shape, DTYPES[dtype], device, seed=shape[0] * 7 + shape[1])
    on = f"x of shape {shape} {dtype}"
    q, scale = check_quantize(kata, x, on)
    check_dequantize(kata, q, scale, DTYPES[dtype], on)


def test_outliers_and_zero_rows(kata, device):
    # A row of zeros (scale 0, q 0: no 0/0), a row with one huge outlier, a row of equal values, and
    # negative maxima: the absmax is the largest |x|, whatever its sign.
    x = randn((6, 300), torch.float32, device, seed=3)
    x[0] = 0
    x[1, 17] = 1e4
    x[2] = -2.5
    x[3, 299] = -50.0
    x[4] = torch.arange(300, dtype=torch.float32, device=device) / 299.0 * 127.0 - 63.5  # many ties
    check_quantize(kata, x, "rows of zeros, an outlier, equal values, a negative maximum, and .5 ties")


def test_strided_input(kata, device):
    # x a column slice of a wider buffer (row stride 700), and x transposed (column stride != 1).
    wide = randn((9, 700), torch.float32, device, seed=4)
    check_quantize(kata, wide[:, 100:613], "x = wide[:, 100:613] (row stride 700)")
    t = randn((513, 9), torch.float16, device, seed=5).t()
    check_quantize(kata, t, f"x transposed (strides {t.stride()})")


def test_no_torch_compute(kata, device):
    x = randn((8, 1000), torch.float32, device, seed=6)
    mod = kata.module()
    with forbid_torch_compute() as guard, guard_allocations():
        q, scale = mod.quantize(x)
        mod.dequantize(q, scale, torch.float32)
    expect(guard.launches >= 2, f"quantize and dequantize launched {guard.launches} Triton kernel(s) between "
           "them: each must run its own kernel")


# -------------------------------------------------------------------------------- bytes moved (CPU)

M_B, N_B = 16, 3001


@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("dtype", DTYPES)
def test_bytes_moved_quantize(kata, device, dtype):
    isz = DTYPES[dtype].itemsize
    x = randn((M_B, N_B), DTYPES[dtype], device, seed=7)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        q, scale = mod.quantize(x)
    need = M_B * N_B * isz + M_B * N_B + M_B * 4
    kata.record(bytes_moved=moved.total, bytes_minimum=need, bytes_ratio=round(moved.total / need, 3))
    expect(moved.total == need, (
        f"quantize(x) on {M_B}x{N_B} {dtype} moved {moved.total:,} bytes; the minimum is {need:,}: read x once "
        f"({M_B * N_B * isz:,}), write q once ({M_B * N_B:,}) and one float32 scale per row ({M_B * 4:,}). "
        f"That is {moved.total / need:.2f}x, and the gate is exactly 1x.\n  {moved}\n"
        "  A row fits in one block (N <= 16384): load it once, take its absmax in registers, and quantize "
        "the same registers. A first kernel for the absmax and a second for the codes reads x twice."))


@pytest.mark.perf
@pytest.mark.interpret
def test_bytes_moved_dequantize(kata, device):
    g = torch.Generator().manual_seed(8)
    q = torch.randint(-127, 128, (M_B, N_B), generator=g, dtype=torch.int8)
    scale = torch.rand(M_B, generator=g) + 0.01
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        mod.dequantize(q, scale, torch.float16)
    need = M_B * N_B + M_B * 4 + M_B * N_B * 2
    kata.record(bytes_moved=moved.total, bytes_minimum=need, bytes_ratio=round(moved.total / need, 3))
    expect(moved.total == need, (
        f"dequantize(q, scale, float16) on {M_B}x{N_B} moved {moved.total:,} bytes; the minimum is {need:,}: "
        f"read q once, read each row's scale once ({M_B} x 4 bytes), write the fp16 output once. That is "
        f"{moved.total / need:.2f}x; the gate is exactly 1x.\n  {moved}\n"
        "  Load the row's scale as one scalar (tl.load(scale_ptr + row)), not once per element."))


# ---------------------------------------------------------------------------------------------- GPU

M_GPU, N_GPU = 16384, 8192  # bf16: 256 MiB of x
FRACTION_OF_COPY = 0.6


@pytest.mark.gpu
def test_bf16(kata, device):
    x = randn((257, 4099), torch.bfloat16, device, seed=9)
    q, scale = check_quantize(kata, x, "x of shape (257, 4099) bf16")
    check_dequantize(kata, q, scale, torch.bfloat16, "(257, 4099) bf16 output")


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
def test_bandwidth(kata, device):
    mod = kata.module()
    x = randn((M_GPU, N_GPU), torch.bfloat16, "cuda", seed=10)
    q, scale = mod.quantize(x)
    mod.dequantize(q, scale, torch.bfloat16)
    q_ms = gpu_ms(lambda: mod.quantize(x))
    d_ms = gpu_ms(lambda: mod.dequantize(q, scale, torch.bfloat16))

    def eager():
        s = x.abs().amax(dim=1, keepdim=True).float() / 127
        return (x / s).round().clamp(-127, 127).to(torch.int8), s
    torch_ms = gpu_ms(eager)
    nbytes = M_GPU * N_GPU * 3 + M_GPU * 4
    hint = ("A second pass over x, or a scale loaded per element, costs bandwidth; so do too few warps for an "
            "8192-wide row (try num_warps=8).")
    check_bandwidth(kata, what=f"quantize on {M_GPU}x{N_GPU} bf16", ms=q_ms, nbytes=nbytes,
                    moves="x, q and the scales once each", fraction=FRACTION_OF_COPY, baseline_ms=torch_ms,
                    baseline_name="eager torch quantize", key="eager", prefix="quantize_", fraction_hint=hint)
    check_bandwidth(kata, what=f"dequantize on {M_GPU}x{N_GPU} bf16", ms=d_ms, nbytes=nbytes,
                    moves="x, q and the scales once each", fraction=FRACTION_OF_COPY, prefix="dequantize_",
                    fraction_hint=hint)
