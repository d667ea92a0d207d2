"""What the mmap-records tests do beside the learner's library: have it open files in a temporary
folder of the probe's own (the learner's process may not see the test's), and read the records at the
addresses mr_record returns. Each function returns data (addresses, the bytes read) or the open file
(a handle, under `kata grade`) for the test to judge; under `kata grade` this file runs in the
learner's process (kata.probe), the checks do not."""
import os
import tempfile

import numpy as np


def open_file(lib, raw):
    """mr_open of a file holding `raw` (bytes; None: no such file). Returns the open mr_file_t, or None
    where mr_open returned NULL. The file's name is gone when this returns (its mapping stays)."""
    with tempfile.TemporaryDirectory(prefix="mrec-") as d:
        path = os.path.join(d, "r.mrec")
        if raw is not None:
            with open(path, "wb") as f:
                f.write(raw)
        f = lib.mr_open(path.encode())
    return None if f == lib.ffi.NULL else f


def records(lib, f, indices, size):
    """mr_record(f, i) for each i: (address, the `size` bytes there), address 0 and None for NULL.
    Stops after a NULL."""
    out = []
    for i in indices:
        p = lib.mr_record(f, i)
        a = int(lib.ffi.cast("uintptr_t", p))
        out.append((a, bytes(lib.ffi.buffer(p, size)) if a else None))
        if not a:
            break
    return out


def addresses(lib, f, indices):
    """mr_record(f, i) for each i, as an address (0 for NULL); nothing is read there."""
    return [int(lib.ffi.cast("uintptr_t", lib.mr_record(f, i))) for i in indices]


def random_access(lib, f, gathers, singles, size):
    """mr_gather(f, idx, len(idx), out) for each index array of `gathers` (into one out buffer of
    256 records of `size` bytes), then mr_record(f, i) for each i of `singles`."""
    out = np.zeros((256, size), np.uint8)
    for idx in gathers:
        lib.mr_gather(f, idx, len(idx), out)
    for i in singles:
        lib.mr_record(f, int(i))
