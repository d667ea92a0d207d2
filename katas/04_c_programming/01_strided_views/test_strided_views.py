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
    """The learner's library and the probe that builds and reads its view_t structs (support/probes.py)."""

    def __init__(self, kata):
        self.lib = kata.library(CDEF)
        self.probe = kata.probe("probes.py")


def addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def source(full: np.ndarray, arr: np.ndarray) -> tuple:
    """(full, start, shape, strides): `arr`, a numpy view into `full`, as the probe rebuilds it."""
    return full, (addr(arr) - addr(full)) // 4, list(arr.shape), [s // 4 for s in arr.strides]


def view_text(v) -> str:
    _, _, shape, strides = v
    return f"view(shape={tuple(shape)}, strides={tuple(strides)} elements)"


def assert_same_view(v, base: int, full: np.ndarray, want: np.ndarray, what: str):
    """v: the probe's (data address, ndim, shape, strides) of the learner's view; base: where the
    probe's copy of `full` starts."""
    __tracebackhide__ = True
    data, ndim, got_shape, strides = v
    got_shape = tuple(got_shape)
    assert ndim == want.ndim and got_shape == want.shape, (
        f"{what}: got a view of shape {got_shape}, numpy says {want.shape}")
    if want.size == 0:
        return
    for k in range(want.ndim):
        if want.shape[k] > 1 and strides[k] != want.strides[k] // 4:
            raise AssertionError(f"{what}: axis {k} has stride {strides[k]} elements, numpy says "
                                 f"{want.strides[k] // 4} ({view_text(v)})")
    got_off = ((data - base) - (addr(want) - addr(full))) // 4
    assert got_off == 0, (f"{what}: the view starts {got_off:+d} elements away from where numpy's does: data must "
                          "point at element (0, ..., 0) of the new view")


def poisoned_base(n: int, seed=0):
    """n floats in the middle of a buffer of large negative sentinels: a view reaching outside reads them."""
    rng = np.random.default_rng(seed)
    full = np.full(n + 256, -9999.0, dtype=np.float32)
    full[128:128 + n] = rng.integers(-1000, 1000, n).astype(np.float32)
    return full, full[128:128 + n]


def copy_and_check(V, src, ops, name, want: np.ndarray, what: str) -> np.ndarray:
    """view_copy of the view `name` that `ops` build from `src` (see source()); returns the source
    buffer as it is after the copy."""
    __tracebackhide__ = True
    out = Guarded(max(want.size, 1))
    dst, after = V.probe.copy(V.lib, *src, ops, name, out.full, out.margin)
    out.full[:] = dst
    out.check_margins("dst")
    assert_equal(out.inner[:want.size], np.ascontiguousarray(want).ravel(), what=f"view_copy of {what}")
    return after


# ------------------------------------------------------------------------------------------ tests

def test_view_at_every_index(kata):
    V = Views(kata)
    full, flat = poisoned_base(60)
    a = flat.reshape(3, 4, 5)
    for arr, what in [(a, "a 3x4x5 array"), (a.transpose(2, 0, 1), "a transposed array"),
                      (a[::-1, 1:, ::2], "a sliced, flipped array")]:
        idxs = list(np.ndindex(arr.shape))
        got = V.probe.at(V.lib, *source(full, arr), idxs)
        for idx, g in zip(idxs, got["at"]):
            want = addr(arr) + sum(i * st for i, st in zip(idx, arr.strides)) - addr(full)
            got_off = g - got["base"]
            assert got_off == want, f"view_at{idx} on {what}: address off by {(got_off - want) // 4:+d} elements"


def test_zero_dim_and_empty(kata):
    V = Views(kata)
    full, flat = poisoned_base(12)
    zero = flat[5:6].reshape(())
    got = V.probe.at(V.lib, *source(full, zero), [()])
    assert got["at"][0] - got["base"] == addr(zero) - addr(full), "a 0-d view's only element is at data"
    copy_and_check(V, source(full, zero), [], "a", zero, "a 0-d view")
    a = flat.reshape(3, 4)
    ops = [("slice", "a", "out", 1, 2, 2, 1), ("slice", "a", "out", 0, 7, 9, 2)]
    got = V.probe.views(V.lib, *source(full, a), ops)
    (rc0, v0), (rc1, v1) = got["ops"]
    assert rc0 == 0, f"a[:, 2:2]: returned {rc0}, expected 0"
    assert_same_view(v0, got["base"], full, a[:, 2:2], "a[:, 2:2]")
    assert rc1 == 0, f"a[7:9:2] (start past the end): returned {rc1}, expected 0"
    assert_same_view(v1, got["base"], full, a[7:9:2], "a[7:9:2] (start past the end)")
    copy_and_check(V, source(full, a), ops, "out", a[7:9:2], "an empty view")


