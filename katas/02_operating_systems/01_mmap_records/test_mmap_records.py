"""Fixed-size records through mmap: records read back in place from files Python writes; gathers of
random indices; bad files (missing, empty, short, wrong magic, truncated, trailing bytes, a count whose
product with the record size wraps around) refused with nothing left open, mapped or allocated; and the
system calls counted (link-time wrappers around read, pread, lseek, mmap: deterministic): random access
must make none, and the file is mapped once."""
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.toolkit import expect
from native import oskit

CDEF = """
typedef struct mr_file mr_file_t;
mr_file_t *mr_open(const char *path);
uint64_t mr_count(const mr_file_t *f);
uint32_t mr_record_size(const mr_file_t *f);
const void *mr_record(const mr_file_t *f, uint64_t i);
int mr_gather(const mr_file_t *f, const uint64_t *idx, uint64_t n, void *out);
void mr_close(mr_file_t *f);
"""
HEADER = 16


def load(kata):
    return oskit.syscall_library(kata, CDEF)


def raw_file(record_size, records, *, count=None, magic=b"MREC", extra=b""):
    return struct.pack("<4sIQ", magic, record_size, len(records) if count is None else count) + b"".join(records) + extra


def make(path, record_size, records, **kw):
    path.write_bytes(raw_file(record_size, records, **kw))
    return path


def open_ok(lib, probe, raw, what):
    # The probe writes the file where the library runs (that process may not see the test's tmp_path)
    # and opens it there; an open file comes back as a handle the library's functions take.
    f = probe.open_file(lib, raw)
    expect(f is not None, f"mr_open on {what} returned NULL: it is a valid record file")
    return f


@settings(max_examples=50, deadline=None)
@given(size=st.integers(1, 100), n=st.integers(0, 60), seed=st.integers(0, 2**32 - 1))
def test_records_in_place(kata, size, n, seed):
    lib, probe = load(kata), kata.probe("probes.py")
    lib.reset_counts()
    recs = [bytes(r) for r in np.random.default_rng(seed).integers(0, 256, (n, size), dtype=np.uint8)]
    what = f"a file of {n} records of {size} bytes"
    f = open_ok(lib, probe, raw_file(size, recs), what)
    count, rsize = lib.mr_count(f), lib.mr_record_size(f)
    expect(count == n, f"{what}: mr_count is {count}, expected {n}")
    expect(rsize == size, f"{what}: mr_record_size is {rsize}, expected {size}")
    got_all = probe.records(lib, f, list(range(n)), size)  # (address, the size bytes there) per record
    base = None
    for i, (rec, (a, got)) in enumerate(zip(recs, got_all)):
        expect(a != 0, f"{what}: mr_record({i}) returned NULL")
        expect(got == rec, f"{what}: record {i} reads {got[:12].hex()}..., expected {rec[:12].hex()}... "
                           f"(record i starts at byte 16 + i * record_size)")
        if base is None:
            base = a
        expect(a == base + i * size,
               f"{what}: record {i} is at {a - base} bytes from record 0, expected {i * size}: return a "
               "pointer into the mapping, not a copy")
    outside = (n, n + 1, 2**63, 2**64 - 1)
    for i, a in zip(outside, probe.addresses(lib, f, list(outside))):
        expect(a == 0, f"{what}: mr_record({i}) must be NULL (count is {n})")
    lib.mr_close(f)
    lib.assert_no_leaks(after="mr_open ... mr_close")


def test_gather(kata):
    lib, probe = load(kata), kata.probe("probes.py")
    g = np.random.default_rng(1)
    size, n = 24, 1000
    data = g.integers(0, 256, (n, size), dtype=np.uint8)
    f = open_ok(lib, probe, raw_file(size, [bytes(r) for r in data]), "a file of 1000 records of 24 bytes")
    for m in (0, 1, 7, 500, 3000):
        idx = g.integers(0, n, m).astype(np.uint64)
        out = np.full((m + 1, size), 0xAB, np.uint8)
        rc = lib.mr_gather(f, idx, m, out)
        expect(rc == 0, f"mr_gather of {m} valid indices returned {rc}")
        bad = np.flatnonzero((out[:m] != data[idx.astype(np.int64)]).any(axis=1))
        expect(bad.size == 0, f"mr_gather of {m} indices: out record {bad[:1].tolist()} (index "
                              f"{idx[bad[:1]].tolist()}) differs from the file's record")
        expect((out[m] == 0xAB).all(), f"mr_gather of {m} records wrote past n * record_size bytes")
    for where in (0, 5, 9):
        idx = g.integers(0, n, 10).astype(np.uint64)
        idx[where] = n + where
        out = np.full((10, size), 0xAB, np.uint8)
        rc = lib.mr_gather(f, idx, 10, out)
        expect(rc == -1, f"mr_gather with index {n + where} (count {n}) at position {where} returned {rc}, expected -1")
        expect((out == 0xAB).all(), f"mr_gather with a bad index at position {where} returned -1 but wrote into out: "
                                    "check every index first, then copy (all or nothing)")
    lib.mr_close(f)


