"""An FFCV-style dataset file: a header page, a metadata table, samples packed into pages; read with
one mmap and no system call per sample. See README.md for the layout and the rules."""
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


def write(path, samples, labels) -> None:
    """Write the samples (a list of bytes-like objects) and their int labels to `path`: header page,
    table from page 1, data from the first page after the table; a sample of at most PAGE bytes never
    crosses a page boundary, a longer one starts on a page boundary."""
    raise NotImplementedError("beton.py: write()")


class Reader:
    def __init__(self, path):
        """Map the file once, check the header and every table entry (raise FormatError), and keep no
        file descriptor of your own open."""
        raise NotImplementedError("beton.py: Reader.__init__()")

    def __len__(self) -> int:
        raise NotImplementedError("beton.py: Reader.__len__()")

    def __getitem__(self, i):
        """(payload, label): payload a read-only view of the sample's bytes inside the mapping (a
        memoryview or a uint8 numpy array), label an int. IndexError outside 0 <= i < len (negative
        indices count from the end, as for a list)."""
        raise NotImplementedError("beton.py: Reader.__getitem__()")

    def close(self) -> None:
        """Release the mapping (call it once every payload view has been dropped)."""
        raise NotImplementedError("beton.py: Reader.close()")
