"""The page-packed record file, checked from both sides: the test parses what write() wrote (header,
table, page packing, no wasted pages), your Reader reads files the test writes with another valid
layout; payloads are read-only views into one mapping; random access costs no system call (counted in
/proc/self/io and by an audit hook) where one file per sample costs an open and reads per sample;
corrupt files raise FormatError and leave no descriptor or mapping behind."""
import gc
import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.toolkit import expect

PAGE = 4096
MAGIC = b"KBETON01"
HEADER = np.dtype([("magic", "S8"), ("version", "<u4"), ("page_size", "<u4"), ("count", "<u8"),
                   ("table_offset", "<u8"), ("data_offset", "<u8")])
ENTRY = np.dtype([("offset", "<u8"), ("length", "<u8"), ("label", "<i8")])


def up(x):
    return -(-x // PAGE) * PAGE


def make_samples(sizes, seed=0):
    r = np.random.default_rng(seed)
    return [r.integers(0, 256, s, dtype=np.uint8).tobytes() for s in sizes], [int(x) for x in r.integers(-10**12, 10**12, len(sizes))]


def greedy_size(sizes):
    pos = PAGE + up(len(sizes) * ENTRY.itemsize)
    start = pos
    for s in sizes:
        if (s <= PAGE and s > PAGE - pos % PAGE) or (s > PAGE and pos % PAGE):
            pos = up(pos)
        pos += s
    return max(pos, start)


def parse(path, samples, labels, what):
    raw = path.read_bytes()
    expect(len(raw) >= PAGE, f"{what}: the file is {len(raw)} bytes, shorter than the header page")
    h = np.frombuffer(raw[:HEADER.itemsize], dtype=HEADER)[0]
    expect(h["magic"] == MAGIC and h["version"] == 1 and h["page_size"] == PAGE,
           f"{what}: header magic {bytes(h['magic'])!r}, version {h['version']}, page_size {h['page_size']}; "
           f"expected {MAGIC!r}, 1, {PAGE}")
    expect(raw[HEADER.itemsize:PAGE] == bytes(PAGE - HEADER.itemsize), f"{what}: the rest of the header page must be zeros")
    n, t, d = int(h["count"]), int(h["table_offset"]), int(h["data_offset"])
    expect(n == len(samples), f"{what}: count {n}, wrote {len(samples)} samples")
    expect(t == PAGE, f"{what}: table_offset {t}; the table starts at page 1 (byte {PAGE})")
    expect(d == PAGE + up(n * ENTRY.itemsize), f"{what}: data_offset {d}; the data starts at the first page after "
                                               f"the table ({PAGE + up(n * ENTRY.itemsize)})")
    table = np.frombuffer(raw[t:t + n * ENTRY.itemsize], dtype=ENTRY)
    for i, ((off, length, label), s, lab) in enumerate(zip(table, samples, labels)):
        off, length = int(off), int(length)
        expect(length == len(s) and int(label) == lab, f"{what}: entry {i} says length {length}, label {label}; "
                                                       f"wrote {len(s)} bytes, label {lab}")
        expect(d <= off and off + length <= len(raw), f"{what}: sample {i} at [{off}, {off + length}) is outside the "
                                                      f"data region [{d}, {len(raw)})")
        expect(raw[off:off + length] == s, f"{what}: the bytes at sample {i}'s offset differ from the sample")
        if 0 < length <= PAGE:
            expect(off // PAGE == (off + length - 1) // PAGE,
                   f"{what}: sample {i} ({length} bytes) at [{off}, {off + length}) crosses the page boundary at "
                   f"{up(off + 1)}: reading it touches two pages. Start it on the next page.")
        if length > PAGE:
            expect(off % PAGE == 0, f"{what}: sample {i} ({length} bytes, more than a page) starts at {off}, not on "
                                    "a page boundary")
    spans = sorted((int(o), int(o) + int(l)) for o, l, _ in table if l)
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        expect(a1 <= b0, f"{what}: samples overlap: [{a0}, {a1}) and [{b0}, {b1})")
    best = greedy_size([len(s) for s in samples])
    expect(len(raw) <= best, f"{what}: the file is {len(raw)} bytes; packing the samples in order into pages takes "
                             f"{best}: no page wasted, no padding after the last sample")


SIZES = {
    "small": [10, 300, 5, 4000, 96, 4096, 1, 17],
    "page_edges": [4095, 1, 4096, 4097, 2, 8191, 8192, 3],
    "empty_samples": [0, 0, 12, 0, 4096, 0],
    "none": [],
    "many": list(np.random.default_rng(3).integers(0, 3000, 400)),
}


@pytest.mark.parametrize("case", list(SIZES))
def test_layout_of_what_you_write(kata, tmp_path, case):
    mod = kata.module()
    samples, labels = make_samples(SIZES[case])
    path = tmp_path / "d.beton"
    path.write_bytes(b"\xff" * 100000)  # an older, longer file: it must be replaced
    mod.write(path, samples, labels)
    parse(path, samples, labels, f"write() of {case} ({len(samples)} samples)")


def test_accepts_any_bytes_like(kata, tmp_path):
    mod = kata.module()
    samples = [b"abc", bytearray(b"defg"), memoryview(b"hij"), np.arange(6, dtype=np.uint8)]
    mod.write(tmp_path / "b.beton", samples, [1, 2, 3, 4])
    parse(tmp_path / "b.beton", [bytes(s) for s in samples], [1, 2, 3, 4], "write() of bytes, bytearray, memoryview "
          "and a uint8 array")


def other_layout(path, samples, labels, gap=512):
    """A valid file laid out differently from write(): samples in reverse order, with gaps."""
    n = len(samples)
    t = PAGE
    d = PAGE + up(n * ENTRY.itemsize) + PAGE
    table = np.zeros(n, dtype=ENTRY)
    pos = d
    order = list(range(n))[::-1]
    blobs = {}
    for i in order:
        s = samples[i]
        if len(s) > PAGE - pos % PAGE:
            pos = up(pos)
        table[i] = (pos, len(s), labels[i])
        blobs[pos] = s
        pos += len(s) + gap
    raw = bytearray(max(pos, d))
    h = np.zeros(1, dtype=HEADER)
    h[0] = (MAGIC, 1, PAGE, n, t, d)
    raw[:HEADER.itemsize] = h.tobytes()
    raw[t:t + n * ENTRY.itemsize] = table.tobytes()
    for off, s in blobs.items():
        raw[off:off + len(s)] = s
    path.write_bytes(bytes(raw))


def check_reader(r, samples, labels, what):
    expect(len(r) == len(samples), f"{what}: len(reader) is {len(r)}, expected {len(samples)}")
    for i in [*range(len(samples)), *range(-len(samples), 0)]:
        payload, label = r[i]
        got = bytes(payload)
        expect(got == samples[i] and label == labels[i] and type(label) is int,
               f"{what}: reader[{i}] is ({len(got)} bytes, label {label!r} {type(label).__name__}); expected "
               f"({len(samples[i])} bytes, label {labels[i]} int)" + ("" if got == samples[i] or len(got) != len(samples[i])
                                                                       else ": same length, other bytes"))
    for i in (len(samples), len(samples) + 5, -len(samples) - 1):
        try:
            r[i]
        except IndexError:
            continue
        except NotImplementedError:
            raise
        except Exception as e:
            pytest.fail(f"{what}: reader[{i}] with {len(samples)} samples raised {type(e).__name__}: {e}; expected "
                        "IndexError", pytrace=False)
        pytest.fail(f"{what}: reader[{i}] with {len(samples)} samples returned instead of raising IndexError",
                    pytrace=False)


@pytest.mark.parametrize("case", list(SIZES))
def test_reads_another_valid_layout(kata, tmp_path, case):
    mod = kata.module()
    samples, labels = make_samples(SIZES[case], 1)
    other_layout(tmp_path / "o.beton", samples, labels)
    r = mod.Reader(tmp_path / "o.beton")
    check_reader(r, samples, labels, f"a file with {case} samples in reverse order with gaps")


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 9000), max_size=30))
def test_round_trip(kata, tmp_path, sizes):
    mod = kata.module()
    samples, labels = make_samples(sizes, 2)
    mod.write(tmp_path / "r.beton", samples, labels)
    parse(tmp_path / "r.beton", samples, labels, f"write() of samples of sizes {sizes}")
    r = mod.Reader(tmp_path / "r.beton")
    check_reader(r, samples, labels, f"reading back samples of sizes {sizes}")


