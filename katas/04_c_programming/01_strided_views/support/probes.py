"""What the strided-view tests do beside the learner's library: build view_t structs over a float
buffer, run view_transpose / view_slice / view_flip / view_at / view_copy on them, and read back what
they hold. Each function returns data (addresses, shapes, strides, the buffers' bytes) for the test to
judge; under `kata grade` this file runs in the learner's process (kata.probe), the checks do not."""
import numpy as np


def _setup(lib, full, start, shape, strides):
    """A copy of `full` (the worker's own memory) and the named views: "a" over it from element
    `start` with `shape` and `strides` (in elements); any other name is made on first use, holding
    junk that the learner's code must overwrite or leave alone (data = 0x1234, ndim = -7)."""
    ffi = lib.ffi
    full = np.array(full, dtype=np.float32, copy=True)
    base = int(ffi.cast("intptr_t", ffi.from_buffer(full)))
    views = {}

    def view(name):
        if name not in views:
            v = ffi.new("view_t *")
            v.data = ffi.cast("float *", 0x1234)
            v.ndim = -7
            views[name] = v
        return views[name]

    a = view("a")
    a.data = ffi.cast("float *", base + 4 * start)
    a.ndim = len(shape)
    for k, (n, s) in enumerate(zip(shape, strides)):
        a.shape[k], a.strides[k] = n, s
    return full, base, view


def _run_op(lib, view, op):
    ffi = lib.ffi
    if op[0] == "T":
        _, src, dst, perm = op
        return lib.view_transpose(view(src), ffi.new("int[]", list(perm) or [0]), view(dst))
    if op[0] == "slice":
        _, src, dst, axis, start, stop, step = op
        return lib.view_slice(view(src), axis, start, stop, step, view(dst))
    _, src, dst, axis = op  # "flip"
    return lib.view_flip(view(src), axis, view(dst))


def describe(lib, v):
    """(data address, ndim, shape, strides) of a view_t, reading at most its 8 axes."""
    k = min(max(v.ndim, 0), 8)
    return (int(lib.ffi.cast("intptr_t", v.data)), v.ndim,
            tuple(v.shape[i] for i in range(k)), tuple(v.strides[i] for i in range(k)))


def views(lib, full, start, shape, strides, ops):
    """Run ops on the named views in turn: ("T", src, dst, perm), ("slice", src, dst, axis, start,
    stop, step), ("flip", src, dst, axis). Returns the buffer's address and, per op, (its return code,
    describe(dst) after it)."""
    full, base, view = _setup(lib, full, start, shape, strides)
    out = []
    for op in ops:
        rc = _run_op(lib, view, op)
        out.append((rc, describe(lib, view(op[2]))))
    return {"base": base, "ops": out}


def at(lib, full, start, shape, strides, indices):
    """view_at on view "a" at each index. Returns the buffer's address and the addresses it gave."""
    full, base, view = _setup(lib, full, start, shape, strides)
    ffi = lib.ffi
    got = [int(ffi.cast("intptr_t", lib.view_at(view("a"), ffi.new("long[]", list(i) or [0])))) for i in indices]
    return {"base": base, "at": got}


def copy(lib, full, start, shape, strides, ops, src, dst_full, margin):
    """Run ops as views() does, then view_copy(view src) into a copy of dst_full from element `margin`.
    Returns (dst_full after, full after): the whole destination, margins included, and the source."""
    full, base, view = _setup(lib, full, start, shape, strides)
    for op in ops:
        _run_op(lib, view, op)
    dst = np.array(dst_full, copy=True)
    lib.view_copy(view(src), lib.ffi.cast("float *", lib.ffi.from_buffer(dst)) + margin)
    return dst, full
