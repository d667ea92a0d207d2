"""Matrix-vector product in Triton: float32 results against float64, A in any layout read in place,
and bytes moved counted in the interpreter (A once, x once per block of rows)."""
import pytest
import torch

from kata.testing import assert_close
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bytes, describe, expect, randn

SHAPES = [(1, 1), (1, 777), (777, 1), (33, 65), (150, 521)]


def reference(a, x):
    return a.cpu().double() @ x.cpu().double()


def tolerance(a, x):
    # float32 accumulation over N products: error grows with N and with the magnitudes summed.
    return float(2e-6 * (a.cpu().double().abs() @ x.cpu().double().abs()).max() + 1e-6)


def check(kata, a, x, on):
    guard = forbid_torch_compute()  # the output comes back NaN-filled; A and x stay as they were
    y = call_checked(kata.module().matvec, a, x, name="matvec()", on=on, within=[guard], guard=True,
                     returns=torch.Tensor, shape=(a.shape[0],), dtype=torch.float32, device=a.device)
    expect(guard.launches >= 1, f"matvec() on {on} launched no Triton kernel: compute y in matvec_kernel")
    assert_close(y, reference(a, x), atol=tolerance(a, x), what="matvec(A, x)", on=on)


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{n}" for m, n in SHAPES])
def test_fp32(kata, device, shape):
    a, x = randn(shape, torch.float32, device, 1), randn(shape[1], torch.float32, device, 2)
    check(kata, a, x, on=f"A {describe(a)}, x {describe(x)}")


def test_fp16(kata, device):
    a, x = randn((65, 1031), torch.float16, device, 3), randn(1031, torch.float16, device, 4)
    check(kata, a, x, on=f"A {describe(a)}, x {describe(x)} (accumulate in float32)")


@pytest.mark.parametrize("layout", ["transposed", "column_slice", "strided_x"])
def test_strided(kata, device, layout):
    if layout == "transposed":
        a, x = randn((257, 129), torch.float32, device, 5).t(), randn(257, torch.float32, device, 6)
    elif layout == "column_slice":
        a, x = randn((129, 600), torch.float32, device, 7)[:, 3:514:2], randn(256, torch.float32, device, 8)
    else:
        a, x = randn((65, 100), torch.float32, device, 9), randn(300, torch.float32, device, 10)[::3]
    check(kata, a, x, on=f"A {describe(a)}, x {describe(x)}: pass A's strides to the kernel")


# -------------------------------------------------------------------------------- bytes moved (CPU)

ROWS_PER_X = 16  # the gate lets each program of at least 16 rows read x once


@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("layout", ["contiguous", "transposed"])
def test_bytes_moved(kata, device, layout):
    M, N = 200, 301
    a = randn((M, N), torch.float32, device, 11) if layout == "contiguous" else \
        randn((N, M), torch.float32, device, 11).t()
    x = randn(N, torch.float32, device, 12)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        y = mod.matvec(a, x)
    assert_close(y, reference(a, x), atol=tolerance(a, x), what="matvec(A, x)", on=f"the bytes-moved input A {describe(a)}")
    minimum = (M * N + N + M) * 4
    allowed = (M * N + -(-M // ROWS_PER_X) * N + M) * 4
    check_bytes(kata, moved, need=minimum, gate=allowed, unit=4, noun="elements",
                headline=f"matvec() of A {describe(a)} moved {moved.total:,} bytes; reading A and x once and writing y "
                         f"is {minimum:,}, and the gate allows {allowed:,} (x read once per {ROWS_PER_X} rows); you "
                         f"moved {moved.total / minimum:.2f}x the minimum.",
                torch_hint="a transposed A needs no copy; pass a.stride(0) and a.stride(1) to the kernel",
                loaded=((M * N + -(-M // ROWS_PER_X) * N) * 4,
                        f"A ({M * N:,}) plus x ({N}) once per block of {ROWS_PER_X} or more rows",
                        f"one row per program reads x {M} times: give each program a block of rows, and each chunk "
                        "of x serves them all"))
