"""An FFCV-style dataset file: a header page, a metadata table, samples packed into pages; read with
one mmap and no system call per sample (reference)."""
import mmap
import os

import numpy as np

PAGE = 4096
MAGIC = b"KBETON01"
HEADER = np.dtype([("magic", "S8"), ("version", "<u4"), ("page_size", "<u4"), ("count", "<u8"),
                   ("table_offset", "<u8"), ("data_offset", "<u8")])          # 40 bytes at offset 0
ENTRY = np.dtype([("offset", "<u8"), ("length", "<u8"), ("label", "<i8")])    # one per sample


class FormatError(ValueError):
    """Raise this (not another exception) for every malformed file."""


def _up(x):
    return -(-x // PAGE) * PAGE


def write(path, samples, labels) -> None:
    n = len(samples)
    table = np.zeros(n, dtype=ENTRY)
    data_offset = PAGE + _up(n * ENTRY.itemsize)
    pos = data_offset
    for i, s in enumerate(samples):
        size = len(memoryview(s).cast("B"))
        room = PAGE - pos % PAGE
        table[i] = (pos, size, labels[i])
        pos += size
    header = np.zeros(1, dtype=HEADER)
    header[0] = (MAGIC, 1, PAGE, n, PAGE, data_offset)
    with open(path, "wb") as f:
        f.truncate(0)
        f.write(header.tobytes().ljust(PAGE, b"\0"))
        f.write(table.tobytes())
        f.seek(data_offset)
        for (off, _, _), s in zip(table, samples):
            f.seek(int(off))
            f.write(s)
        f.truncate(max(pos, data_offset))


def _check(mm, size):
    """Validate header and table; return plain lists. Reads copies (slices of the map are bytes), so no
    view of the map is left behind in a traceback and the map can be closed on error."""
    h = np.frombuffer(mm[:HEADER.itemsize], dtype=HEADER)[0]
    if h["magic"] != MAGIC or h["version"] != 1 or h["page_size"] != PAGE:
        raise FormatError(f"not a version-1 file with {PAGE}-byte pages: {bytes(h['magic'])!r}")
    n, t, d = int(h["count"]), int(h["table_offset"]), int(h["data_offset"])
    if t < HEADER.itemsize or n > (size - t) // ENTRY.itemsize or t + n * ENTRY.itemsize > d or d > size:
        raise FormatError(f"a table of {n} entries at {t} and data at {d} do not fit in {size} bytes")
    table = np.frombuffer(mm[t:t + n * ENTRY.itemsize], dtype=ENTRY)   # the table, copied once
    off, length = table["offset"], table["length"]
    bad = (off < d) | (off > size) | (length > size - np.minimum(off, size))
    if bad.any():
        i = int(np.argmax(bad))
        raise FormatError(f"sample {i}: [{off[i]}, +{length[i]}) is outside the data region [{d}, {size})")
    return off.tolist(), length.tolist(), table["label"].tolist()   # plain ints: cheap per access


class Reader:
    def __init__(self, path):
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < HEADER.itemsize:
                raise FormatError(f"{size} bytes: shorter than the header")
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            self._off, self._len, self._lab = _check(self._mm, size)
        except BaseException:
            self._mm.close()
            raise
        self._view = memoryview(self._mm)

    def __len__(self) -> int:
        return len(self._off)

    def __getitem__(self, i):
        n = len(self._off)
        if not -n <= i < n:
            raise IndexError(f"sample {i} of {n}")
        if i < 0:
            i += n
        o = self._off[i]
        return self._view[o:o + self._len[i]], self._lab[i]

    def close(self) -> None:
        self._view.release()
        self._mm.close()
