"""A fused elementwise chain in Triton: silu(alpha * x + y) * z computed in float32 on each loaded
block, against float64; large magnitudes (sigmoid must not overflow into NaN); and bytes moved: each
input read once, the output written once, nothing in between."""
from functools import partial

import pytest
import torch

from kata.testing import assert_close
from kata.tritonkit import count_bytes, forbid_torch_compute, guard_allocations
from kata.toolkit import call_checked, check_bytes, describe, expect, randn

randn = partial(randn, scale=2.0)  # the inputs: 2 * N(0, 1) unless a test says otherwise

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}
TOL = {torch.float32: (1e-6, 1e-5), torch.float16: (1e-3, 2e-3)}  # (atol, rtol): fp16 is one rounding at the end
ALPHA = 1.5
SIZES = [1, 127, 1025, 7919, 65537]


def reference(x, y, z, alpha):
    t = alpha * x.cpu().double() + y.cpu().double()
    return t * torch.sigmoid(t) * z.cpu().double()


def tolerance(x, y, z, alpha):
    """Per element: the output dtype's rounding, plus float32's rounding of t = alpha * x + y, which matters
    when t is small next to alpha * x and y (they cancel), times |z| (silu's slope is at most 1.1)."""
    atol, rtol = TOL[x.dtype]
    want = reference(x, y, z, alpha).abs()
    t_err = 2.0 ** -22 * (abs(alpha) * x.cpu().double().abs() + y.cpu().double().abs())
    return atol + rtol * want + 1.2 * t_err * z.cpu().double().abs()


def assert_chain_close(out, want, tol, what, on):
    __tracebackhide__ = True
    got = out.cpu().double()
    if not ((got - want).abs() <= tol).all():
        assert_close(got, want, atol=float(tol.max()), what=what, on=on)  # names the worst elements
        raise AssertionError(f"{what} on {on}: some elements are outside the tolerance (per element: the "
                             "output dtype's rounding plus float32 rounding of alpha * x + y)")


def check(kata, x, y, z, alpha, on):
    guard = forbid_torch_compute()  # the output comes back NaN-filled; x, y and z stay as they were
    out = call_checked(kata.module().fused, x, y, z, alpha, name="fused()", on=on, within=[guard], guard=True, like=x)
    expect(x.numel() == 0 or guard.launches >= 1, f"fused() on {on} launched no Triton kernel")
    want = reference(x, y, z, alpha)
    try:
        assert_chain_close(out, want, tolerance(x, y, z, alpha), what=f"fused(x, y, z, alpha={alpha})", on=on)
    except AssertionError as e:
        hint = ""
        got = out.cpu().double()
        t = alpha * x.cpu().double() + y.cpu().double()
        if torch.isnan(got[t.abs() > 80]).any():
            hint = ("\n  NaN where |alpha * x + y| is large: exp(t) overflows to inf there, and inf / inf is NaN. "
                    "Write silu(t) as t / (1 + exp(-t)), which tends to t or -0 instead")
        raise AssertionError(str(e) + hint) from None


@pytest.mark.parametrize("n", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sizes(kata, device, dtype, n):
    d = DTYPES[dtype]
    x, y, z = randn(n, d, device, n), randn(n, d, device, n + 1), randn(n, d, device, n + 2)
    check(kata, x, y, z, ALPHA, on=f"n={n} {dtype} elements")


def test_shape_and_strides(kata, device):
    x = randn((65, 33), torch.float32, device, 1).t()
    y, z = randn((33, 65), torch.float32, device, 2), randn((33, 65), torch.float32, device, 3)
    check(kata, x, y, z, -0.75, on=f"x {describe(x)}, y and z {describe(y)}, alpha=-0.75: make them contiguous first")


@pytest.mark.parametrize("dtype", DTYPES)
def test_large_magnitudes(kata, device, dtype):
    # alpha * x + y reaches +-300 (fp32) or +-60 (fp16: values that large still fit), where exp overflows.
    d = DTYPES[dtype]
    scale = 100.0 if dtype == "fp32" else 20.0
    x, y, z = randn(4097, d, device, 4, scale=scale), randn(4097, d, device, 5, scale=scale), randn(4097, d, device, 6)
    check(kata, x, y, z, ALPHA, on=f"4097 {dtype} elements with |x|, |y| up to {4 * scale:g} (compute in float32)")


# -------------------------------------------------------------------------------- bytes moved (CPU)

@pytest.mark.perf
@pytest.mark.interpret
@pytest.mark.parametrize("dtype", DTYPES)
def test_bytes_moved(kata, device, dtype):
    n, d = 10_007, DTYPES[dtype]
    isz = d.itemsize
    x, y, z = randn(n, d, device, 7), randn(n, d, device, 8), randn(n, d, device, 9)
    mod = kata.module()
    with guard_allocations(), count_bytes() as moved:
        out = mod.fused(x, y, z, ALPHA)
    assert_chain_close(out, reference(x, y, z, ALPHA), tolerance(x, y, z, ALPHA), what="fused()",
                       on="the bytes-moved input")
    need = 4 * n * isz
    check_bytes(kata, moved, need=need, exact=True, unit=isz, noun="elements",
                headline=f"fused() on {n:,} {dtype} elements moved {moved.total:,} bytes; reading x, y, z once and "
                         f"writing out once is 4 x {n:,} x {isz} = {need:,}, so you moved {moved.total / need:.2f}x "
                         "that, and the gate is exactly 1x.",
                launches=(1, "each intermediate one kernel writes and the next reads back costs two passes over "
                             "memory. Do the whole chain in one kernel, in registers"),
                loaded=(3 * n * isz, "x, y and z once each", "mask every load with offsets < n"))
