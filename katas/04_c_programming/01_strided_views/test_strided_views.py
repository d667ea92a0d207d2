"""Strided views against numpy: every view the C code builds must have numpy's shape, strides and
start address, and view_copy must produce numpy's np.ascontiguousarray of it."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import Guarded, assert_equal, assert_unchanged

CDEF = """
typedef struct {
    float *data;
    int ndim;
    long shape[8];
    long strides[8];
} view_t;
float *view_at(const view_t *v, const long *index);
int view_transpose(const view_t *v, const int *perm, view_t *out);
int view_slice(const view_t *v, int axis, long start, long stop, long step, view_t *out);
int view_flip(const view_t *v, int axis, view_t *out);
void view_copy(const view_t *v, float *dst);
"""


class Views:
    def __init__(self, kata):
        self.lib = kata.library(CDEF)
        self.ffi = self.lib.ffi

    def make(self, arr: np.ndarray):
        v = self.ffi.new("view_t *")
        v.data = self.ffi.cast("float *", addr(arr))
        v.ndim = arr.ndim
        for k in range(arr.ndim):
            v.shape[k] = arr.shape[k]
            v.strides[k] = arr.strides[k] // 4
        return v

    def new(self, ndim=3):
        v = self.ffi.new("view_t *")
        v.data = self.ffi.cast("float *", 0x1234)  # junk that must be overwritten or left alone
        v.ndim = -7
        return v

    def address(self, p) -> int:
        return int(self.ffi.cast("intptr_t", p))


def addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def view_text(v) -> str:
    return (f"view(shape={tuple(v.shape[k] for k in range(v.ndim))}, "
            f"strides={tuple(v.strides[k] for k in range(v.ndim))} elements)")


def assert_same_view(V, v, want: np.ndarray, what: str):
    __tracebackhide__ = True
    got_shape = tuple(v.shape[k] for k in range(v.ndim))
    assert v.ndim == want.ndim and got_shape == want.shape, (
        f"{what}: got a view of shape {got_shape}, numpy says {want.shape}")
    if want.size == 0:
        return
    for k in range(want.ndim):
        if want.shape[k] > 1 and v.strides[k] != want.strides[k] // 4:
            raise AssertionError(f"{what}: axis {k} has stride {v.strides[k]} elements, numpy says "
                                 f"{want.strides[k] // 4} ({view_text(v)})")
    got_off = (V.address(v.data) - addr(want)) // 4
    assert got_off == 0, (f"{what}: the view starts {got_off:+d} elements away from where numpy's does: data must "
                          "point at element (0, ..., 0) of the new view")


def poisoned_base(n: int, seed=0):
    """n floats in the middle of a buffer of large negative sentinels: a view reaching outside reads them."""
    rng = np.random.default_rng(seed)
    full = np.full(n + 256, -9999.0, dtype=np.float32)
    full[128:128 + n] = rng.integers(-1000, 1000, n).astype(np.float32)
    return full, full[128:128 + n]


def copy_and_check(V, v, want: np.ndarray, what: str):
    __tracebackhide__ = True
    out = Guarded(max(want.size, 1))
    V.lib.view_copy(v, out.inner)
    out.check_margins("dst")
    assert_equal(out.inner[:want.size], np.ascontiguousarray(want).ravel(), what=f"view_copy of {what}")


# ------------------------------------------------------------------------------------------ tests

def test_view_at_every_index(kata):
    V = Views(kata)
    full, flat = poisoned_base(60)
    a = flat.reshape(3, 4, 5)
    for arr, what in [(a, "a 3x4x5 array"), (a.transpose(2, 0, 1), "a transposed array"),
                      (a[::-1, 1:, ::2], "a sliced, flipped array")]:
        v = V.make(arr)
        for idx in np.ndindex(arr.shape):
            i = V.ffi.new("long[]", list(idx) or [0])
            got = V.address(V.lib.view_at(v, i))
            want = addr(arr) + sum(i * st for i, st in zip(idx, arr.strides))
            assert got == want, f"view_at{idx} on {what}: address off by {(got - want) // 4:+d} elements"


def test_zero_dim_and_empty(kata):
    V = Views(kata)
    full, flat = poisoned_base(12)
    zero = flat[5:6].reshape(())
    v = V.make(zero)
    assert V.address(V.lib.view_at(v, V.ffi.new("long[1]"))) == addr(zero), "a 0-d view's only element is at data"
    copy_and_check(V, v, zero, "a 0-d view")
    a = flat.reshape(3, 4)
    out = V.new()
    assert V.lib.view_slice(V.make(a), 1, 2, 2, 1, out) == 0
    assert_same_view(V, out, a[:, 2:2], "a[:, 2:2]")
    assert V.lib.view_slice(V.make(a), 0, 7, 9, 2, out) == 0
    assert_same_view(V, out, a[7:9:2], "a[7:9:2] (start past the end)")
    copy_and_check(V, out, a[7:9:2], "an empty view")


@pytest.mark.parametrize("case", ["T", "step2", "flip0", "flip1", "stop_clamped", "chain"])
def test_known_views(kata, case):
    V = Views(kata)
    full, flat = poisoned_base(4 * 7)
    a = flat.reshape(4, 7)
    out, tmp = V.new(), V.new()
    if case == "T":
        rc, want = V.lib.view_transpose(V.make(a), V.ffi.new("int[]", [1, 0]), out), a.T
    elif case == "step2":
        rc, want = V.lib.view_slice(V.make(a), 1, 1, 7, 2, out), a[:, 1:7:2]
    elif case == "flip0":
        rc, want = V.lib.view_flip(V.make(a), 0, out), a[::-1]
    elif case == "flip1":
        rc, want = V.lib.view_flip(V.make(a), 1, out), a[:, ::-1]
    elif case == "stop_clamped":
        rc, want = V.lib.view_slice(V.make(a), 0, 1, 100, 3, out), a[1:100:3]
    else:
        assert V.lib.view_flip(V.make(a), 1, tmp) == 0
        assert V.lib.view_slice(tmp, 1, 1, 6, 2, tmp) == 0   # in place: out may be the input
        rc = V.lib.view_transpose(tmp, V.ffi.new("int[]", [1, 0]), out)
        want = a[:, ::-1][:, 1:6:2].T
    assert rc == 0, f"{case}: returned {rc}, expected 0"
    before = full.copy()
    assert_same_view(V, out, want, case)
    copy_and_check(V, out, want, case)
    assert_unchanged(before, full, what="the array behind the view")


def test_rejects_bad_arguments(kata):
    V = Views(kata)
    full, flat = poisoned_base(24)
    v = V.make(flat.reshape(2, 3, 4))
    out = V.new()
    bad = [
        ("transpose perm (0, 0, 1)", lambda: V.lib.view_transpose(v, V.ffi.new("int[]", [0, 0, 1]), out)),
        ("transpose perm (0, 1, 3)", lambda: V.lib.view_transpose(v, V.ffi.new("int[]", [0, 1, 3]), out)),
        ("transpose perm (-1, 0, 1)", lambda: V.lib.view_transpose(v, V.ffi.new("int[]", [-1, 0, 1]), out)),
        ("slice on axis 3", lambda: V.lib.view_slice(v, 3, 0, 1, 1, out)),
        ("slice on axis -1", lambda: V.lib.view_slice(v, -1, 0, 1, 1, out)),
        ("slice with step 0", lambda: V.lib.view_slice(v, 0, 0, 2, 0, out)),
        ("slice with start -1", lambda: V.lib.view_slice(v, 0, -1, 2, 1, out)),
        ("flip on axis 3", lambda: V.lib.view_flip(v, 3, out)),
    ]
    for what, call in bad:
        rc = call()
        assert rc == -1, f"{what}: returned {rc}, expected -1"
        assert out.ndim == -7 and V.address(out.data) == 0x1234, f"{what}: returned -1 but wrote to *out anyway"


OPS = st.one_of(
    st.tuples(st.just("T"), st.randoms(use_true_random=False)),
    st.tuples(st.just("slice"), st.integers(0, 7), st.integers(0, 9), st.integers(0, 11), st.integers(1, 4)),
    st.tuples(st.just("flip"), st.integers(0, 7)),
)


@settings(max_examples=150, deadline=None)
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=4), ops=st.lists(OPS, max_size=5),
       seed=st.integers(0, 2**16))
def test_any_chain_of_views_matches_numpy(kata, shape, ops, seed):
    V = Views(kata)
    full, flat = poisoned_base(int(np.prod(shape)), seed)
    want = flat.reshape(shape)
    v = V.make(want)
    done = []
    for op in ops:
        out = V.new()
        if op[0] == "T":
            perm = list(range(want.ndim))
            op[1].shuffle(perm)
            rc = V.lib.view_transpose(v, V.ffi.new("int[]", perm), out)
            want, text = want.transpose(perm), f".transpose({perm})"
        elif op[0] == "slice":
            axis = op[1] % want.ndim
            _, _, start, stop, step = op
            rc = V.lib.view_slice(v, axis, start, stop, step, out)
            idx = [slice(None)] * want.ndim
            idx[axis] = slice(start, stop, step)
            want = want[tuple(idx)]
            text = "[" + ", ".join([":"] * axis + [f"{start}:{stop}:{step}"]) + "]"
        else:
            axis = op[1] % want.ndim
            rc = V.lib.view_flip(v, axis, out)
            want, text = np.flip(want, axis), f" flipped on axis {axis}"
        done.append(text)
        what = f"a{list(shape)}" + "".join(done)
        assert rc == 0, f"{what}: returned {rc}, expected 0"
        assert_same_view(V, out, want, what)
        v = out
    before = full.copy()
    copy_and_check(V, v, want, f"a{list(shape)}" + "".join(done))
    assert_unchanged(before, full, what="the array behind the view")
