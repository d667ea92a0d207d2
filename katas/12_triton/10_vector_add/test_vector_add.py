"""Vector add in Triton: exact sums on awkward sizes, no torch compute, then bytes moved (CPU, counted in
the interpreter) and bandwidth (GPU, timed)."""
from functools import partial

import pytest
import torch

from kata.testing import assert_equal
from kata.timing import gpu_ms
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bandwidth, check_bytes, describe, randn

randn = partial(randn, scale=4.0)  # the inputs: 4 * N(0, 1), seeded

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
# 1025 and the primes are a multiple of no block size: the last block is always partial. 65537 needs
# many programs whatever the block. Each program costs ~0.5 ms in the interpreter: keep these small.
SIZES = [1, 2, 127, 128, 1000, 1024, 1025, 4097, 7919, 65537]


def check_add(kata, x, y, on: str):
    """Call the learner's add(x, y) and check everything about the answer except speed."""
    # The output comes back NaN-filled with poisoned margins around it; the result has the inputs' shape,
    # dtype and device (torch.empty_like(x)), and x and y are left as they were.
    out = call_checked(kata.module().add, x, y, name="add(x, y)", on=on, guard=True, like=x,
                       hint="the result has the inputs' shape and dtype: torch.empty_like(x)")
    want = x.cpu() + y.cpu()  # one rounding, so exact: fp32/fp16/bf16 sums are correctly rounded everywhere
    assert_equal(out, want, what="add(x, y)", on=on)


# ---------------------------------------------------------------------------------------- correctness


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sizes(kata, device, dtype, n):
    x, y = randn(n, DTYPES[dtype], device, seed=n), randn(n, DTYPES[dtype], device, seed=n + 1)
    check_add(kata, x, y, on=f"n={n} {dtype} elements")


@pytest.mark.parametrize("shape", [(3, 333), (2, 3, 129), (64, 64)])
def test_shapes(kata, device, shape):
    # Any shape: the kernel sees numel() elements of flat memory, the result keeps the shape.
    x, y = randn(shape, torch.float32, device, seed=1), randn(shape, torch.float32, device, seed=2)
    check_add(kata, x, y, on=f"inputs of shape {shape}")


def _every_other(device):
    return randn(2000, torch.float32, device, 3)[::2], randn(2000, torch.float32, device, 4)[::2]


def _transposed(device):
    return randn((33, 65), torch.float32, device, 5).t(), randn((33, 65), torch.float32, device, 6).t()


def _one_transposed(device):
    return randn((65, 33), torch.float32, device, 7), randn((33, 65), torch.float32, device, 8).t()


def _a_column(device):
    return randn((1000, 7), torch.float32, device, 9)[:, 3], randn((1000, 7), torch.float32, device, 10)[:, 5]


@pytest.mark.parametrize("make", [_every_other, _transposed, _one_transposed, _a_column],
                         ids=["every_other", "transposed", "one_transposed", "a_column"])
def test_non_contiguous(kata, device, make):
    # This kata handles strided inputs (the README says so): a kernel that reads x_ptr + i walks the
    # storage, not the tensor, so the wrapper must make a contiguous copy first (and allocate the
    # output after: empty_like of a transposed tensor is transposed too).
    x, y = make(device)
    check_add(kata, x, y, on=f"x {describe(x)} and y {describe(y)}: make them contiguous in the wrapper first")


def test_empty(kata, device):
    x, y = randn(0, torch.float32, device, 0), randn(0, torch.float32, device, 1)
    check_add(kata, x, y, on="empty inputs (n=0: return an empty tensor, there is nothing to launch)")


@pytest.mark.parametrize("case", ["shape", "dtype"])
def test_mismatched_inputs_raise(kata, device, case):
    x = randn(1000, torch.float32, device, 0)
    y = randn(999, torch.float32, device, 1) if case == "shape" else randn(1000, torch.float16, device, 1)
    mod = kata.module()
    try:
        with guard_allocations():
            out = mod.add(x, y)
    except NotImplementedError:
        raise
    except Exception:  # noqa: BLE001 - any clear refusal will do; ValueError is what the README asks for
        return
    pytest.fail(f"add(x, y) with x {describe(x)} and y {describe(y)} returned a result of "
                f"{describe(out) if isinstance(out, torch.Tensor) else type(out).__name__} instead of raising. "
                f"Mismatched {case}s are a caller's mistake: a kernel launched anyway reads past the end of the "
                "shorter input or mixes types silently. Check shape and dtype first and raise ValueError.",
                pytrace=False)