@pytest.mark.parametrize("case", ["T", "step2", "flip0", "flip1", "stop_clamped", "chain"])
def test_known_views(kata, case):
    V = Views(kata)
    full, flat = poisoned_base(4 * 7)
    a = flat.reshape(4, 7)
    if case == "T":
        ops, want = [("T", "a", "out", [1, 0])], a.T
    elif case == "step2":
        ops, want = [("slice", "a", "out", 1, 1, 7, 2)], a[:, 1:7:2]
    elif case == "flip0":
        ops, want = [("flip", "a", "out", 0)], a[::-1]
    elif case == "flip1":
        ops, want = [("flip", "a", "out", 1)], a[:, ::-1]
    elif case == "stop_clamped":
        ops, want = [("slice", "a", "out", 0, 1, 100, 3)], a[1:100:3]
    else:
        ops = [("flip", "a", "tmp", 1),
               ("slice", "tmp", "tmp", 1, 1, 6, 2),   # in place: out may be the input
               ("T", "tmp", "out", [1, 0])]
        want = a[:, ::-1][:, 1:6:2].T
    got = V.probe.views(V.lib, *source(full, a), ops)
    for op, (rc, _) in zip(ops[:-1], got["ops"]):
        assert rc == 0, f"{case}: {op[0]} step returned {rc}, expected 0"
    rc, v = got["ops"][-1]
    assert rc == 0, f"{case}: returned {rc}, expected 0"
    before = full.copy()
    assert_same_view(v, got["base"], full, want, case)
    after = copy_and_check(V, source(full, a), ops, "out", want, case)
    assert_unchanged(before, after, what="the array behind the view")


def test_rejects_bad_arguments(kata):
    V = Views(kata)
    full, flat = poisoned_base(24)
    bad = [
        ("transpose perm (0, 0, 1)", ("T", "a", "out", [0, 0, 1])),
        ("transpose perm (0, 1, 3)", ("T", "a", "out", [0, 1, 3])),
        ("transpose perm (-1, 0, 1)", ("T", "a", "out", [-1, 0, 1])),
        ("slice on axis 3", ("slice", "a", "out", 3, 0, 1, 1)),
        ("slice on axis -1", ("slice", "a", "out", -1, 0, 1, 1)),
        ("slice with step 0", ("slice", "a", "out", 0, 0, 2, 0)),
        ("slice with start -1", ("slice", "a", "out", 0, -1, 2, 1)),
        ("flip on axis 3", ("flip", "a", "out", 3)),
    ]
    got = V.probe.views(V.lib, *source(full, flat.reshape(2, 3, 4)), [op for _, op in bad])
    for (what, _), (rc, (data, ndim, _, _)) in zip(bad, got["ops"]):
        assert rc == -1, f"{what}: returned {rc}, expected -1"
        assert ndim == -7 and data == 0x1234, f"{what}: returned -1 but wrote to *out anyway"


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
    src = source(full, want)
    steps, wants, texts = [], [], []
    for i, op in enumerate(ops):
        prev, dst = ("a" if i == 0 else f"v{i - 1}"), f"v{i}"
        if op[0] == "T":
            perm = list(range(want.ndim))
            op[1].shuffle(perm)
            steps.append(("T", prev, dst, perm))
            want, text = want.transpose(perm), f".transpose({perm})"
        elif op[0] == "slice":
            axis = op[1] % want.ndim
            _, _, start, stop, step = op
            steps.append(("slice", prev, dst, axis, start, stop, step))
            idx = [slice(None)] * want.ndim
            idx[axis] = slice(start, stop, step)
            want = want[tuple(idx)]
            text = "[" + ", ".join([":"] * axis + [f"{start}:{stop}:{step}"]) + "]"
        else:
            axis = op[1] % want.ndim
            steps.append(("flip", prev, dst, axis))
            want, text = np.flip(want, axis), f" flipped on axis {axis}"
        texts.append(text)
        wants.append(want)
    got = V.probe.views(V.lib, *src, steps)
    for i, (rc, v) in enumerate(got["ops"]):
        what = f"a{list(shape)}" + "".join(texts[:i + 1])
        assert rc == 0, f"{what}: returned {rc}, expected 0"
        assert_same_view(v, got["base"], full, wants[i], what)
    before = full.copy()
    after = copy_and_check(V, src, steps, f"v{len(steps) - 1}" if steps else "a", want,
                           f"a{list(shape)}" + "".join(texts))
    assert_unchanged(before, after, what="the array behind the view")
