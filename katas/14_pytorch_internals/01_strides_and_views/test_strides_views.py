"""Sliding windows and 2-D patches as views: values against torch's unfold on contiguous, sliced,
strided and transposed inputs; errors; that unfold itself is not used; and (the performance gate)
that the results share the input's storage: zero bytes copied."""
import pytest
import torch
from hypothesis import given, settings, strategies as st

from kata.testing import assert_equal
from kata.toolkit import OpCensus, describe, expect


def layouts_1d(n, seed):
    """x of length n laid out four ways: contiguous, with a storage offset, every other element
    (stride 2), and a column of a matrix (stride 7, offset 2)."""
    base = torch.arange(1000 * seed, 1000 * seed + 7 * (n + 3), dtype=torch.float32)
    return {
        "contiguous": base[:n].clone(),
        "offset 3": base[3:3 + n],
        "stride 2": base[: 2 * n][::2] if n else base[:0],
        "column (stride 7, offset 2)": base[: 7 * n].reshape(n, 7)[:, 2] if n else base[:0],
    }


def layouts_2d(H, W, seed):
    g = torch.Generator().manual_seed(seed)
    big = torch.randn(H + 5, 2 * W + 5, generator=g)
    return {
        "contiguous": big[:H, :W].contiguous(),
        "sliced (offset, row stride wider than W)": big[2:2 + H, 3:3 + W],
        "every other column": big[:H, : 2 * W:2],
        "transposed": big[:W, :H].contiguous().t(),
    }


def call(fn, *args, on):
    x = args[0]
    before = x.clone()
    out = fn(*args)
    expect(isinstance(out, torch.Tensor), f"{fn.__name__} on {on} returned {describe(out)}, expected a tensor")
    expect(torch.equal(before, x), f"{fn.__name__} on {on} modified its input: inputs are read-only")
    expect(out.dtype == x.dtype, f"{fn.__name__} on {on} returned dtype {out.dtype}, expected the input's {x.dtype}")
    return out


def check_windows(mod, x, size, step, on):
    got = call(mod.sliding_windows, x, size, step, on=on)
    n = x.shape[0]
    want = x.unfold(0, size, step) if size <= n else x.new_empty((0, size))
    expect(tuple(got.shape) == tuple(want.shape),
           f"sliding_windows(x, size={size}, step={step}) on {on}: shape {tuple(got.shape)}, expected "
           f"{tuple(want.shape)} ((n - size) // step + 1 = ({n} - {size}) // {step} + 1 windows of {size}; "
           "count the last window that still fits)")
    assert_equal(got, want, what=f"sliding_windows(x, size={size}, step={step})",
                 on=f"{on}, x = {x.tolist()[:12]}{'...' if n > 12 else ''}; x.stride() = {x.stride()}, "
                    f"x.storage_offset() = {x.storage_offset()}. Row i starts i * step elements of x further on: "
                    "in storage that is i * step * x.stride(0), not i * step")


@pytest.mark.parametrize("n,size,step", [(10, 3, 1), (10, 3, 2), (10, 4, 3), (7, 7, 1), (9, 1, 1), (9, 2, 4), (5, 6, 1)])
def test_sliding_windows(kata, n, size, step):
    mod = kata.module()
    for name, x in layouts_1d(n, n + size).items():
        check_windows(mod, x, size, step, on=f"x of length {n} ({name})")


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 40), size=st.integers(1, 12), step=st.integers(1, 6), layout=st.integers(0, 3))
def test_sliding_windows_any(kata, n, size, step, layout):
    mod = kata.module()
    name, x = list(layouts_1d(n, 1).items())[layout]
    check_windows(mod, x, size, step, on=f"x of length {n} ({name})")