def test_no_torch_compute(kata, device):
    # The point of the kata is the kernel: torch's own x + y would pass every other test.
    x, y = randn(4097, torch.float32, device, 0), randn(4097, torch.float32, device, 1)
    mod = kata.module()
    with forbid_torch_compute() as guard, guard_allocations():
        out = mod.add(x, y)
    if guard.launches == 0:
        pytest.fail("add(x, y) returned without launching a Triton kernel: the sum must be computed by "
                    "add_kernel (launch it as add_kernel[grid](...)), not in Python or numpy", pytrace=False)
    assert_equal(out, x.cpu() + y.cpu(), what="add(x, y)", on="n=4097 fp32 elements")


@pytest.mark.gpu
@pytest.mark.parametrize("n", [1, 127, 1000, 4097, 100_003, 2**24 + 3])
def test_bf16(kata, device, n):
    # bf16 is GPU-tier: the interpreter does bf16 arithmetic on raw bits.
    x, y = randn(n, torch.bfloat16, device, seed=n), randn(n, torch.bfloat16, device, seed=n + 1)
    check_add(kata, x, y, on=f"n={n} bf16 elements")


# -------------------------------------------------------------------------------- bytes moved (CPU)

N_BYTES = 10_007  # a prime: the last block is partial whatever BLOCK_SIZE is


@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("dtype", DTYPES)
def test_bytes_moved(kata, device, dtype):
    n, isz = N_BYTES, DTYPES[dtype].itemsize
    x, y = randn(n, DTYPES[dtype], device, 0), randn(n, DTYPES[dtype], device, 1)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:  # the guard's own fills are not counted
        out = mod.add(x, y)
    assert_equal(out, x + y, what="add(x, y)", on=f"n={n} {dtype} elements (the bytes-moved input)")
    need = 3 * n * isz
    check_bytes(kata, moved, need=need, exact=True, unit=isz, noun="elements",
                headline=f"add(x, y) on {n:,} {dtype} elements moved {moved.total:,} bytes; the minimum is 3 x {n:,} x "
                         f"{isz} = {need:,} (read x, read y, write out, once each), so you moved "
                         f"{moved.total / need:.2f}x that, and the gate is exactly 1x.",
                loaded=(2 * n * isz, "reading x and y once", "an unmasked tl.load reads the padding past the end of "
                        "the last block, or a second pass reads data again"),
                stored=(n * isz, "writing out once", "a second pass (copy x into out, then add y in place) or an "
                        "unmasked tl.store"),
                torch_hint="allocate the output with torch.empty_like and let the kernel do all the reading and writing",
                short="less than reading both inputs and writing the output once: some elements are never read or "
                      "written (see the correctness tests)")


# ---------------------------------------------------------------------------------- bandwidth (GPU)

# Measured on an H200 (torch 2.11, triton 3.6): the reference 1.01 of copy bandwidth and 1.00x torch; the
# two-pass naive control 0.60 and 0.60x.
N_GPU = 2**27   # fp32: 1.6 GB moved per call, far past any cache
FRACTION_OF_COPY = 0.85
VS_TORCH = 0.9


def _timed(kata):
    mod = kata.module()
    x, y = randn(N_GPU, torch.float32, "cuda", 0), randn(N_GPU, torch.float32, "cuda", 1)
    out = mod.add(x, y)  # compiles, and checks the timed input is summed right
    if not torch.equal(out, x + y):
        pytest.fail(f"add(x, y) on {N_GPU:,} fp32 elements gave a wrong sum: fix correctness first", pytrace=False)
    del out
    return mod, x, y


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
def test_bandwidth(kata):
    mod, x, y = _timed(kata)
    check_bandwidth(
        kata, what=f"add(x, y) on {N_GPU:,} fp32 elements", ms=gpu_ms(lambda: mod.add(x, y)), nbytes=3 * N_GPU * 4,
        moves="read x, read y, write out", fraction=FRACTION_OF_COPY, fraction_hint=(
            "A second pass over memory (copy, then add) costs 5n elements of traffic instead of 3n; a very small "
            "BLOCK_SIZE means many tiny programs and more overhead per byte (1024 is a good start); torch copies or "
            "fills in the wrapper (.contiguous() of a contiguous tensor is free, torch.zeros_like is not) add "
            "their own traffic."))


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock
def test_vs_torch(kata):
    mod, x, y = _timed(kata)
    check_bandwidth(
        kata, what=f"add(x, y) on {N_GPU:,} fp32 elements", ms=gpu_ms(lambda: mod.add(x, y)), nbytes=3 * N_GPU * 4,
        moves="read x, read y, write out", baseline_ms=gpu_ms(lambda: x + y), baseline_name="torch's x + y",
        vs_baseline=VS_TORCH, baseline_hint="Both are bound by memory bandwidth, so the gap is extra traffic or idle "
                                            "memory: see test_bandwidth's message and the README's hints.")
