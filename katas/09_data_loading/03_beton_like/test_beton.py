"""The page-packed record file, checked from both sides: the test parses what write() wrote (header,
table, page packing, no wasted pages), your Reader reads files the test writes with another valid
layout; payloads are read-only views into one mapping; random access costs no system call (counted in
/proc/self/io and by an audit hook) where one file per sample costs an open and reads per sample;
corrupt files raise FormatError and leave no descriptor or mapping behind. Your write() and Reader run on
files in a folder of their own process (support/probes.py hands back the bytes written, what the Reader
gave, where its payloads lie, and the descriptor, mapping and system call counts taken there); the checks
run here."""
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
    mod, probe = kata.module(), kata.probe("probes.py")
    samples, labels = make_samples(SIZES[case])
    path = tmp_path / "d.beton"
    path.write_bytes(probe.write(mod, samples, labels, prefill=b"\xff" * 100000))  # over an older, longer file
    parse(path, samples, labels, f"write() of {case} ({len(samples)} samples)")


def test_accepts_any_bytes_like(kata, tmp_path):
    mod, probe = kata.module(), kata.probe("probes.py")
    samples = [b"abc", bytearray(b"defg"), memoryview(b"hij"), np.arange(6, dtype=np.uint8)]
    # each made beside your code (a bytearray or a memoryview would cross as bytes)
    kinds = ["bytes", "bytearray", "memoryview", "uint8"]
    (tmp_path / "b.beton").write_bytes(probe.write(mod, [bytes(s) for s in samples], [1, 2, 3, 4], kinds=kinds))
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


def check_reader(probe, mod, raw, samples, labels, what):
    """Your Reader on a file holding `raw`, read in its own process (support/probes.py): every index,
    negative ones too, and three outside the range."""
    indices = [*range(len(samples)), *range(-len(samples), 0)]
    outside = (len(samples), len(samples) + 5, -len(samples) - 1)
    n, items, beyond = probe.read(mod, raw, indices, outside)
    expect(n == len(samples), f"{what}: len(reader) is {n}, expected {len(samples)}")
    for i, item in zip(indices, items):
        if item[0] == "raised":
            pytest.fail(f"{what}: reader[{i}] raised {item[1]}: {item[2]}", pytrace=False)
        _, got, label, shown, kind = item
        expect(got == samples[i] and kind == "int" and label == labels[i],
               f"{what}: reader[{i}] is ({len(got)} bytes, label {shown} {kind}); expected "
               f"({len(samples[i])} bytes, label {labels[i]} int)" + ("" if got == samples[i] or len(got) != len(samples[i])
                                                                       else ": same length, other bytes"))
    for i, outcome in zip(outside, beyond):
        if outcome == "IndexError":
            continue
        if outcome == "returned":
            pytest.fail(f"{what}: reader[{i}] with {len(samples)} samples returned instead of raising IndexError",
                        pytrace=False)
        pytest.fail(f"{what}: reader[{i}] with {len(samples)} samples raised {outcome[0]}: {outcome[1]}; expected "
                    "IndexError", pytrace=False)


@pytest.mark.parametrize("case", list(SIZES))
def test_reads_another_valid_layout(kata, tmp_path, case):
    mod, probe = kata.module(), kata.probe("probes.py")
    samples, labels = make_samples(SIZES[case], 1)
    other_layout(tmp_path / "o.beton", samples, labels)
    check_reader(probe, mod, (tmp_path / "o.beton").read_bytes(), samples, labels,
                 f"a file with {case} samples in reverse order with gaps")


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(0, 9000), max_size=30))
def test_round_trip(kata, tmp_path, sizes):
    mod, probe = kata.module(), kata.probe("probes.py")
    samples, labels = make_samples(sizes, 2)
    (tmp_path / "r.beton").write_bytes(probe.write(mod, samples, labels))
    parse(tmp_path / "r.beton", samples, labels, f"write() of samples of sizes {sizes}")
    check_reader(probe, mod, (tmp_path / "r.beton").read_bytes(), samples, labels,
                 f"reading back samples of sizes {sizes}")


