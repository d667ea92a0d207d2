"""The record file, checked from both sides: Python parses what rf_write wrote (header, index,
64-byte alignment, zero padding, exact size), and your reader reads files Python writes with a
different (valid) layout. Then random access without copies, indices out of range, corrupt files that
must be refused, nothing left open or mapped, and a run under AddressSanitizer."""
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from native import sanitize

CDEF = """
typedef struct rf_reader rf_reader_t;
int rf_write(const char *path, const unsigned char *blob, const uint64_t *lengths, const int64_t *labels,
             uint64_t count);
rf_reader_t *rf_open(const char *path);
uint64_t rf_count(const rf_reader_t *r);
const unsigned char *rf_get(const rf_reader_t *r, uint64_t i, uint64_t *length, int64_t *label);
void rf_close(rf_reader_t *r);
"""
MAGIC, HEADER, ENTRY, ALIGN = b"KREC0001", 64, 24, 64


def load(kata):
    return sanitize.counted_library(kata, CDEF)


def write(kata, lib, path, recs, labels):
    """rf_write, run by the probe in a folder of its own; the file it wrote is copied to `path`."""
    rc, raw = kata.probe("probes.py").write(lib, recs, labels)
    assert rc == 0, f"rf_write of {len(recs)} records returned {rc}"
    assert raw is not None, f"rf_write of {len(recs)} records returned 0 but wrote no file"
    path.write_bytes(raw)


