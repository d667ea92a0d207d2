"""Fused softmax in Triton: rows against a float64 softmax (awkward lengths, huge magnitudes, strided
inputs, never-written outputs), no torch compute, then bytes moved (CPU, counted in the interpreter) and
bandwidth (GPU, timed against the copy ceiling and torch.softmax)."""
from functools import partial

import pytest
import torch

from kata.testing import assert_close
from kata.timing import copy_bandwidth, gpu_ms
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bandwidth, check_bytes, check_low_precision, describe, expect, randn

randn = partial(randn, scale=4.0)  # the inputs: 4 * N(0, 1) unless a test says otherwise

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
# |got - want| <= atol + rtol * |want| against float64. The kernel computes in fp32: what is left is
# the rounding of the result to the output dtype (2^-11 relative in fp16) and fp32 exp/sum error.
TOL = {torch.float32: dict(atol=1e-6, rtol=1e-5), torch.float16: dict(atol=1e-6, rtol=1.5e-3)}
# (rows, n_cols): lengths that are not powers of two leave padding lanes in the row's block; 1 and
# 16384 are the extremes of "one row per program".
SHAPES = [(1, 1), (1, 2), (3, 7), (17, 127), (8, 128), (33, 1000), (4, 1025), (3, 4097), (2, 16384)]


def oracle(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x.detach().cpu().double(), dim=-1)


def check_softmax(kata, x, on: str):
    """Call the learner's softmax(x) and check everything about the answer except speed."""
    # What the wrapper allocates comes back NaN-filled, between poisoned margins. The result has the input's
    # shape and dtype (compute in fp32 inside the kernel, store in the input's dtype).
    out = call_checked(kata.module().softmax, x, name="softmax(x)", on=on, guard=True, like=x,
                       hint="compute in fp32 inside the kernel, store in the input's dtype")
    assert_close(out, oracle(x), **TOL[x.dtype], what="softmax(x)", on=on)
    return out


# ---------------------------------------------------------------------------------------- correctness


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{r}x{c}" for r, c in SHAPES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_shapes(kata, device, dtype, shape):
    x = randn(shape, DTYPES[dtype], device, seed=shape[1])
    check_softmax(kata, x, on=f"x of shape {shape} {dtype}")