def check_patches(mod, x, kh, kw, stride, on):
    got = call(mod.patches, x, kh, kw, stride, on=on)
    want = x.unfold(0, kh, stride).unfold(1, kw, stride)
    expect(tuple(got.shape) == tuple(want.shape),
           f"patches(x, {kh}, {kw}, stride={stride}) on {on} (x shape {tuple(x.shape)}): shape {tuple(got.shape)}, "
           f"expected {tuple(want.shape)} = (oh, ow, kh, kw)")
    assert_equal(got, want, what=f"patches(x, kh={kh}, kw={kw}, stride={stride})",
                 on=f"{on}, x shape {tuple(x.shape)}, x.stride() = {x.stride()}, x.storage_offset() = "
                    f"{x.storage_offset()}. Four strides: (stride * x.stride(0), stride * x.stride(1), x.stride(0), "
                    "x.stride(1))")


@settings(max_examples=40, deadline=None)
@given(H=st.integers(1, 12), W=st.integers(1, 12), kh=st.integers(1, 5), kw=st.integers(1, 5),
       stride=st.integers(1, 3), layout=st.integers(0, 3))
def test_patches(kata, H, W, kh, kw, stride, layout):
    mod = kata.module()
    kh, kw = min(kh, H), min(kw, W)
    name, x = list(layouts_2d(H, W, H * 13 + W).items())[layout]
    check_patches(mod, x, kh, kw, stride, on=f"a {name} input")


def test_errors(kata):
    mod = kata.module()
    x = torch.arange(10.0)
    for args in [(0, 1), (3, 0), (-1, 1)]:
        with pytest.raises(ValueError):
            mod.sliding_windows(x, *args)
    m = torch.zeros(4, 5)
    for args in [(0, 2, 1), (2, 0, 1), (2, 2, 0), (5, 2, 1), (2, 6, 1)]:
        with pytest.raises(ValueError):
            mod.patches(m, *args)


def test_not_unfold(kata):
    # torch's unfold does exactly this; the lesson is to build the view yourself from strides.
    mod = kata.module()
    x = torch.arange(30.0)[2::2]
    m = torch.arange(48.0).reshape(6, 8).t()
    with OpCensus() as log:
        mod.sliding_windows(x, 4, 2)
        mod.patches(m, 3, 2, 2)
    used = sorted({"unfold"} & set(log.ops))
    expect(not used, f"your code calls aten.{used} (Tensor.unfold): build the views with x.as_strided(size, "
                     f"stride, storage_offset) from x.stride() and x.storage_offset() instead. Ops seen: {sorted(set(log.ops))}")


# ---------------------------------------------------------------------------- performance (no copies)
# A view costs nothing: a new (size, stride, offset) over the same memory. 1,000,000 windows of 64
# floats as copies would be 256 MB; as a view it is 0 bytes. Checked exactly: the result's storage is
# x's storage, and a write into x shows through the result.


@pytest.mark.perf
def test_views_share_storage(kata):
    mod = kata.module()
    base = torch.arange(200.0)
    x = base[5:105]
    w = mod.sliding_windows(x, 8, 3)
    m = base[:192].reshape(12, 16)[1:, 2:]
    p = mod.patches(m, 3, 4, 2)
    for name, got, src in [("sliding_windows(x, 8, 3)", w, x), ("patches(m, 3, 4, 2)", p, m)]:
        same = got.untyped_storage().data_ptr() == src.untyped_storage().data_ptr()
        kata.record(**{f"{name.split('(')[0]}_copied_bytes": 0 if same else got.untyped_storage().nbytes()})
        expect(same, f"{name} returned a tensor with its own storage ({got.untyped_storage().nbytes():,} bytes "
                     "copied): it must be a view of the input, sharing its memory. torch.stack, cat, clone, "
                     "contiguous() and reshape of a non-viewable layout all copy; x.as_strided(...) does not.")
    base[10] = -1.0  # x[5]: in windows 0 and 1 (rows start at 0, 3, ...), at columns 5 and 2
    expect(w[0, 5].item() == -1.0 and w[1, 2].item() == -1.0,
           "a write into the input did not show through sliding_windows' result: it is not a view")
