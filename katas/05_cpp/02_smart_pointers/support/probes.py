"""What the smart-pointer tests do beside the learner's library: read the addresses and floats behind
the pointers it returns. Each function returns data (addresses, float arrays) for the test to judge;
under `kata grade` this file runs in the learner's process (kata.probe), the checks do not."""
import numpy as np


def address(lib, p):
    """A pointer as an integer (0 for nullptr)."""
    return int(lib.ffi.cast("uintptr_t", p))


def floats(lib, p, n):
    """A copy of the n floats at p (an empty array when n is 0)."""
    if not n:
        return np.zeros(0, np.float32)
    return np.frombuffer(lib.ffi.buffer(lib.ffi.cast("float *", p), 4 * n), dtype=np.float32).copy()


def data_address(lib, h):
    """handle_data(h) as an integer."""
    return address(lib, lib.handle_data(h))


def data_floats(lib, h, n):
    """A copy of the n floats at handle_data(h)."""
    return floats(lib, lib.handle_data(h), n)
