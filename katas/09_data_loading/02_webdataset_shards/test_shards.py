"""WebDataset shards, both directions: the `webdataset` package reads the shards write_shards() wrote,
read_samples() reads shards the package's TarWriter wrote; reading streams (a source that refuses to seek,
and the bytes consumed before the first sample is yielded are counted); the shuffle buffer is a
permutation that never holds more than bufsize items (an instrumented input counts what was taken);
malformed shards raise ShardError. Your functions run on shards in a folder of their own process
(support/probes.py hands back the bytes and samples, and the stream's and the shuffle's counts); the checks
and the webdataset package run here."""
import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
import webdataset as wds
from hypothesis import given, settings, strategies as st

from kata.toolkit import expect


def make(n, seed=0, exts=("jpg", "cls", "seg.png"), prefix="train/"):
    r = np.random.default_rng(seed)
    out = []
    for i in range(n):
        s = {"__key__": f"{prefix}{i:06d}"}
        for e in exts:
            s[e] = r.integers(0, 256, int(r.integers(0, 3000)), dtype=np.uint8).tobytes()
        out.append(s)
    return out


def strip(s):
    return {k: v for k, v in s.items() if not k.startswith("__") or k == "__key__"}


def same(got, want, what):
    expect(len(got) == len(want), f"{what}: {len(got)} samples, expected {len(want)}")
    for k, (g, w) in enumerate(zip(got, want)):
        g = strip(g)
        if g != w:
            diff = sorted(set(g) ^ set(w)) or [e for e in w if g.get(e) != w[e]]
            pytest.fail(f"{what}: sample {k} (key {w['__key__']!r}) differs: got keys {sorted(g)}, expected "
                        f"{sorted(w)}; first difference at {diff[:3]}", pytrace=False)


