"""WebDataset shards, both directions: the `webdataset` package reads the shards write_shards() wrote,
read_samples() reads shards the package's TarWriter wrote; reading streams (a source that refuses to seek,
and the bytes consumed before the first sample is yielded are counted); the shuffle buffer is a
permutation that never holds more than bufsize items (an instrumented input counts what was taken);
malformed shards raise ShardError."""
import io
import tarfile

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
    mod = kata.module()
    samples = make(n, n)
    paths = mod.write_shards(iter(samples), str(tmp_path / "shard-%06d.tar"), maxcount)
    want_paths = [str(tmp_path / f"shard-{i:06d}.tar") for i in range(-(-n // maxcount))]
    expect(list(map(str, paths)) == want_paths, f"write_shards of {n} samples, maxcount={maxcount} returned {paths}, "
                                                f"expected {want_paths}")
    for p in paths:
        with tarfile.open(p) as t:
            names = t.getnames()
        expect(all(not name.startswith("/") and ".." not in name for name in names), f"{p}: member names {names[:4]}")
    got = list(wds.WebDataset(want_paths, shardshuffle=False, empty_check=False))
    same(got, samples, f"webdataset reading the {len(paths)} shard(s) write_shards wrote")
    per = [sum(1 for _ in wds.WebDataset(p, shardshuffle=False, empty_check=False)) for p in want_paths]
    expect(all(c == maxcount for c in per[:-1]), f"samples per shard: {per}; every shard but the last holds maxcount")


@pytest.mark.parametrize("exts", [("jpg", "cls"), ("seg.png", "json", "txt"), ("npy",)])
def test_you_read_webdataset_shards(kata, tmp_path, exts):
    mod = kata.module()
    samples = make(12, 1, exts, prefix="")
    paths = []
    with wds.ShardWriter(str(tmp_path / "w-%04d.tar"), maxcount=5, verbose=0) as w:
        for s in samples:
            w.write(s)
    paths = sorted(str(p) for p in tmp_path.glob("w-*.tar"))
    got = list(mod.read_samples(paths))
    same(got, samples, f"read_samples on {len(paths)} shards webdataset's ShardWriter wrote (extensions {exts})")


@settings(max_examples=20, deadline=None)
@given(n=st.integers(0, 12), maxcount=st.integers(1, 5), exts=st.lists(st.sampled_from(
    ["jpg", "cls", "seg.png", "a.b.c", "txt"]), min_size=1, max_size=3, unique=True))
def test_round_trip(kata, tmp_path_factory, n, maxcount, exts):
    mod = kata.module()
    d = tmp_path_factory.mktemp("rt")
    samples = make(n, n, tuple(exts), prefix="x.y/")   # a dot in a folder name is not the key's dot
    paths = mod.write_shards(samples, str(d / "s-%03d.tar"), maxcount)
    same(list(mod.read_samples(paths)), samples, f"read_samples after write_shards ({n} samples, extensions {exts})")
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
    mod = kata.module()
    raw = tar_of([("d", None), ("d/a.jpg", b"1"), ("d/a.cls", b"2"), ("README", b"no extension: skipped"),
                  ("d/b.seg.png", b"3"), ("d/a.txt", b"4"), ("v1.0/c.jpg", b"5")])
    (tmp_path / "g.tar").write_bytes(raw)
    want = [{"__key__": "d/a", "jpg": b"1", "cls": b"2"}, {"__key__": "d/b", "seg.png": b"3"},
            {"__key__": "d/a", "txt": b"4"}, {"__key__": "v1.0/c", "jpg": b"5"}]
    got = list(mod.read_samples([tmp_path / "g.tar"]))
    ref = [strip(s) for s in wds.WebDataset(str(tmp_path / "g.tar"), shardshuffle=False, empty_check=False)]
    assert ref == want, ref  # the package agrees (a guard on the test itself)
    same(got, want, "a shard with a directory entry, a member without extension, a two-dot extension, a key that "
                    "comes back later (a new sample: only consecutive members group) and a dot in a folder name")


class OneWay(io.RawIOBase):
    """A forward-only stream (a pipe, an HTTP body): seek and tell fail; counts the bytes read."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def readable(self):
        return True

    def seekable(self):
        return False

    def seek(self, *a):
        raise io.UnsupportedOperation("this stream cannot seek (a pipe, a socket)")

    def tell(self):
        raise io.UnsupportedOperation("this stream cannot tell (a pipe, a socket)")

    def readinto(self, b):
        n = min(len(b), len(self.data) - self.pos)
        b[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


@pytest.mark.perf
def test_reads_a_stream_without_holding_the_shard(kata, tmp_path):
    mod = kata.module()
    samples = make(200, 2)
    paths = mod.write_shards(samples, str(tmp_path / "big-%02d.tar"), 1000)
    raw = open(paths[0], "rb").read()
    src = OneWay(raw)
    it = iter(mod.read_samples([src]))
    first = next(it)
    taken = src.pos
    rest = list(it)
    same([first, *rest], samples, "read_samples from a forward-only stream")
    kata.record(shard_bytes=len(raw), bytes_read_before_first_sample=taken)
    expect(taken <= 64 * 1024, f"read_samples read {taken} of the shard's {len(raw)} bytes before yielding the first "
                               "sample (about 10 KB of members): stream the tar (tarfile mode 'r|'), one sample at a time")


def test_shuffle_is_a_bounded_permutation(kata):
    mod = kata.module()
    for n, bufsize, seed in [(100, 10, 0), (50, 1, 1), (7, 100, 2), (0, 5, 3), (1000, 64, 4)]:
        taken = [0]

        def source():
            for i in range(n):
                taken[0] += 1
                yield i

        out = []
        for j, x in enumerate(mod.shuffle(source(), bufsize, seed)):
            expect(taken[0] <= j + 1 + bufsize, f"shuffle(bufsize={bufsize}): when item {j} of the output was yielded, "
                                                f"{taken[0]} items had been taken from the input: the buffer holds more "
                                                f"than {bufsize}")
            out.append(x)
        expect(sorted(out) == list(range(n)), f"shuffle of range({n}) with bufsize={bufsize} yielded {len(out)} items, "
                                              f"not a permutation (lost or repeated: {sorted(set(range(n)) ^ set(out))[:5]})")
        if n >= 50 and bufsize > 1:
            moved = sum(a != b for a, b in zip(out, range(n)))
            expect(moved > n // 2, f"shuffle of range({n}) with bufsize={bufsize}: only {moved} items moved")
        again = list(mod.shuffle(iter(range(n)), bufsize, seed))
        expect(again == out, f"shuffle with the same seed ({seed}) gave another order: use random.Random(seed)")


def test_shuffle_mixes_across_the_buffer(kata):
    """With bufsize 16 the first output is uniform over the inputs taken so far: the first 16 (if you yield
    before taking the next) or 17 (if you take it first); chi-square over 1700 seeds."""
    mod = kata.module()
    counts = np.zeros(17)
    for seed in range(1700):
        first = next(iter(mod.shuffle(iter(range(100)), 16, seed)))
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
def test_malformed_shards_raise_shard_error(kata, tmp_path, case):
    mod = kata.module()
    good = tar_of([("a.jpg", b"x" * 1500), ("a.cls", b"1"), ("b.jpg", b"y" * 900)])
    path = tmp_path / "bad.tar"
    path.write_bytes(BAD[case](good))
    try:
        list(mod.read_samples([path]))
    except mod.ShardError:
        return
    except NotImplementedError:
        raise
    except Exception as e:
        pytest.fail(f"read_samples on a shard with {case.replace('_', ' ')} raised {type(e).__name__}: {e}; raise "
                    "ShardError", pytrace=False)
    pytest.fail(f"read_samples accepted a shard with {case.replace('_', ' ')}: raise ShardError", pytrace=False)
