"""Row and column sums in Triton: a loop over chunks with one accumulator per output, reduced over the
right axis. float32 results against float64 sums, strided inputs read in place, bytes moved counted."""
from functools import partial

import pytest
import torch

from kata.testing import assert_close
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bytes, describe, expect, randn

randn = partial(randn, scale=4.0)  # the inputs: 4 * N(0, 1), seeded

# Rows and columns longer than any block people pick (so the loop runs several times and ends mid-chunk),
# a single row and a single column, and shapes that are not square (a wrong axis shows).
SHAPES = [(1, 1), (1, 1000), (1000, 1), (33, 65), (65, 33), (150, 521)]
DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
AXIS = {"row_sums": 1, "col_sums": 0}


def check(kata, fn, x, on):
    n_out = x.shape[1 - AXIS[fn]]
    guard = forbid_torch_compute()  # the output comes back NaN-filled; x stays as it was
    out = call_checked(getattr(kata.module(), fn), x, name=f"{fn}()", on=on, within=[guard], guard=True,
                       returns=torch.Tensor, shape=(n_out,), dtype=torch.float32, device=x.device,
                       hint=f"one float32 sum per {'row' if fn == 'row_sums' else 'column'}")
    expect(guard.launches >= 1, f"{fn}() on {on} launched no Triton kernel: sum inside your kernel")
    xd = x.cpu().double()
    want = xd.sum(dim=AXIS[fn])
    # float32 accumulation: error grows with the length summed and the magnitudes added.
    scale = xd.abs().sum(dim=AXIS[fn])
    tol = 2e-6 * scale + 1e-6
    g = out.cpu().double()
    bad = ~((g - want).abs() <= tol)
    if bad.any():
        hint = ""
        other = xd.sum(dim=1 - AXIS[fn])
        if x.shape[0] == x.shape[1] and torch.allclose(g, other, atol=1e-3):
            hint = f"\n  you returned the sums over the other axis ({'columns' if fn == 'row_sums' else 'rows'})"
        assert_close(out, want, atol=float(tol.max()), what=f"{fn}(x)", on=on)
        raise AssertionError(f"{fn}(x) on {on}: wrong{hint}")


@pytest.mark.parametrize("fn", AXIS)
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{n}" for m, n in SHAPES])
def test_fp32(kata, device, shape, fn):
    x = randn(shape, torch.float32, device, seed=shape[0] * 7 + shape[1])
    check(kata, fn, x, on=f"x {describe(x)}")


@pytest.mark.parametrize("fn", AXIS)
def test_fp16(kata, device, fn):
    # Sums of up to 1031 fp16 values reach hundreds, where fp16 values are 0.125 or more apart: accumulate in float32.
    x = randn((65, 1031), torch.float16, device, seed=5)
    check(kata, fn, x, on=f"x {describe(x)} (accumulate in float32)")


@pytest.mark.parametrize("fn", AXIS)
@pytest.mark.parametrize("layout", ["transposed", "every_other_column"])
def test_strided(kata, device, fn, layout):
    if layout == "transposed":
        x = randn((257, 129), torch.float32, device, seed=3).t()
    else:
        x = randn((129, 514), torch.float32, device, seed=4)[:, ::2]
    check(kata, fn, x, on=f"x {describe(x)}: pass x.stride(0) and x.stride(1) to the kernel")


# -------------------------------------------------------------------------------- bytes moved (CPU)

@pytest.mark.perf
@pytest.mark.interpret
# The two cases where the easy way out is a copy: summing the columns of a row-major x (copy the
# transpose, then sum rows) and the rows of a transposed x (call .contiguous() first).
@pytest.mark.parametrize("fn,layout", [("col_sums", "contiguous"), ("row_sums", "transposed")],
                         ids=["col_sums-contiguous", "row_sums-transposed"])
def test_bytes_moved(kata, device, fn, layout):
    M, N = 97, 301
    x = randn((M, N), torch.float32, device, seed=9) if layout == "contiguous" else \
        randn((N, M), torch.float32, device, seed=9).t()
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        out = getattr(mod, fn)(x)
    xd = x.cpu().double()
    assert_close(out, xd.sum(dim=AXIS[fn]), atol=1e-3, what=f"{fn}(x)", on=f"the bytes-moved input x {describe(x)}")
    n_out = x.shape[1 - AXIS[fn]]
    need = (M * N + n_out) * 4
    check_bytes(kata, moved, need=need, exact=True, unit=4, noun="elements",
                headline=f"{fn}() of x {describe(x)} moved {moved.total:,} bytes; the minimum is ({M} x {N} read + "
                         f"{n_out} written) x 4 = {need:,}, and the gate is exactly that.",
                torch_hint="a transposed or strided x needs no copy; give the kernel its strides and pick the axis to sum",
                loaded=(M * N * 4, f"reading each element of the {M} x {N} matrix once",
                        "mask both axes of every tile; do not load padding"),
                stored=(n_out * 4, f"one value per each of the {n_out} sums", "write each sum once, after the loop"),
                short="fewer bytes than the minimum: something is never read or written")