@pytest.mark.parametrize("n,maxcount", [(10, 4), (7, 7), (1, 3), (25, 10)])
def test_webdataset_reads_your_shards(kata, tmp_path, n, maxcount):
    mod, probe = kata.module(), kata.probe("probes.py")
    samples = make(n, n)
    wrote = probe.write_shards(mod, samples, "shard-%06d.tar", maxcount, as_iterator=True)  # in a folder of its own
    paths, folder = wrote["paths"], Path(wrote["folder"])
    want_paths = [str(folder / f"shard-{i:06d}.tar") for i in range(-(-n // maxcount))]
    expect(list(map(str, paths)) == want_paths, f"write_shards of {n} samples, maxcount={maxcount} returned {paths}, "
                                                f"expected {want_paths}")
    for p, data in zip(paths, wrote["shards"]):  # the same shards, here
        (tmp_path / Path(p).name).write_bytes(data)
    want_paths = [str(tmp_path / Path(p).name) for p in want_paths]
    for p, here in zip(paths, want_paths):
        with tarfile.open(here) as t:
            names = t.getnames()
        expect(all(not name.startswith("/") and ".." not in name for name in names), f"{p}: member names {names[:4]}")
    got = list(wds.WebDataset(want_paths, shardshuffle=False, empty_check=False))
    same(got, samples, f"webdataset reading the {len(paths)} shard(s) write_shards wrote")
    per = [sum(1 for _ in wds.WebDataset(p, shardshuffle=False, empty_check=False)) for p in want_paths]
    expect(all(c == maxcount for c in per[:-1]), f"samples per shard: {per}; every shard but the last holds maxcount")


@pytest.mark.parametrize("exts", [("jpg", "cls"), ("seg.png", "json", "txt"), ("npy",)])
def test_you_read_webdataset_shards(kata, tmp_path, exts):
    mod, probe = kata.module(), kata.probe("probes.py")
    samples = make(12, 1, exts, prefix="")
    paths = []
    with wds.ShardWriter(str(tmp_path / "w-%04d.tar"), maxcount=5, verbose=0) as w:
        for s in samples:
            w.write(s)
    paths = sorted(str(p) for p in tmp_path.glob("w-*.tar"))
    got = probe.read_samples(mod, {Path(p).name: Path(p).read_bytes() for p in paths}, [Path(p).name for p in paths])
    same(got, samples, f"read_samples on {len(paths)} shards webdataset's ShardWriter wrote (extensions {exts})")


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 12), maxcount=st.integers(1, 5), exts=st.lists(st.sampled_from(
    ["jpg", "cls", "seg.png", "a.b.c", "txt"]), min_size=1, max_size=3, unique=True))
def test_round_trip(kata, tmp_path_factory, n, maxcount, exts):
    mod, probe = kata.module(), kata.probe("probes.py")
    d = tmp_path_factory.mktemp("rt")
    samples = make(n, n, tuple(exts), prefix="x.y/")   # a dot in a folder name is not the key's dot
    wrote = probe.write_shards(mod, samples, "s-%03d.tar", maxcount, read_back=True)  # read_samples(paths) there
    same(wrote["read"], samples, f"read_samples after write_shards ({n} samples, extensions {exts})")
    paths = []
    for i, data in enumerate(wrote["shards"]):  # the files at the paths write_shards returned, here
        paths.append(d / f"{i:03d}-{Path(wrote['paths'][i]).name}")
        paths[-1].write_bytes(data)
    same(list(wds.WebDataset([str(p) for p in paths], shardshuffle=False, empty_check=False)) if paths else [],
         samples, f"webdataset after write_shards ({n} samples, extensions {exts})")


def tar_of(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            if data is None:
                info = tarfile.TarInfo(name)
                info.type = tarfile.DIRTYPE
                t.addfile(info)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_grouping_rules(kata, tmp_path):
    mod, probe = kata.module(), kata.probe("probes.py")
    raw = tar_of([("d", None), ("d/a.jpg", b"1"), ("d/a.cls", b"2"), ("README", b"no extension: skipped"),
                  ("d/b.seg.png", b"3"), ("d/a.txt", b"4"), ("v1.0/c.jpg", b"5")])
    (tmp_path / "g.tar").write_bytes(raw)
    want = [{"__key__": "d/a", "jpg": b"1", "cls": b"2"}, {"__key__": "d/b", "seg.png": b"3"},
            {"__key__": "d/a", "txt": b"4"}, {"__key__": "v1.0/c", "jpg": b"5"}]
    got = probe.read_samples(mod, {"g.tar": raw}, ["g.tar"], as_path=True)  # read_samples([a pathlib.Path])
    ref = [strip(s) for s in wds.WebDataset(str(tmp_path / "g.tar"), shardshuffle=False, empty_check=False)]
    assert ref == want, ref  # the package agrees (a guard on the test itself)
    same(got, want, "a shard with a directory entry, a member without extension, a two-dot extension, a key that "
                    "comes back later (a new sample: only consecutive members group) and a dot in a folder name")


@pytest.mark.perf
def test_reads_a_stream_without_holding_the_shard(kata, tmp_path):
    mod, probe = kata.module(), kata.probe("probes.py")
    samples = make(200, 2)
    raw = probe.write_shards(mod, samples, "big-%02d.tar", 1000)["shards"][0]
    # read_samples([a forward-only stream of raw]) (support/probes.py's OneWay, which cannot seek or tell):
    # the first sample, the bytes the stream had given when it came out, the rest
    first, taken, rest = probe.read_stream(mod, raw)
    same([first, *rest], samples, "read_samples from a forward-only stream")
    kata.record(shard_bytes=len(raw), bytes_read_before_first_sample=taken)
    expect(taken <= 64 * 1024, f"read_samples read {taken} of the shard's {len(raw)} bytes before yielding the first "
                               "sample (about 10 KB of members): stream the tar (tarfile mode 'r|'), one sample at a time")


def test_shuffle_is_a_bounded_permutation(kata):
    mod, probe = kata.module(), kata.probe("probes.py")
    for n, bufsize, seed in [(100, 10, 0), (50, 1, 1), (7, 100, 2), (0, 5, 3), (1000, 64, 4)]:
        # shuffle of a generator of range(n) that counts what was taken: the items out, the count when each
        # came out, and shuffle(iter(range(n)), bufsize, seed) again
        out, when, again = probe.shuffle(mod, n, bufsize, seed)
        for j, taken in enumerate(when):
            expect(taken <= j + 1 + bufsize, f"shuffle(bufsize={bufsize}): when item {j} of the output was yielded, "
                                             f"{taken} items had been taken from the input: the buffer holds more "
                                             f"than {bufsize}")
        expect(sorted(out) == list(range(n)), f"shuffle of range({n}) with bufsize={bufsize} yielded {len(out)} items, "
                                              f"not a permutation (lost or repeated: {sorted(set(range(n)) ^ set(out))[:5]})")
        if n >= 50 and bufsize > 1:
            moved = sum(a != b for a, b in zip(out, range(n)))
            expect(moved > n // 2, f"shuffle of range({n}) with bufsize={bufsize}: only {moved} items moved")
        expect(again == out, f"shuffle with the same seed ({seed}) gave another order: use random.Random(seed)")


def test_shuffle_mixes_across_the_buffer(kata):
    """With bufsize 16 the first output is uniform over the inputs taken so far: the first 16 (if you yield
    before taking the next) or 17 (if you take it first); chi-square over 1700 seeds."""
    mod, probe = kata.module(), kata.probe("probes.py")
    counts = np.zeros(17)
    for first in probe.first_items(mod, 100, 16, list(range(1700))):  # seeds 0..1699, in one call
        expect(first <= 16, f"shuffle(bufsize=16) yielded item {first} first: it cannot have been taken yet")
        counts[first] += 1
    support = counts if counts[16] else counts[:16]
    mean = counts.sum() / len(support)
    chi2 = float(((support - mean) ** 2 / mean).sum())
    expect(chi2 < 45, f"the first item out of shuffle(range(100), bufsize=16) over 1700 seeds: counts {counts.astype(int)} "
                      f"(chi-square {chi2:.0f} with {len(support) - 1} degrees of freedom; uniform gives about {len(support) - 1}): pick the item to "
                      "yield uniformly from the whole buffer")


BAD = {
    "truncated_member": lambda raw: raw[:700],
    "truncated_header": lambda raw: raw[:1024 + 100],
    "garbage": lambda raw: b"this is not a tar file at all" * 40,
    "duplicate_extension": lambda raw: tar_of([("a.jpg", b"1"), ("a.jpg", b"2")]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_shards_raise_shard_error(kata, case):
    mod, probe = kata.module(), kata.probe("probes.py")
    good = tar_of([("a.jpg", b"x" * 1500), ("a.cls", b"1"), ("b.jpg", b"y" * 900)])
    raised = probe.read_error(mod, BAD[case](good))  # list(read_samples([a Path])): (type, is a ShardError, message)
    if raised is not None:
        name, is_shard_error, msg = raised
        if is_shard_error:
            return
        pytest.fail(f"read_samples on a shard with {case.replace('_', ' ')} raised {name}: {msg}; raise "
                    "ShardError", pytrace=False)
    pytest.fail(f"read_samples accepted a shard with {case.replace('_', ' ')}: raise ShardError", pytrace=False)