@pytest.mark.perf
def test_payloads_are_views_into_one_mapping(kata, tmp_path):
    mod, probe = kata.module(), kata.probe("probes.py")
    samples, labels = make_samples(SIZES["many"], 4)
    path = tmp_path / "v.beton"
    other_layout(path, samples, labels)
    indices = list(range(0, len(samples), 7))
    # the file's mappings in your process right after Reader(), then each payload's (type, address, writeable)
    maps, seen = probe.views(mod, path.read_bytes(), indices)
    for i, (kind, addr, writeable) in zip(indices, seen):
        if not samples[i]:
            continue
        expect(addr is not None, f"reader[{i}] returned a {kind} payload: return a memoryview or "
                                 "a uint8 numpy array that views the mapping (bytes are a copy)")
        expect(any(lo <= addr and addr + len(samples[i]) <= hi for lo, hi, _ in maps),
               f"reader[{i}]'s payload is at {addr:#x}, outside every mapping of the file "
               f"({[(hex(lo), hex(hi)) for lo, hi, _ in maps] or 'none'}): return a view of the mmap, not a copy")
        expect(not writeable, f"reader[{i}]'s payload is writeable: map the file read-only")


@pytest.mark.perf
def test_random_access_costs_no_system_call(kata, tmp_path):
    mod, probe = kata.module(), kata.probe("probes.py")
    sizes = list(np.random.default_rng(5).integers(100, 6000, 500))
    samples, labels = make_samples(sizes, 5)
    path = tmp_path / "s.beton"
    other_layout(path, samples, labels)
    order = np.random.default_rng(6).permutation(len(samples)).tolist() * 2
    # in your process: the file and a folder of one file per sample; reader[i] for each i in order, then the
    # same reads from the files, each counted in /proc/self/io (read system calls, bytes) and by an audit
    # hook (opens)
    (calls, nbytes, opens), (base_calls, base_bytes, base_opens), _ = probe.access_costs(
        mod, path.read_bytes(), samples, order)
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
    mod, probe = kata.module(), kata.probe("probes.py")
    samples, labels = make_samples([100, 5000, 30, 4096, 700], 7)
    good = tmp_path / "good.beton"
    other_layout(good, samples, labels, gap=0)
    # Reader(a pathlib.Path of the bad file) in your process: what it raised, the descriptors open there before
    # and after (gc.collect() first), the mappings of the file left
    raised, before, after, maps = probe.refuse(mod, BAD[case](good.read_bytes()))
    if raised is None:
        pytest.fail(f"Reader() accepted a file with {case.replace('_', ' ')}: raise FormatError", pytrace=False)
    name, is_format_error, msg = raised
    if not is_format_error:
        pytest.fail(f"Reader() on a file with {case.replace('_', ' ')} raised {name}: {msg}; raise "
                    "FormatError for every malformed file", pytrace=False)
    expect(after == before and not maps,
           f"after Reader() refused a file with {case.replace('_', ' ')}: {after - before} descriptor(s) still open, "
           f"{maps} mapping(s) of it left: close and unmap before raising")


def test_close_releases_everything(kata, tmp_path):
    mod, probe = kata.module(), kata.probe("probes.py")
    samples, labels = make_samples([10, 20, 5000], 8)
    # in your process: write(), the descriptors open before Reader(), bytes(reader[1][0]), the descriptors open
    # while it is, and after close() (and gc.collect()), with the mappings of the file left then
    before, second, during, after, maps = probe.close_cycle(mod, samples, labels)
    expect(second == samples[1], "reader[1] returned the wrong bytes")
    expect(during <= before + 1, f"a Reader holds {during - before} descriptors open: close the file after mapping it "
                                 "(the mmap object keeps its own)")
    expect(after == before and not maps,
           f"after close(): {after - before} descriptor(s) and {maps} mapping(s) of the file remain")
