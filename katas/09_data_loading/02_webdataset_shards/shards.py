"""WebDataset shards: write them, stream them back, shuffle with a bounded buffer. See README.md."""
import random
import tarfile


class ShardError(ValueError):
    """Raise this for a malformed shard (truncated, a sample with the same extension twice, ...)."""


def write_shards(samples, pattern: str, maxcount: int) -> list[str]:
    """Write the samples (dicts: "__key__" -> str, each other key an extension -> bytes) into tar shards
    named pattern % 0, pattern % 1, ..., at most `maxcount` samples each; return the paths written."""
    raise NotImplementedError("shards.py: write_shards()")


def read_samples(sources):
    """Yield one dict per sample ("__key__" and one entry per extension, values bytes) from each source
    in turn (a path, or a binary file object that can only be read forwards), streaming: never seek,
    never hold more than one sample."""
    raise NotImplementedError("shards.py: read_samples()")


def shuffle(items, bufsize: int, seed: int):
    """Yield the items in a shuffled order using a buffer of at most `bufsize` items (random.Random(seed))."""
    raise NotImplementedError("shards.py: shuffle()")