@pytest.mark.parametrize("case", ["times_1000", "shifted_up", "shifted_down"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_large_magnitudes(kata, device, dtype, case):
    # softmax(x) = softmax(x - c) for any c; exp(x) itself overflows past x = 88 (fp32) and underflows
    # to 0 below -103, so a kernel that skips the max subtraction returns inf/inf or 0/0 = NaN here.
    x = randn((24, 1000), torch.float32, "cpu", seed=7, scale=1.0)
    x = {"times_1000": x * 1000, "shifted_up": x + 5000, "shifted_down": x - 5000}[case]
    x = x.to(dtype=DTYPES[dtype], device=device)
    check_softmax(kata, x, on=f"{dtype} rows of large magnitude ({case.replace('_', ' ')}; values up to "
                              f"{x.abs().max().item():.0f}): subtract the row max before exp")


def _column_slice(device):
    return randn((20, 1024), torch.float32, device, 1)[:, :1000]


def _every_other_row(device):
    return randn((40, 300), torch.float32, device, 2)[::2]


def _transposed(device):
    return randn((300, 20), torch.float32, device, 3).t()


def _fp16_slice(device):
    return randn((9, 2100), torch.float16, device, 4)[1:, 50:2050]


@pytest.mark.parametrize("make", [_column_slice, _every_other_row, _transposed, _fp16_slice],
                         ids=["column_slice", "every_other_row", "transposed", "fp16_slice"])
def test_non_contiguous(kata, device, make):
    # A slice of a wider tensor has row stride > n_cols: a kernel that computes row * n_cols reads the
    # wrong elements. Pass x.stride(0) and x.stride(1) to the kernel.
    x = make(device)
    check_softmax(kata, x, on=f"x {describe(x)}: use the input's strides")


def test_empty(kata, device):
    x = randn((0, 10), torch.float32, device, 0)
    check_softmax(kata, x, on="an input with no rows (return an empty tensor; there is nothing to launch)")


def test_no_torch_compute(kata, device):
    # torch.softmax would pass every other test; the kata is the kernel.
    x = randn((16, 1000), torch.float32, device, 5)
    mod = kata.module()
    with forbid_torch_compute() as guard, guard_allocations():
        out = mod.softmax(x)
    expect(guard.launches > 0, "softmax(x) returned without launching a Triton kernel: the softmax must be "
                               "computed by softmax_kernel, not in Python or numpy")
    assert_close(out, oracle(x), **TOL[torch.float32], what="softmax(x)", on="x of shape (16, 1000) fp32")


@pytest.mark.gpu
@pytest.mark.parametrize("shape", [(64, 1000), (128, 8192), (5, 16384)], ids=["64x1000", "128x8192", "5x16384"])
def test_bf16(kata, device, shape):
    # bf16 is the GPU tier (the interpreter's bf16 arithmetic is wrong). The rule: your error against a
    # float64 softmax is at most twice torch's own bf16 error on the same input, plus a hair.
    x = randn(shape, torch.bfloat16, device, seed=shape[1])
    out = call_checked(kata.module().softmax, x, name="softmax(x)", on=describe(x), guard=True, like=x)
    check_low_precision(kata, out, oracle(x), torch.softmax(x, dim=-1), what=f"softmax(x) on {describe(x)}",
                        baseline_name="torch.softmax", hint="Compute in fp32 inside the kernel (x.to(tl.float32)) "
                                                            "and round to bf16 once, at the store.")


# -------------------------------------------------------------------------------- bytes moved (CPU)

@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("dtype", DTYPES)
def test_bytes_moved(kata, device, dtype):
    # 37 rows of 1000 taken from rows 1024 wide: the row stride is not n_cols and the last block of
    # each row is partial. The fused kernel reads each element once and writes each once.
    rows, n = 37, 1000
    x = randn((rows, 1024), DTYPES[dtype], device, 0)[:, :n]
    isz = x.element_size()
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        out = mod.softmax(x)
    assert_close(out, oracle(x), **TOL[x.dtype], what="softmax(x)", on=f"the bytes-moved input {describe(x)}")
    need = 2 * rows * n * isz
    check_bytes(kata, moved, need=need, unit=isz, noun="elements' worth",
                headline=f"softmax(x) on {describe(x)} moved {moved.total:,} bytes; the minimum is 2 x {rows} x {n} x "
                         f"{isz} = {need:,} (read x once, write the output once), so you moved "
                         f"{moved.total / need:.2f}x that, and the gate is 1x.",
                launches=(1, "each step in its own kernel (max, exp, sum, divide) sends the row through memory "
                             "again; keep the row in registers from load to store"),
                loaded=(rows * n * isz, "reading x once", "a second pass over the row, an fp32 temporary, or an "
                        "unmasked load reading padding"),
                stored=(rows * n * isz, "writing the output once", "temporaries written to memory, or an unmasked store"),
                torch_hint="a .contiguous() copy of a strided input reads and writes it all once more; pass the "
                           "strides to the kernel instead, and allocate the output with torch.empty")


# ---------------------------------------------------------------------------------- bandwidth (GPU)

# Figures to expect (DESIGN, H200): a simple fused Triton softmax 0.93-0.95 of copy bandwidth,
# torch.softmax 0.46 (fp32) and 0.25 (bf16). The naive five-kernel control moves about 8 passes
# (fp32) to 13 passes (bf16, fp32 temporaries) where 2 suffice: at most 0.25 of copy, slower than torch.
GPU_SHAPE = (16384, 8192)
FRACTION_OF_COPY = 0.75
VS_TORCH = 1.0


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_bandwidth(kata, dtype):
    dt = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    mod = kata.module()
    x = torch.randn(GPU_SHAPE, device="cuda").to(dt)
    out = mod.softmax(x)  # compiles, and checks the timed input
    want = torch.softmax(x.float(), dim=-1)
    expect((out.float() - want).abs().max().item() < 1e-2,
           f"softmax(x) on {GPU_SHAPE} {dtype} is wrong: fix correctness before speed")
    del out, want
    torch_ms = gpu_ms(lambda: torch.softmax(x, dim=-1))
    nbytes = 2 * x.numel() * x.element_size()
    check_bandwidth(
        kata, what=f"softmax(x) on {GPU_SHAPE} {dtype}", ms=gpu_ms(lambda: mod.softmax(x)), nbytes=nbytes,
        moves="read x, write out", fraction=FRACTION_OF_COPY, baseline_ms=torch_ms, baseline_name="torch.softmax",
        vs_baseline=VS_TORCH, record=dict(torch_fraction_of_copy=round(nbytes / (torch_ms * 1e-3) / copy_bandwidth(), 3)),
        fraction_hint="Each extra kernel or temporary is another pass over memory: keep the row in registers from "
                      "load to store. num_warps matters for long rows (8 for 8192 columns).",
        baseline_hint="A fused kernel reading each row once beats torch's general-purpose kernel here.")
