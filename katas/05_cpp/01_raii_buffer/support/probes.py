"""What the RAII buffer tests do beside the learner's library: read and write a Buffer's floats at the
address buf_data() returns. Each function returns data (addresses, float arrays) for the test to
judge; under `kata grade` this file runs in the learner's process (kata.probe), the checks do not."""
import numpy as np


def address(lib, b):
    """buf_data(b) as an integer (0 for nullptr)."""
    return int(lib.ffi.cast("uintptr_t", lib.buf_data(b)))


def floats(lib, b):
    """A copy of b's buf_size(b) floats, read at buf_data(b) (an empty array when the size is 0)."""
    n = lib.buf_size(b)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    return np.frombuffer(lib.ffi.buffer(lib.buf_data(b), 4 * n), dtype=np.float32).copy()


def write(lib, b, values, start=0):
    """Write `values` (float32) into b's floats from index `start` on, at buf_data(b)."""
    values = np.asarray(values, dtype=np.float32)
    n = lib.buf_size(b)
    if start < 0 or start + len(values) > n:
        raise IndexError(f"writing {len(values)} floats at {start} into a Buffer of {n}")
    if len(values):
        view = np.frombuffer(lib.ffi.buffer(lib.buf_data(b), 4 * n), dtype=np.float32)
        view[start:start + len(values)] = values
