"""A buffered line reader: lines compared with fgets' rules on random files (bytes 0 and '\\n' included,
buffers from 1 byte up, lines longer than the buffer and than the caller's space), also with read()
made to return short counts (as pipes and signals do); the caller's buffer guarded past `cap`; error
paths (missing file, bufsize 0, cap < 2, a directory) with nothing left open or allocated; and read()
calls counted by link-time wrappers: at most one per buffer-full, plus the one that sees the end."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.toolkit import expect
from native import oskit

CDEF = """
typedef struct br br_t;
br_t *br_open(const char *path, size_t bufsize);
long br_readline(br_t *b, char *dst, size_t cap);
void br_close(br_t *b);
"""
POISON = 0xAB


def load(kata):
    return oskit.syscall_library(kata, CDEF)


def fgets_lines(data: bytes, cap: int) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        nl = data.find(b"\n", pos)
        stop = len(data) if nl < 0 else nl + 1
        stop = min(stop, pos + cap - 1)
        out.append(data[pos:stop])
        pos = stop
    return out


def read_lines(lib, probe, data, bufsize, cap, what, limit=None):
    # The probe writes `data` to a file where the library runs (that process may not see the test's
    # tmp_path), and reads it there with br_readline into a buffer of cap + 64 bytes poisoned with 0xAB
    # before each call, to the end and once more; it returns what each call returned and left in dst.
    r = probe.read_lines(lib, data, bufsize, cap)
    expect(r["opened"], f"br_open({what}, bufsize={bufsize}) returned NULL")
    got = []
    for n, head, tail in r["calls"]:
        expect(tail == bytes([POISON]) * 64,
               f"br_readline(cap={cap}) on {what} wrote past dst[{cap - 1}] (at most cap - 1 bytes and the 0 byte fit)")
        if n <= 0:
            break
        expect(n <= cap - 1, f"br_readline(cap={cap}) returned {n}: at most cap - 1 = {cap - 1} bytes fit")
        expect(head[n] == 0, f"br_readline on {what} returned {n} but dst[{n}] is {head[n]}, not the ending 0 byte")
        got.append(head[:n])
        if len(got) > 100_000:
            break
    expect(n == 0, f"br_readline on {what} returned {n} at the end of the file, expected 0"
                   + (f" (read() was limited to {limit} bytes per call: a short read is not an error)" if limit else ""))
    expect(r["after"] == 0, f"br_readline on {what} after the end returned non-zero: it must keep returning 0")
    return got


def compare(got, want, what, limit):
    if got == want:
        return
    i = next((k for k, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
    more = f" (read() returned at most {limit} bytes per call here: a short read is not the end of the file)" if limit else ""
    if i < min(len(got), len(want)):
        pytest.fail(f"{what}: line {i} reads {got[i][:40]!r}, expected {want[i][:40]!r}{more}", pytrace=False)
    pytest.fail(f"{what}: {len(got)} lines came back, expected {len(want)}"
                + (f"; the first missing one is {want[i][:40]!r}" if len(want) > len(got) else
                   f"; the first extra one is {got[i][:40]!r}") + more, pytrace=False)


CONTENT = st.lists(st.one_of(st.binary(max_size=30), st.sampled_from([b"\n", b"\n\n", b"\0", b"x" * 200])),
                   max_size=30).map(b"".join)


@settings(max_examples=80, deadline=None)
@given(data=CONTENT, bufsize=st.sampled_from([1, 2, 3, 7, 64, 4096]), cap=st.sampled_from([2, 3, 5, 80, 10_000]),
       limit=st.sampled_from([0, 0, 1, 5]))
def test_lines_like_fgets(kata, data, bufsize, cap, limit):
    lib, probe = load(kata), kata.probe("probes.py")
    lib.reset_counts()
    lib.read_limit(limit)
    what = f"a {len(data)}-byte file (bufsize {bufsize})"
    got = read_lines(lib, probe, data, bufsize, cap, what, limit)
    lib.read_limit(0)
    compare(got, fgets_lines(data, cap), what, limit)
    lib.assert_no_leaks(after="br_open, br_readline to the end, br_close")


def test_empty_file(kata):
    lib, probe = load(kata), kata.probe("probes.py")
    expect(read_lines(lib, probe, b"", 16, 16, "an empty file") == [], "an empty file has no lines")


def test_error_paths(kata):
    # The files are made and opened by the probe, where the library runs; an open reader comes back
    # (as a handle under `kata grade`) for the library's own functions.
    lib, probe = load(kata), kata.probe("probes.py")
    lib.reset_counts()
    expect(probe.open_file(lib, None, 64) is None, "br_open of a missing file must return NULL")
    expect(probe.open_file(lib, b"hello\n", 0) is None, "br_open with bufsize 0 must return NULL")
    lib.assert_no_leaks(after="br_open of a missing file, and with bufsize 0")
    b = probe.open_file(lib, b"hello\n", 64)
    expect(b is not None, "br_open of a 6-byte file (bufsize 64) returned NULL")
    dst = lib.ffi.new("char[8]")
    for cap in (0, 1):
        expect(lib.br_readline(b, dst, cap) == -1, f"br_readline with cap={cap} must return -1 (no room for a byte "
                                                   "and the 0)")
    expect(lib.br_readline(b, dst, 8) == 6 and lib.ffi.string(dst) == b"hello\n",
           "after refusing cap < 2, br_readline(cap=8) must still read 'hello\\n'")
    lib.br_close(b)
    b = probe.open_file(lib, None, 64, directory=True)  # a directory opens, but read() fails with EISDIR
    if b is not None:
        n = lib.br_readline(b, dst, 8)
        expect(n == -1, f"br_readline on a directory (read() fails with EISDIR) returned {n}, expected -1")
        lib.br_close(b)
    lib.assert_no_leaks(after="br_open, br_readline, br_close (and a directory)")


# ------------------------------------------------------------------ performance: read() calls (counted)
@pytest.mark.perf
def test_one_read_per_buffer(kata):
    lib, probe = load(kata), kata.probe("probes.py")
    g = np.random.default_rng(3)
    data = b"".join(b"x" * int(k) + b"\n" for k in g.integers(0, 120, 800))
    bufsize = 4096
    lib.reset_sys()
    got = read_lines(lib, probe, data, bufsize, 256, f"a {len(data)}-byte file of 800 lines")
    s = lib.sys_counts()
    compare(got, fgets_lines(data, 256), "the 800-line file", 0)
    need = -(-len(data) // bufsize) + 1
    reads = s.read + s.pread  # (the counts cross as their fields; SysCounts.reads is a property)
    kata.record(read_calls=reads, allowed=need, bytes=len(data))
    expect(s.stdio == 0, f"your reader made {s.stdio} stdio calls (fread/fgets/getc...): build it on read() alone")
    expect(reads + s.lseek <= need,
           f"reading {len(data)} bytes in 800 lines with a {bufsize}-byte buffer took {s.read} read(), {s.pread} "
           f"pread() and {s.lseek} lseek() calls; one read() per buffer-full and one that sees the end make {need}. "
           "Fill the whole buffer with one read() and hand lines out of it until it is empty.")