def fds():
    return len(os.listdir("/proc/self/fd"))


def maps_of(path):
    real = os.path.realpath(path)
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].strip() == real:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                out.append((lo, hi, parts[1]))
    return out


def address(payload):
    if isinstance(payload, np.ndarray):
        return payload.__array_interface__["data"][0], payload.flags.writeable
    if isinstance(payload, memoryview):
        a = np.frombuffer(payload, dtype=np.uint8)
        return a.__array_interface__["data"][0], not payload.readonly
    return None, None


@pytest.mark.perf
def test_payloads_are_views_into_one_mapping(kata, tmp_path):
    mod = kata.module()
    samples, labels = make_samples(SIZES["many"], 4)
    path = tmp_path / "v.beton"
    other_layout(path, samples, labels)
    r = mod.Reader(path)
    maps = maps_of(path)
    for i in range(0, len(samples), 7):
        payload, _ = r[i]
        if not samples[i]:
            continue
        addr, writeable = address(payload)
        expect(addr is not None, f"reader[{i}] returned a {type(payload).__name__} payload: return a memoryview or "
                                 "a uint8 numpy array that views the mapping (bytes are a copy)")
        expect(any(lo <= addr and addr + len(samples[i]) <= hi for lo, hi, _ in maps),
               f"reader[{i}]'s payload is at {addr:#x}, outside every mapping of the file "
               f"({[(hex(lo), hex(hi)) for lo, hi, _ in maps] or 'none'}): return a view of the mmap, not a copy")
        expect(not writeable, f"reader[{i}]'s payload is writeable: map the file read-only")


