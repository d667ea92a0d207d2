"""Transpose in Triton: 2-D tiles addressed through strides, exact for every dtype, strided inputs read
in place (bytes moved counted in the interpreter)."""
import pytest
import torch

from kata.testing import assert_equal
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bytes, describe, expect, randn

SHAPES = [(1, 1), (1, 100), (100, 1), (33, 65), (64, 64), (129, 31), (257, 515)]


def make(shape, dtype, device, seed):
    if dtype == torch.int8:
        g = torch.Generator().manual_seed(seed)
        return torch.randint(-128, 128, shape, generator=g, dtype=torch.int8).to(device)
    return randn(shape, dtype, device, seed, scale=4.0)


def check(kata, x, on):
    M, N = x.shape
    guard = forbid_torch_compute()  # the output comes back NaN-filled; x stays as it was
    out = call_checked(kata.module().transpose, x, name="transpose()", on=on, within=[guard], guard=True,
                       returns=torch.Tensor, shape=(N, M), dtype=x.dtype, device=x.device)
    expect(M * N <= 1 or out.is_contiguous(), f"transpose() on {on} returned strides {out.stride()}: the result is a "
           "new row-major tensor (x.t() as a view is not the exercise)")
    expect(M * N == 0 or guard.launches >= 1, f"transpose() on {on} launched no Triton kernel")
    if x.dtype == torch.int8:  # poisoned int8 bytes are not NaN: compare and explain by hand
        want = x.cpu().t()
        bad = (out.cpu() != want).nonzero()
        if len(bad):
            i, j = bad[0].tolist()
            raise AssertionError(f"transpose(x) on {on}: {len(bad)} of {M * N} elements wrong; at [{i}, {j}] got "
                                 f"{out.cpu()[i, j].item()}, expected {want[i, j].item()} (-91 is the poison an "
                                 "unwritten int8 element holds)")
    else:
        assert_equal(out, x.cpu().t(), what="transpose(x)", on=on)


@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{n}" for m, n in SHAPES])
def test_fp32(kata, device, shape):
    x = make(shape, torch.float32, device, seed=shape[0] + 31 * shape[1])
    check(kata, x, on=f"x {describe(x)}")


@pytest.mark.parametrize("dtype", [torch.float16, torch.int8], ids=["fp16", "int8"])
def test_other_dtypes(kata, device, dtype):
    x = make((129, 31), dtype, device, seed=3)
    check(kata, x, on=f"x {describe(x)}")


STRIDED = {
    "transposed": lambda d: make((65, 129), torch.float32, d, 4).t(),
    "every_other_column": lambda d: make((97, 200), torch.float32, d, 5)[:, ::2],
    "row_slice": lambda d: make((300, 77), torch.float32, d, 6)[10:251:3],
}


@pytest.mark.parametrize("layout", STRIDED)
def test_strided(kata, device, layout):
    x = STRIDED[layout](device)
    check(kata, x, on=f"x {describe(x)}: address x through x.stride(0) and x.stride(1)")


# -------------------------------------------------------------------------------- bytes moved (CPU)

@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("layout", STRIDED)
def test_bytes_moved(kata, device, layout):
    x = STRIDED[layout](device)
    M, N = x.shape
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        out = mod.transpose(x)
    assert_equal(out, x.cpu().t(), what="transpose(x)", on=f"the bytes-moved input x {describe(x)}")
    need = 2 * M * N * 4
    check_bytes(kata, moved, need=need, exact=True, unit=4, noun="elements",
                headline=f"transpose() of x {describe(x)} moved {moved.total:,} bytes; reading x once and writing out "
                         f"once is 2 x {M * N:,} x 4 = {need:,}, and the gate is exactly that.",
                torch_hint="a strided x needs no copy; pass its strides and let the kernel read it where it is",
                loaded=(M * N * 4, "reading x once", "mask both axes of every tile, and visit each tile once"),
                stored=(M * N * 4, "writing out once", "mask both axes of every tile, and visit each tile once"),
                short="fewer bytes than the minimum: some elements are never read or written")
