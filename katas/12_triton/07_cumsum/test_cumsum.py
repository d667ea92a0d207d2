"""Row-wise prefix sums in Triton: a block scan plus a carry between blocks. int32 exact, fp32 against
float64, strided inputs, and each element read once (bytes moved counted in the interpreter)."""
import pytest
import torch

from kata.testing import assert_close, assert_equal
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bytes, describe, expect, randn

# Row lengths around every block size people pick, and several blocks long.
SHAPES = [(1, 1), (3, 7), (2, 128), (2, 129), (5, 1000), (3, 3001)]


def make(shape, dtype, device, seed):
    if dtype == torch.int32:
        g = torch.Generator().manual_seed(seed)
        return torch.randint(-100, 101, shape, generator=g, dtype=torch.int32).to(device)
    return randn(shape, dtype, device, seed, scale=4.0)


def check(kata, x, on):
    want_dtype = torch.int32 if x.dtype == torch.int32 else torch.float32
    guard = forbid_torch_compute()  # the output comes back NaN/poison-filled; x stays as it was
    out = call_checked(kata.module().cumsum_rows, x, name="cumsum_rows()", on=on, within=[guard], guard=True,
                       returns=torch.Tensor, shape=x.shape, dtype=want_dtype, device=x.device)
    expect(x.numel() == 0 or guard.launches >= 1, f"cumsum_rows() on {on} launched no Triton kernel")
    xc = x.cpu()
    try:
        if x.dtype == torch.int32:
            assert_equal(out, xc.long().cumsum(dim=1).int(), what="cumsum_rows(x)", on=on)
        else:
            xd = xc.double()
            got = out.cpu().double()
            tol = 2e-6 * xd.abs().cumsum(dim=1) + 1e-6
            if not ((got - xd.cumsum(dim=1)).abs() <= tol).all():
                assert_close(got, xd.cumsum(dim=1), atol=float(tol.max()), what="cumsum_rows(x)", on=on)
                raise AssertionError(f"cumsum_rows(x) on {on}: some prefix sums are outside "
                                     "2e-6 * (prefix sum of |x|) + 1e-6 of the float64 answer")
    except AssertionError as e:
        hint = ""
        if x.shape[1] > 1:
            want = xc.double().cumsum(dim=1)
            got = out.cpu().double()
            bad = ~((got - want).abs() <= 1e-3 * want.abs().clamp(min=1))
            cols = bad.any(dim=0).nonzero().flatten()
            if len(cols) and cols[0] > 0:
                hint = (f"\n  the first {int(cols[0])} columns are right and column {int(cols[0])} on is wrong: "
                        "is that where your second block starts? Each chunk's sums must start from the total "
                        "of all chunks before it (a carry)")
        raise AssertionError(str(e) + hint) from None


@pytest.mark.parametrize("dtype", [torch.int32, torch.float32], ids=["int32", "fp32"])
@pytest.mark.parametrize("shape", SHAPES, ids=[f"{m}x{n}" for m, n in SHAPES])
def test_rows(kata, device, shape, dtype):
    x = make(shape, dtype, device, seed=shape[1])
    check(kata, x, on=f"x {describe(x)}")


def test_fp16(kata, device):
    x = make((3, 1000), torch.float16, device, 1)
    check(kata, x, on=f"x {describe(x)} (add in float32; the result is float32)")


@pytest.mark.parametrize("layout", ["transposed", "every_other"])
def test_strided(kata, device, layout):
    x = make((700, 4), torch.int32, device, 2).t() if layout == "transposed" else \
        make((4, 1400), torch.int32, device, 3)[:, ::2]
    check(kata, x, on=f"x {describe(x)}: read x through its strides")


# -------------------------------------------------------------------------------- bytes moved (CPU)

@pytest.mark.perf
@pytest.mark.interpret
def test_bytes_moved(kata, device):
    M, N = 4, 3001
    x = make((M, N), torch.int32, device, 5)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        out = mod.cumsum_rows(x)
    assert_equal(out, x.long().cumsum(dim=1).int(), what="cumsum_rows(x)", on=f"the bytes-moved input {describe(x)}")
    need = 2 * M * N * 4
    check_bytes(kata, moved, need=need, exact=True, unit=4, noun="elements",
                headline=f"cumsum_rows() of x {describe(x)} moved {moved.total:,} bytes; reading x once and writing out "
                         f"once is 2 x {M * N:,} x 4 = {need:,}, and the gate is exactly that.",
                loaded=(M * N * 4, "reading each once", "carry the running total from chunk to chunk instead of "
                        "re-reading earlier chunks (and mask the last one)"),
                stored=(M * N * 4, "writing each once", "write each prefix sum once"),
                short="fewer bytes than the minimum: something is never read or written")