def io_counts():
    with open("/proc/self/io", "rb", buffering=0) as f:
        text = f.read().decode()
    d = dict(line.split(": ") for line in text.strip().splitlines())
    return int(d["syscr"]), int(d["rchar"])


OPENS = [0]


def _hook(event, args):
    if event == "open":
        OPENS[0] += 1


def count(fn):
    """(read syscalls, bytes read through read(), opens) while fn runs: /proc/self/io and an audit hook."""
    if _hook not in getattr(sys, "_kata_hooks", []):
        sys.addaudithook(_hook)
        sys._kata_hooks = [_hook]
    c0, b0 = io_counts()
    c1, b1 = io_counts()
    base_c, base_b = c1 - c0, b1 - b0   # what reading /proc/self/io itself costs
    c0, b0 = io_counts()
    o0 = OPENS[0]
    fn()
    o1 = OPENS[0]
    c1, b1 = io_counts()
    return c1 - c0 - base_c, b1 - b0 - base_b, o1 - o0


@pytest.mark.perf
def test_random_access_costs_no_system_call(kata, tmp_path):
    mod = kata.module()
    sizes = list(np.random.default_rng(5).integers(100, 6000, 500))
    samples, labels = make_samples(sizes, 5)
    path = tmp_path / "s.beton"
    other_layout(path, samples, labels)
    folder = tmp_path / "files"
    folder.mkdir()
    for i, s in enumerate(samples):
        (folder / f"{i:06d}.bin").write_bytes(s)
    order = np.random.default_rng(6).permutation(len(samples)).tolist() * 2
    r = mod.Reader(path)
    sink = []

    def beton():
        total = 0
        for i in order:
            p, _ = r[i]
            total += len(p)
        sink.append(total)

    def one_file_per_sample():
        total = 0
        for i in order:
            with open(folder / f"{i:06d}.bin", "rb") as f:
                total += len(f.read())
        sink.append(total)

    calls, nbytes, opens = count(beton)
    base_calls, base_bytes, base_opens = count(one_file_per_sample)
    n = len(order)
    kata.record(reads_per_1000=calls, bytes_read=nbytes, opens=opens, files_reads_per_1000=base_calls,
                files_bytes_read=base_bytes, files_opens=base_opens)
    expect(calls <= 8 and nbytes <= 65536 and opens <= 0,
           f"{n} random accesses through Reader cost {calls} read system calls, {nbytes} bytes through read() and "
           f"{opens} opens (one file per sample: {base_calls} reads, {base_bytes} bytes, {base_opens} opens). Random "
           "access must be a slice of the mapping: no read, no pread, no open, no seek per sample.")