def test_empty_record_file(kata):
    lib, probe = load(kata), kata.probe("probes.py")
    lib.reset_counts()
    f = open_ok(lib, probe, raw_file(8, []), "a file of 0 records (the header alone)")
    count = lib.mr_count(f)
    expect(count == 0, f"mr_count of an empty record file is {count}")
    expect(probe.addresses(lib, f, [0]) == [0], "mr_record(0) of an empty record file must be NULL")
    expect(lib.mr_gather(f, np.zeros(1, np.uint64), 0, np.zeros(8, np.uint8)) == 0, "mr_gather of 0 indices must return 0")
    lib.mr_close(f)
    lib.assert_no_leaks(after="mr_open, mr_close of an empty record file")


BAD = {
    "a missing file": None,
    "an empty file (0 bytes)": lambda p: p.write_bytes(b""),
    "a file shorter than the header": lambda p: p.write_bytes(b"MREC\x08\x00\x00"),
    "a wrong magic": lambda p: make(p, 8, [b"x" * 8] * 3, magic=b"MRED"),
    "a record size of 0": lambda p: make(p, 0, [], count=5),
    "a truncated last record": lambda p: p.write_bytes(make(p, 8, [b"y" * 8] * 4).read_bytes()[:-3]),
    "a count larger than the records present": lambda p: make(p, 8, [b"z" * 8] * 4, count=5),
    "trailing bytes after the last record": lambda p: make(p, 8, [b"w" * 8] * 4, extra=b"!!"),
    "a count whose product with the record size wraps around 2^64": lambda p: make(p, 16, [b"v" * 16], count=2**60 + 1),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_files_refused(kata, tmp_path, case):
    lib, probe = load(kata), kata.probe("probes.py")
    lib.reset_counts()
    path = tmp_path / "bad.mrec"
    if BAD[case]:
        BAD[case](path)
    f = probe.open_file(lib, path.read_bytes() if BAD[case] else None)  # opened where the library runs
    if f is not None:
        lib.mr_close(f)
        pytest.fail(f"mr_open accepted {case}: it must return NULL, or a later mr_record reads outside the file",
                    pytrace=False)
    lib.assert_no_leaks(after=f"mr_open refused {case}")


# ------------------------------------------------------------------ performance: system calls (counted)
@pytest.mark.perf
def test_random_access_makes_no_system_calls(kata):
    lib, probe = load(kata), kata.probe("probes.py")
    size, n = 64, 4096
    raw = raw_file(size, [bytes([i % 251]) * size for i in range(n)])
    lib.reset_counts()
    lib.reset_sys()
    f = open_ok(lib, probe, raw, f"a file of {n} records")
    at_open = lib.sys_counts()
    maps = lib.counts().maps
    heap = lib.counts().live_bytes
    g = np.random.default_rng(2)
    gathers = [g.integers(0, n, 256).astype(np.uint64) for _ in range(40)]
    singles = [int(i) for i in g.integers(0, n, 2000)]
    probe.random_access(lib, f, gathers, singles, size)  # 40 mr_gather of 256, then 2000 mr_record, there
    s = lib.sys_counts()
    lib.mr_close(f)
    # (read + pread: the counts cross as their fields, SysCounts.reads is a property)
    s_reads, open_reads = s.read + s.pread, at_open.read + at_open.pread
    random = s_reads + s.lseek - open_reads - at_open.lseek
    kata.record(reads_at_open=open_reads, bytes_read=s.read_bytes, maps=maps, heap_bytes_open=heap,
                syscalls_random_access=random)
    expect(s_reads == 0 and s.lseek == 0 and s.stdio == 0,
           f"opening the file and 12,240 random record accesses made {s.read} read(), {s.pread} pread(), {s.lseek} "
           f"lseek() and {s.stdio} stdio calls ({s.read_bytes} bytes copied through the kernel): map the file once "
           "and read the records in place, with no system call per access")
    expect(maps == 1, f"mr_open made {maps} mmap calls: map the whole file once")
    expect(heap < 4096, f"an open file holds {heap} bytes of your heap: the records must stay in the mapping, not in "
                        "a copy")