def parse(path):
    """Python's own reading of the format (README): returns the records and labels, checking the layout."""
    raw = path.read_bytes()
    assert len(raw) >= HEADER, f"the file is {len(raw)} bytes: shorter than the 64-byte header"
    magic, count, index_off, data_off, size = struct.unpack_from("<8sQQQQ", raw)
    assert magic == MAGIC, f"the file starts with {magic!r}, not {MAGIC!r}"
    assert raw[40:64] == bytes(24), "header bytes 40..63 (reserved) must be zero"
    assert size == len(raw), f"the header's file_size is {size}, the file has {len(raw)} bytes"
    assert index_off == HEADER, f"index_offset is {index_off}: the index follows the header at 64"
    want_data = -(-(HEADER + ENTRY * count) // ALIGN) * ALIGN
    assert data_off == want_data, f"data_offset is {data_off}, expected {want_data} (the index's end, rounded up to 64)"
    recs, labels, pos = [], [], data_off
    for i in range(count):
        off, length, label = struct.unpack_from("<QQq", raw, index_off + ENTRY * i)
        assert off % ALIGN == 0, f"record {i} starts at byte {off}, not a multiple of {ALIGN}"
        expect = -(-pos // ALIGN) * ALIGN
        assert off == expect, f"record {i} starts at {off}; packed in order it starts at {expect}"
        assert raw[pos:off] == bytes(off - pos), f"the padding before record {i} is not zero bytes"
        recs.append(raw[off:off + length])
        labels.append(label)
        pos = off + length
    assert pos == len(raw) or count == 0, f"the file has {len(raw) - pos} bytes after the last record"
    return recs, labels


def python_file(path, recs, labels, *, reverse=True, gap=128):
    """A valid file in another layout: index after a gap, records stored in reverse order with extra space."""
    count = len(recs)
    index_off = HEADER + gap
    data_off = -(-(index_off + ENTRY * count) // ALIGN) * ALIGN
    order = list(range(count))[::-1] if reverse else list(range(count))
    offsets, pos = {}, data_off
    for i in order:
        pos = -(-pos // ALIGN) * ALIGN + ALIGN  # one spare line before each record
        offsets[i] = pos
        pos += len(recs[i])
    size = max(pos, data_off)
    raw = bytearray(size)
    struct.pack_into("<8sQQQQ", raw, 0, MAGIC, count, index_off, data_off, size)
    for i in range(count):
        struct.pack_into("<QQq", raw, index_off + ENTRY * i, offsets[i], len(recs[i]), labels[i])
        raw[offsets[i]:offsets[i] + len(recs[i])] = recs[i]
    path.write_bytes(bytes(raw))
    return path


def read_all(kata, lib, path, what):
    """rf_open of (a copy of) the file at `path`, every record read through rf_get, then the indices
    out of range; returns the reader (a handle, left open), [(bytes, label)] and the addresses."""
    got = kata.probe("probes.py").open_read(lib, path.read_bytes())
    r = got["reader"]
    assert r is not None, f"rf_open on {what} returned NULL"
    n = got["count"]
    out, ptrs = [], []
    for i, (p, data, label) in enumerate(got["records"]):
        assert p != 0, f"rf_get({i}) on {what} returned NULL (count is {n})"
        out.append((data, label))
        ptrs.append(p)
    for i, p in zip((n, n + 1, 2**63, 2**64 - 1), got["out_of_range"]):
        if p != 0:
            raise AssertionError(f"rf_get({i}) on {what} with {n} records returned a pointer: out of range must be NULL")
    return r, out, ptrs, n


RECORDS = st.lists(st.tuples(st.binary(max_size=200), st.integers(-2**63, 2**63 - 1)), max_size=40)


@settings(max_examples=60, deadline=None)
@given(items=RECORDS)
def test_python_reads_what_you_write(kata, tmp_path, items):
    lib = load(kata)
    recs, labels = [r for r, _ in items], [l for _, l in items]
    path = tmp_path / "w.krec"
    write(kata, lib, path, recs, labels)
    got_recs, got_labels = parse(path)
    assert got_recs == recs, "the records in the file differ from the ones written"
    assert got_labels == labels, "the labels in the index differ from the ones written"


@settings(max_examples=60, deadline=None)
@given(items=RECORDS, reverse=st.booleans(), gap=st.sampled_from([0, 8, 64, 200]))
def test_you_read_what_python_writes(kata, tmp_path, items, reverse, gap):
    lib = load(kata)
    lib.reset_counts()
    recs, labels = [r for r, _ in items], [l for _, l in items]
    path = python_file(tmp_path / "p.krec", recs, labels, reverse=reverse, gap=gap)
    what = f"a file of {len(recs)} records (index {gap} bytes after the header, records {'reversed' if reverse else 'in order'})"
    r, out, ptrs, n = read_all(kata, lib, path, what)
    assert n == len(recs), f"{what}: rf_count is {n}, expected {len(recs)}"
    for i, ((data, label), rec, lab) in enumerate(zip(out, recs, labels)):
        assert data == rec, f"{what}: record {i} reads {data[:16]!r}..., expected {rec[:16]!r}...: follow the index"
        assert label == lab, f"{what}: record {i} label {label}, expected {lab}"
    lib.rf_close(r)
    lib.assert_no_leaks(after="rf_open ... rf_close")


def test_random_access_is_zero_copy(kata, tmp_path):
    lib = load(kata)
    lib.reset_counts()
    recs = [bytes([i]) * (i * 37 % 300) for i in range(200)]
    write(kata, lib, tmp_path / "z.krec", recs, list(range(200)))
    r, out, ptrs, _ = read_all(kata, lib, tmp_path / "z.krec", "a file of 200 records")
    c = lib.counts()
    assert c.maps == 1, f"rf_open mapped {c.maps} times: map the file once"
    assert c.live_bytes < 4096, (f"your code holds {c.live_bytes} bytes of heap for an open file: the records must be "
                                 "read in place from the mapping, not copied")
    raw = (tmp_path / "z.krec").read_bytes()
    for i in range(200):
        off = struct.unpack_from("<Q", raw, HEADER + ENTRY * i)[0]
        assert ptrs[i] - ptrs[0] == off - struct.unpack_from("<Q", raw, HEADER)[0], \
            f"record {i} is not at its file offset inside the mapping: rf_get must return map + offset"
        assert ptrs[i] % ALIGN == 0, f"record {i} is at address {ptrs[i]:#x}, not 64-byte aligned"
    rng = np.random.default_rng(0)
    picks = [int(i) for i in rng.integers(0, 200, 500)]
    for i, (p, data) in zip(picks, kata.probe("probes.py").gets(lib, r, picks)):  # NULL label pointer: allowed
        assert p == ptrs[i] and data == recs[i], (
            f"rf_get({i}) (at random, NULL label pointer) gave address {p:#x} and {len(data or b'')} bytes; earlier "
            f"it gave {ptrs[i]:#x}, and the record has {len(recs[i])} bytes")
    lib.rf_close(r)
    lib.assert_no_leaks(after="rf_open, 500 random rf_get, rf_close")


def test_empty_file_of_records(kata, tmp_path):
    lib = load(kata)
    write(kata, lib, tmp_path / "e.krec", [], [])
    assert parse(tmp_path / "e.krec") == ([], [])
    r, out, _, _ = read_all(kata, lib, tmp_path / "e.krec", "a file of 0 records")
    assert out == []
    lib.rf_close(r)


def valid(tmp_path):
    return bytearray(python_file(tmp_path / "ok.krec", [b"abc", b"x" * 100, b""], [1, 2, 3], reverse=False, gap=0)
                     .read_bytes())


def patch(fmt, where, value):
    def f(raw):
        struct.pack_into(fmt, raw, where, value)
        return raw
    return f


CORRUPT = {
    "too_short": lambda raw: raw[:40],
    "bad_magic": lambda raw: raw.__setitem__(slice(0, 8), b"KREC0002") or raw,
    "size_mismatch": lambda raw: raw + b"\0" * 64,
    "truncated": lambda raw: raw[:-1],
    "huge_count": patch("<Q", 8, 2**62),
    "count_past_eof": patch("<Q", 8, 100),
    "index_past_eof": patch("<Q", 16, 2**40),
    "record_past_eof": patch("<Q", HEADER + ENTRY + 8, 10**6),
    "offset_past_eof": patch("<Q", HEADER + ENTRY, 2**40),
    "offset_plus_length_wraps": lambda raw: patch("<Q", HEADER + ENTRY + 8, 2**64 - 64)(
        patch("<Q", HEADER + ENTRY, 128)(raw)),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_files_are_refused(kata, tmp_path, case):
    lib = load(kata)
    lib.reset_counts()
    path = tmp_path / "bad.krec"
    path.write_bytes(bytes(CORRUPT[case](valid(tmp_path))))
    if kata.probe("probes.py").open_close(lib, path.read_bytes()):  # an accepted file is closed again
        raise AssertionError(f"rf_open accepted a file with {case.replace('_', ' ')}: it must return NULL, or a later "
                             "rf_get reads outside the file")
    lib.assert_no_leaks(after=f"rf_open refused a file with {case.replace('_', ' ')}")


def test_missing_file(kata, tmp_path):
    lib = load(kata)
    assert not kata.probe("probes.py").open_close(lib, None), "rf_open of a file that does not exist must return NULL"


def test_no_memory_errors_under_asan(kata, tmp_path):
    paths = []
    for case, make in CORRUPT.items():
        p = tmp_path / f"{case}.krec"
        p.write_bytes(bytes(make(valid(tmp_path))))
        paths.append(p)
    sanitize.check_program(kata, "sanitize_records.c", [tmp_path, *paths])
