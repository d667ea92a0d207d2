"""Generic sort, map and reduce over void* with callbacks, checked against Python's own sorted()
(which is stable), with records of many sizes; a comparison-count gate; a leak count; and an
AddressSanitizer run of the same calls."""
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import Guarded, assert_close, assert_equal, assert_unchanged
from native import sanitize

HERE = Path(__file__).parent
CDEF = """
typedef struct { long calls; long bad_pointer; const char *lo, *hi; long size; } counter_t;
typedef int (*cmp_fn)(const void *a, const void *b, void *ctx);
typedef void (*map_fn)(const void *in, void *out, void *ctx);
typedef void (*reduce_fn)(void *acc, const void *item, void *ctx);
int generic_sort(void *base, size_t n, size_t size, cmp_fn cmp, void *ctx);
void generic_map(const void *src, void *dst, size_t n, size_t in_size, size_t out_size, map_fn fn, void *ctx);
void generic_reduce(const void *base, size_t n, size_t size, void *acc, reduce_fn fn, void *ctx);
int cmp_i32(const void *a, const void *b, void *ctx);
int cmp_key(const void *a, const void *b, void *ctx);
int cmp_f64_desc(const void *a, const void *b, void *ctx);
void map_i16_to_f64(const void *in, void *out, void *ctx);
void reduce_stats(void *acc, const void *item, void *ctx);
"""


def load(kata):
    return sanitize.counted_library(kata, CDEF, extra_sources=[HERE / "support" / "callbacks.c"])


def sort(kata, lib, arr: np.ndarray, cmp: str, size: int | None = None):
    """generic_sort of arr in place (through the probe, beside the library); returns the comparisons."""
    n = arr.shape[0]
    size = size or arr.itemsize
    rc, calls, after = kata.probe("probes.py").sort(lib, arr, cmp, size)
    assert rc == 0, f"generic_sort returned {rc} for n = {n}, {size}-byte elements (expected 0)"
    arr[...] = after
    return calls


def records(keys, size: int) -> np.ndarray:
    """n records of `size` bytes: an int32 key, then the record's original position repeated as payload."""
    n = len(keys)
    rec = np.zeros((n, size), dtype=np.uint8)
    rec[:, :4] = np.asarray(keys, dtype=np.int32).view(np.uint8).reshape(n, 4)
    for i in range(n):
        rec[i, 4:] = np.frombuffer(np.full((size - 4 + 3) // 4, i, dtype=np.int32).tobytes()[:size - 4], np.uint8)
    return rec


def decode(rec: np.ndarray):
    n, size = rec.shape
    keys = rec[:, :4].copy().view(np.int32).ravel()
    pos = np.zeros(n, dtype=np.int64)
    for b in range(min(size - 4, 4)):  # the original position, little-endian, from the payload bytes
        pos |= rec[:, 4 + b].astype(np.int64) << (8 * b)
    return keys, pos


# ------------------------------------------------------------------------------------------- sort

@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.integers(-2**31, 2**31 - 1), max_size=200))
def test_sort_ints(kata, values):
    lib = load(kata)
    arr = np.array(values, dtype=np.int32)
    sort(kata, lib, arr, "cmp_i32")
    assert_equal(arr, np.array(sorted(values), dtype=np.int32), what="sorted int32 array", on=f"n = {len(values)}")


@pytest.mark.parametrize("size", [4, 6, 12, 24, 100, 300])
def test_sort_records_is_stable(kata, size):
    # Keys from a tiny range: many ties. The payload remembers each record's original position, so
    # a reordering of equal keys is seen, and so is a record torn apart by a short copy.
    for n in [0, 1, 2, 3, 17, 64, 257]:
        check_records(kata, load(kata), size, n)


