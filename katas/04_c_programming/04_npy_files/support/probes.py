"""What the .npy tests do beside the learner's library: have it write and read files in a temporary
folder of the probe's own (the learner's process may not see the test's), and read what npy_load_f32
left in its npy_array_t, at the addresses it holds. Each function returns data (return codes, the
file's bytes, fields, offsets, the floats read) for the test to judge; under `kata grade` this file
runs in the learner's process (kata.probe), the checks do not."""
import os
import tempfile

import numpy as np


def save(lib, flat, shape, old=None):
    """npy_save_f32 of the float32 values `flat` (in C order) as an array of `shape` (a list: a 0-d
    array's shape does not cross as an array's) to a fresh file, which first holds `old` (bytes) if
    given. Returns (rc, the file's bytes afterwards, or None if there is no file)."""
    with tempfile.TemporaryDirectory(prefix="npy-") as d:
        path = os.path.join(d, "a.npy")
        if old is not None:
            with open(path, "wb") as f:
                f.write(old)
        flat = np.ascontiguousarray(flat, dtype=np.float32).reshape(-1)
        dims = lib.ffi.new("long[]", list(shape) or [0])
        rc = lib.npy_save_f32(path.encode(), lib.ffi.from_buffer("float[]", flat), len(shape), dims)
        data = None
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
    return rc, data


def _addr(lib, p):
    return int(lib.ffi.cast("uintptr_t", p))


def load(lib, raw):
    """Write `raw` (bytes; None: no file at all) to a fresh file and npy_load_f32 it. Returns its rc
    and, when it is NPY_OK: ndim, shape, fortran_order, map_len, data's offset from map, the floats
    at data (as many as the shape says, read only where they lie inside the mapping, else None), and
    map and data after npy_unload."""
    with tempfile.TemporaryDirectory(prefix="npy-") as d:
        path = os.path.join(d, "a.npy")
        if raw is not None:
            with open(path, "wb") as f:
                f.write(raw)
        out = lib.ffi.new("npy_array_t *")
        rc = lib.npy_load_f32(path.encode(), out)
        got = {"rc": rc}
        if rc != 0:
            return got
        k = min(max(out.ndim, 0), 8)
        shape = tuple(out.shape[i] for i in range(k))
        map_addr, data_addr = _addr(lib, out.map), _addr(lib, out.data)
        got.update(ndim=out.ndim, shape=shape, fortran_order=out.fortran_order, map_len=out.map_len,
                   data_offset=data_addr - map_addr)
        n = int(np.prod(shape)) if shape else 1
        inside = map_addr and 0 <= data_addr - map_addr and data_addr - map_addr + 4 * n <= out.map_len
        got["values"] = bytes(lib.ffi.buffer(out.data, 4 * n)) if inside and n >= 0 else None
        lib.npy_unload(out)
        got["after_unload"] = (_addr(lib, out.map), _addr(lib, out.data))
    return got
