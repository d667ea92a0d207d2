"""What the shard tests do beside the learner's module: write the shards the test hands over (as bytes)
into a folder of this process, call write_shards()/read_samples()/shuffle() there, and return what the
test judges as data: the paths and bytes of the shards written, the samples read, what a forward-only
stream had given when the first sample came out, what shuffle() had taken from its input at each
output, the exception a malformed shard raised. Under `kata grade` this file runs in the learner's
process (kata.probe), the checks do not."""
import io
import pathlib
import shutil
import tempfile


def _folder():
    return pathlib.Path(tempfile.mkdtemp(prefix="kata-wds-"))


def _put(d, shards):
    for name, data in shards.items():
        (d / name).write_bytes(data)


def _plain(samples):
    """The samples read, each a plain dict (a dict subclass would not cross as data) with memoryview values
    as bytes (a memoryview compares equal to the bytes it shows, but does not cross): as the test would
    compare them. Called once all of them were read."""
    return [{k: bytes(v) if isinstance(v, memoryview) else v for k, v in s.items()} if isinstance(s, dict) else s
            for s in samples]


def write_shards(mod, samples, pattern, maxcount, as_iterator=False, read_back=False):
    """mod.write_shards(samples, str(folder / pattern), maxcount) (samples as an iterator if
    `as_iterator`). Returns {"folder": str(folder), "paths": the paths it returned, as str, "shards": the
    bytes of the file at each of them} and, if `read_back`, "read": list(mod.read_samples(paths)) on the
    paths it returned."""
    d = _folder()
    try:
        paths = mod.write_shards(iter(samples) if as_iterator else samples, str(d / pattern), maxcount)
        out = {"folder": str(d), "paths": [str(p) for p in paths], "shards": []}
        for p in paths:
            with open(p, "rb") as f:
                out["shards"].append(f.read())
        if read_back:
            out["read"] = _plain(list(mod.read_samples(paths)))
        return out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def read_samples(mod, shards, order, as_path=False):
    """list(mod.read_samples(sources)) of the shards {name: bytes} written here, the sources being
    their paths in `order` (str, or pathlib.Path if `as_path`)."""
    d = _folder()
    try:
        _put(d, shards)
        return _plain(list(mod.read_samples([d / n if as_path else str(d / n) for n in order])))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def read_error(mod, shard):
    """list(mod.read_samples([path])) of one shard, expected to refuse it. Returns None if it did not
    raise, else (exception type name, whether it is a mod.ShardError, message). A stub's
    NotImplementedError propagates."""
    d = _folder()
    try:
        path = d / "bad.tar"
        path.write_bytes(shard)
        try:
            list(mod.read_samples([path]))
        except mod.ShardError as e:
            return (type(e).__name__, True, str(e))
        except NotImplementedError:
            raise
        except Exception as e:  # noqa: BLE001 - the test says which type came back
            return (type(e).__name__, False, str(e))
        return None
    finally:
        shutil.rmtree(d, ignore_errors=True)


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


def read_stream(mod, raw):
    """mod.read_samples([a forward-only stream of `raw`]): returns (the first sample, the bytes the
    stream had given when it came out, the rest of the samples)."""
    src = OneWay(raw)
    it = iter(mod.read_samples([src]))
    first = next(it)
    taken = src.pos
    rest = list(it)
    first, *rest = _plain([first, *rest])  # (after the whole read, as the test compares them)
    return first, taken, rest


def shuffle(mod, n, bufsize, seed):
    """mod.shuffle over a generator of range(n) that counts what was taken. Returns (the items out,
    how many had been taken from the input when each was yielded, list(mod.shuffle(iter(range(n)),
    bufsize, seed)) again)."""
    taken = [0]

    def source():
        for i in range(n):
            taken[0] += 1
            yield i

    out, when = [], []
    for x in mod.shuffle(source(), bufsize, seed):
        when.append(taken[0])
        out.append(x)
    again = list(mod.shuffle(iter(range(n)), bufsize, seed))
    return out, when, again


def first_items(mod, n, bufsize, seeds):
    """next(iter(mod.shuffle(iter(range(n)), bufsize, seed))) for each seed."""
    return [next(iter(mod.shuffle(iter(range(n)), bufsize, seed))) for seed in seeds]