def check_records(kata, lib, size, n):
    keys = [(i * 7919 + 3) % 5 - 2 for i in range(n)]
    rec = records(keys, size)
    want = rec[sorted(range(n), key=lambda i: keys[i])]
    sort(kata, lib, rec, "cmp_key", size)
    got_keys, got_pos = decode(rec)
    assert_equal(got_keys, np.array(sorted(keys), dtype=np.int32), what="keys", on=f"{n} records of {size} bytes")
    if not np.array_equal(got_pos, decode(want)[1]):
        i = int(np.flatnonzero(got_pos != decode(want)[1])[0])
        raise AssertionError(
            f"{n} records of {size} bytes: the keys are sorted but records with equal keys changed order (at "
            f"position {i}: record {got_pos[i]}, expected record {decode(want)[1][i]}). The sort must be STABLE: "
            "on a tie take the element from the left run (merge sort with cmp <= 0), never swap across the array.")
    if not np.array_equal(rec, want):
        raise AssertionError(f"{n} records of {size} bytes: keys and order are right but some payload bytes are "
                             "wrong: is every element copied whole (all `size` bytes)?")


def test_sort_doubles_descending_with_ctx(kata):
    lib = load(kata)
    rng = np.random.default_rng(5)
    arr = rng.standard_normal(101)
    sort(kata, lib, arr, "cmp_f64_desc")
    assert_equal(arr, np.sort(arr)[::-1], what="doubles sorted with a descending comparator")


# ------------------------------------------------------------------------------------ map, reduce

@pytest.mark.parametrize("n", [0, 1, 7, 100])
def test_map_changes_element_size(kata, n):
    lib = load(kata)
    src = (np.arange(n, dtype=np.int16) * 37 - 500).astype(np.int16)
    before = src.copy()
    out = Guarded(n, dtype=np.float64)
    src_after, out.full[:] = kata.probe("probes.py").map_i16_to_f64(lib, src, out.full, out.margin, n, 0.25)
    out.check_margins("dst")
    assert_unchanged(before, src_after, what="src")
    assert_equal(out.inner, src.astype(np.float64) * 0.25, what="dst (2-byte int16 in, 8-byte double out)")


@pytest.mark.parametrize("n", [0, 1, 23])
def test_reduce_in_order(kata, n):
    lib = load(kata)
    items = np.arange(n, dtype=np.int64) * 3 - 10
    acc = np.zeros(4, dtype=np.int64)
    acc = kata.probe("probes.py").reduce_stats(lib, items, acc)
    want = [int(items.sum()), n, int(items[0]) if n else 0, int(items[-1]) if n else 0]
    assert acc.tolist() == want, f"reduce over {n} items: acc = {acc.tolist()} (sum, count, first, last), expected {want}"


# --------------------------------------------------------------------------------- memory hygiene

def test_sort_frees_its_scratch(kata):
    lib = load(kata)
    lib.reset_counts()
    for size in (4, 24, 300):
        rec = records([(i * 31) % 9 for i in range(50)], size)
        sort(kata, lib, rec, "cmp_key", size)
        lib.assert_no_leaks(after=f"generic_sort of 50 records of {size} bytes")


def test_no_memory_errors_under_asan(kata):
    # The same calls in a program built with -fsanitize=address,undefined: a write past a scratch
    # buffer (on the heap or the stack) is named by file and line.
    sanitize.check_program(kata, "sanitize_generic.c")


# ---------------------------------------------------------------------------------- performance
# Comparisons are the cost a generic sort controls (each is an indirect call the compiler cannot
# inline), and counting them is exact. Merge sort needs at most n*log2(n); insertion sort ~n*n/4.

@pytest.mark.perf
@pytest.mark.parametrize("n", [4096, 10007])
def test_comparison_count(kata, n):
    lib = load(kata)
    arr = np.random.default_rng(n).integers(-10**6, 10**6, n).astype(np.int32)
    calls = sort(kata, lib, arr, "cmp_i32")
    assert_equal(arr, np.sort(arr), what="sorted array")
    bound = n * np.log2(n)
    kata.record(comparisons=int(calls), n_log2_n=int(bound), ratio=round(calls / bound, 3))
    assert calls <= 1.05 * bound, (
        f"sorting {n} random ints took {calls:,} comparisons; n*log2(n) = {bound:,.0f} and the gate is 1.05x that. "
        f"An insertion sort needs about n*n/4 = {n * n // 4:,}. Merge sort (see the hints) stays under n*log2(n).")
