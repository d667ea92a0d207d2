"""What the buffered-reader tests do beside the learner's library: have it open files in a temporary
folder of the probe's own (the learner's process may not see the test's), and call br_readline into a
caller's buffer with a poisoned margin past `cap`, in a loop to the end of the file. Each function
returns data (return values, the bytes the buffer held) or an open reader (a handle, under `kata
grade`) for the test to judge; under `kata grade` this file runs in the learner's process
(kata.probe), the checks do not."""
import os
import tempfile

import numpy as np

POISON, MARGIN = 0xAB, 64


def open_file(lib, raw, bufsize, directory=False):
    """br_open(path, bufsize) of a file holding `raw` (bytes; None: no such file), or with `directory`
    of a folder. Returns the open reader, or None where br_open returned NULL. The name is gone when
    this returns (the descriptor stays)."""
    with tempfile.TemporaryDirectory(prefix="br-") as d:
        path = os.path.join(d, "f.txt")
        if directory:
            path = d
        elif raw is not None:
            with open(path, "wb") as f:
                f.write(raw)
        b = lib.br_open(path.encode(), bufsize)
    return None if b == lib.ffi.NULL else b


def read_lines(lib, raw, bufsize, cap, max_lines=100_000):
    """br_open of a file holding `raw`, then br_readline(b, dst, cap) until it returns <= 0, each into
    dst (cap + 64 bytes, all 0xAB before each call), then once more, then br_close. Returns
    {"opened": False} if br_open gave NULL, else {"opened": True, "calls": [(n, dst[:n + 1] where
    0 < n < cap else b"", the 64 bytes dst[cap:])], "after": what the call after the end returned, or
    None}. The loop stops early (no call after the end) after a call that wrote past dst[cap - 1] or
    returned more than cap - 1, and after max_lines + 1 lines."""
    b = open_file(lib, raw, bufsize)
    if b is None:
        return {"opened": False}
    dst = np.full(cap + MARGIN, POISON, np.uint8)
    ptr = lib.ffi.cast("char *", lib.ffi.from_buffer(dst))
    calls, after, lines = [], None, 0
    while True:
        dst[:] = POISON
        n = lib.br_readline(b, ptr, cap)
        tail = dst[cap:].tobytes()
        calls.append((n, dst[:n + 1].tobytes() if 0 < n < cap else b"", tail))
        if n <= 0:
            after = lib.br_readline(b, ptr, cap)
            break
        if n > cap - 1 or tail != bytes([POISON]) * MARGIN:
            break
        lines += 1
        if lines > max_lines:
            break
    lib.br_close(b)
    return {"opened": True, "calls": calls, "after": after}
