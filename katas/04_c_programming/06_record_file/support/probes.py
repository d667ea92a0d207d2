"""What the record-file tests do beside the learner's library: have it write and open files in a
temporary folder of the probe's own (the learner's process may not see the test's), and read the
records at the addresses rf_get returns. Each function returns data (return codes, the file's bytes,
addresses, the bytes read) for the test to judge; under `kata grade` this file runs in the learner's
process (kata.probe), the checks do not. An open reader crosses back to the test as a handle."""
import os
import tempfile

import numpy as np


def write(lib, recs, labels):
    """rf_write of the records (a list of bytes) and labels to a fresh file. Returns (rc, the
    file's bytes, or None if there is no file)."""
    blob = np.frombuffer(b"".join(recs) + b"\0", dtype=np.uint8)
    lengths = np.array([len(r) for r in recs] or [0], dtype=np.uint64)
    labs = np.array(labels or [0], dtype=np.int64)
    ffi = lib.ffi
    with tempfile.TemporaryDirectory(prefix="krec-") as d:
        path = os.path.join(d, "w.krec")
        rc = lib.rf_write(path.encode(), ffi.from_buffer("unsigned char[]", blob),
                          ffi.from_buffer("uint64_t[]", lengths), ffi.from_buffer("int64_t[]", labs), len(recs))
        data = None
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
    return rc, data


def _open(lib, raw):
    with tempfile.TemporaryDirectory(prefix="krec-") as d:
        path = os.path.join(d, "r.krec")
        if raw is not None:
            with open(path, "wb") as f:
                f.write(raw)
        return lib.rf_open(path.encode())  # the mapping outlives the file's name


def open_read(lib, raw):
    """rf_open of a file holding `raw` (None: no such file). If it opens: rf_count, then rf_get of
    every record in order (stopping after one that gives NULL), then of the out-of-range indices
    count, count + 1, 2**63, 2**64 - 1. Returns {"reader": the open reader (left open) or None,
    "count", "records": [(address, bytes, label)], "out_of_range": [address]} (addresses 0 for NULL)."""
    ffi = lib.ffi
    r = _open(lib, raw)
    if r == ffi.NULL:
        return {"reader": None}
    n = lib.rf_count(r)
    length, label = ffi.new("uint64_t *"), ffi.new("int64_t *")
    records = []
    for i in range(n):
        p = lib.rf_get(r, i, length, label)
        a = int(ffi.cast("uintptr_t", p))
        records.append((a, bytes(ffi.buffer(p, length[0])) if a else None, label[0]))
        if not a:
            break
    out_of_range = [int(ffi.cast("uintptr_t", lib.rf_get(r, i, length, label)))
                    for i in (n, n + 1, 2**63, 2**64 - 1)]
    return {"reader": r, "count": n, "records": records, "out_of_range": out_of_range}


def gets(lib, r, indices):
    """rf_get(r, i, &length, NULL) for each i (a NULL label pointer is allowed). Returns
    [(address, the bytes there)] (address 0 and None for NULL)."""
    ffi = lib.ffi
    length = ffi.new("uint64_t *")
    out = []
    for i in indices:
        p = lib.rf_get(r, i, length, ffi.NULL)
        a = int(ffi.cast("uintptr_t", p))
        out.append((a, bytes(ffi.buffer(p, length[0])) if a else None))
    return out


def open_close(lib, raw):
    """rf_open of a file holding `raw` (None: no such file); an open reader is closed again.
    Returns whether rf_open gave a reader (not NULL)."""
    r = _open(lib, raw)
    if r == lib.ffi.NULL:
        return False
    lib.rf_close(r)
    return True
