"""What the generic-callback tests do beside the learner's library: hand it pointers into arrays of
the probe's own, with the instructor's C callbacks (support/callbacks.c, linked into the library), and
read the arrays back. Each function returns data (return codes, counts, the arrays after the call) for
the test to judge; under `kata grade` this file runs in the learner's process (kata.probe), the checks
do not."""
import numpy as np


def sort(lib, arr, cmp, size):
    """generic_sort over a copy of arr (n = its first dimension, `size`-byte elements) with the
    callback named `cmp` and a fresh counter_t as ctx. Returns (rc, comparisons counted, arr after)."""
    arr = np.array(arr, copy=True)
    ctx = lib.ffi.new("counter_t *")
    rc = lib.generic_sort(lib.ffi.from_buffer(arr), arr.shape[0], size, getattr(lib.lib, cmp), ctx)
    return rc, ctx.calls, arr


def map_i16_to_f64(lib, src, dst_full, margin, n, scale):
    """generic_map(src, dst_full + margin elements, n, 2, 8, map_i16_to_f64, &scale) on copies.
    Returns (src after, dst_full after)."""
    src, dst = np.array(src, copy=True), np.array(dst_full, copy=True)
    ctx = lib.ffi.new("double *", scale)
    lib.generic_map(lib.ffi.from_buffer(src), lib.ffi.cast("double *", lib.ffi.from_buffer(dst)) + margin,
                    n, 2, 8, lib.lib.map_i16_to_f64, ctx)
    return src, dst


def reduce_stats(lib, items, acc):
    """generic_reduce(items, n, 8, acc, reduce_stats, NULL) on copies; returns acc after."""
    items, acc = np.array(items, copy=True), np.array(acc, copy=True)
    lib.generic_reduce(lib.ffi.from_buffer(items), len(items), 8, lib.ffi.from_buffer(acc), lib.lib.reduce_stats,
                       lib.ffi.NULL)
    return acc
