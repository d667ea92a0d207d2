"""The outer product in Triton: 2-D tiles built by broadcasting two 1-D blocks, masked on both axes.
Exact results (one rounding per element) on shapes that end mid-tile, no torch compute."""
from functools import partial

import pytest
import torch

from kata.testing import assert_equal
from kata.tritonkit import forbid_torch_compute
from kata.toolkit import call_checked, expect, randn

randn = partial(randn, scale=4.0)  # the inputs: 4 * N(0, 1), seeded

# Not square, not multiples of any power of two past 1, a single row or column, and a 64 x 64 that
# hides a transposed store only if x == y.
SHAPES = [(1, 1), (1, 37), (37, 1), (33, 65), (65, 33), (64, 64), (129, 31), (257, 1031)]


def check_outer(kata, x, y, on):
    M, N = x.numel(), y.numel()
    guard = forbid_torch_compute()  # the output comes back NaN-filled; x and y stay as they were
    out = call_checked(kata.module().outer, x, y, name="outer()", on=on, within=[guard], guard=True,
                       returns=torch.Tensor, shape=(M, N), dtype=x.dtype, device=x.device)
    expect(M * N == 0 or out.is_contiguous(), f"outer() on {on} returned strides {out.stride()}: the result is a "
           f"new row-major tensor (strides ({N}, 1)); allocate it with torch.empty((M, N), ...)")
    expect(M * N == 0 or guard.launches >= 1,
           f"outer() on {on} launched no Triton kernel: compute the products in outer_kernel")
    want = x.cpu()[:, None] * y.cpu()[None, :]  # one rounding per element: exact
    try:
        assert_equal(out, want, what="outer(x, y)", on=on)
    except AssertionError as e:
        hint = ""
        if M != N and M * N > 1 and torch.equal(out.cpu().flatten(), want.t().contiguous().flatten()):
            hint = ("\n  the output holds the transpose, stored row-major: element (i, j) went to j * M + i. "
                    "Row-major (i, j) lives at i * N + j.")
        raise AssertionError(str(e) + hint) from None


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{n}" for m, n in SHAPES])
def test_fp32(kata, device, shape):
    M, N = shape
    x, y = randn(M, torch.float32, device, seed=M), randn(N, torch.float32, device, seed=N + 1000)
    check_outer(kata, x, y, on=f"x of {M} and y of {N} fp32 elements")


@pytest.mark.parametrize("shape", [(33, 65), (257, 1031)], ids=["33x65", "257x1031"])
def test_fp16(kata, device, shape):
    M, N = shape
    x, y = randn(M, torch.float16, device, seed=M), randn(N, torch.float16, device, seed=N + 1000)
    check_outer(kata, x, y, on=f"x of {M} and y of {N} fp16 elements")


def test_strided_inputs(kata, device):
    x = randn(200, torch.float32, device, seed=1)[::3]       # 67 elements, stride 3
    y = randn((45, 3), torch.float32, device, seed=2)[:, 1]  # 45 elements, stride 3
    check_outer(kata, x, y, on="x = a[::3] (67 elements) and y = b[:, 1] (45): strided 1-D views; "
                               "make them contiguous in the wrapper")


def test_empty(kata, device):
    check_outer(kata, randn(0, torch.float32, device, 0), randn(5, torch.float32, device, 1),
                on="an empty x (the result is (0, 5); there is nothing to launch)")