BAD = {
    "empty": lambda raw: b"",
    "short_header": lambda raw: raw[:30],
    "bad_magic": lambda raw: b"KBETON02" + raw[8:],
    "version_2": lambda raw: raw[:8] + (2).to_bytes(4, "little") + raw[12:],
    "page_size_512": lambda raw: raw[:12] + (512).to_bytes(4, "little") + raw[16:],
    "count_huge": lambda raw: raw[:16] + (1 << 40).to_bytes(8, "little") + raw[24:],
    "table_past_eof": lambda raw: raw[:24] + (1 << 30).to_bytes(8, "little") + raw[32:],
    "table_in_header": lambda raw: raw[:24] + (8).to_bytes(8, "little") + raw[32:],
    "data_past_eof": lambda raw: raw[:32] + (len(raw) + PAGE).to_bytes(8, "little") + raw[40:],
    "truncated_data": lambda raw: raw[:-100],
    "sample_past_eof": lambda raw: patch_entry(raw, 2, offset=len(raw) - 10),
    "sample_length_lies": lambda raw: patch_entry(raw, 3, length=1 << 62),
    "sample_in_table": lambda raw: patch_entry(raw, 1, offset=PAGE + 8),
    "offset_wraps": lambda raw: patch_entry(raw, 0, offset=(1 << 64) - 16, length=32),
}


def patch_entry(raw, i, offset=None, length=None):
    raw = bytearray(raw)
    at = PAGE + i * ENTRY.itemsize
    if offset is not None:
        raw[at:at + 8] = offset.to_bytes(8, "little")
    if length is not None:
        raw[at + 8:at + 16] = length.to_bytes(8, "little")
    return bytes(raw)


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_files_raise_format_error(kata, tmp_path, case):
    mod = kata.module()
    samples, labels = make_samples([100, 5000, 30, 4096, 700], 7)
    good = tmp_path / "good.beton"
    other_layout(good, samples, labels, gap=0)
    bad = tmp_path / "bad.beton"
    bad.write_bytes(BAD[case](good.read_bytes()))
    before = fds()
    try:
        mod.Reader(bad)
    except mod.FormatError:
        pass
    except NotImplementedError:
        raise
    except Exception as e:
        pytest.fail(f"Reader() on a file with {case.replace('_', ' ')} raised {type(e).__name__}: {e}; raise "
                    "FormatError for every malformed file", pytrace=False)
    else:
        pytest.fail(f"Reader() accepted a file with {case.replace('_', ' ')}: raise FormatError", pytrace=False)
    gc.collect()
    expect(fds() == before and not maps_of(bad),
           f"after Reader() refused a file with {case.replace('_', ' ')}: {fds() - before} descriptor(s) still open, "
           f"{len(maps_of(bad))} mapping(s) of it left: close and unmap before raising")


def test_close_releases_everything(kata, tmp_path):
    mod = kata.module()
    samples, labels = make_samples([10, 20, 5000], 8)
    path = tmp_path / "c.beton"
    mod.write(path, samples, labels)
    before = fds()
    r = mod.Reader(path)
    expect(bytes(r[1][0]) == samples[1], "reader[1] returned the wrong bytes")
    expect(fds() <= before + 1, f"a Reader holds {fds() - before} descriptors open: close the file after mapping it "
                                "(the mmap object keeps its own)")
    r.close()
    gc.collect()
    expect(fds() == before and not maps_of(path),
           f"after close(): {fds() - before} descriptor(s) and {len(maps_of(path))} mapping(s) of the file remain")
