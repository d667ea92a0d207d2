"""What the beton tests do beside the learner's module: write the files the test hands over (as bytes)
into a folder of this process, call write()/Reader there, and return what the test judges as data: the
bytes write() wrote, the payloads and labels the Reader gave, where its payloads lie and which mappings
of the file this process holds, its descriptor counts, the read system calls and opens random access
cost (/proc/self/io and an audit hook), the exception a malformed file raised. Under `kata grade` this
file runs in the learner's process (kata.probe), the checks do not."""
import ctypes
import gc
import os
import pathlib
import shutil
import sys
import tempfile

import numpy as np

from kata.toolkit import file_mappings

MAKE = {"bytes": bytes, "bytearray": bytearray, "memoryview": memoryview,
        "uint8": lambda b: np.frombuffer(b, dtype=np.uint8).copy()}


def _folder():
    return pathlib.Path(tempfile.mkdtemp(prefix="kata-beton-"))


def fds():
    return len(os.listdir("/proc/self/fd"))


def write(mod, samples, labels, prefill=None, kinds=None):
    """mod.write(path, samples, labels) on a fresh pathlib.Path (first filled with `prefill`: an older file
    it must replace); `kinds` names, per sample, the type to hand it over as ("bytes", "bytearray",
    "memoryview", "uint8": a numpy array), made here. Returns the bytes of the file."""
    d = _folder()
    try:
        path = d / "d.beton"
        if prefill is not None:
            path.write_bytes(prefill)
        if kinds is not None:
            samples = [MAKE[k](s) for k, s in zip(kinds, samples)]
        mod.write(path, samples, labels)
        return path.read_bytes()
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _item(r, i):
    """("ok", bytes(payload), label (None unless an int), repr(label), type(label).__name__) for r[i], or
    ("raised", type name, message). A stub's NotImplementedError propagates."""
    try:
        payload, label = r[i]
        got = bytes(payload)
    except NotImplementedError:
        raise
    except Exception as e:  # noqa: BLE001 - the test says which type came back
        return ("raised", type(e).__name__, str(e))
    return ("ok", got, label if type(label) is int else None, repr(label), type(label).__name__)


def read(mod, data, indices, outside):
    """r = mod.Reader(a pathlib.Path of a file holding `data`): (len(r), [_item(r, i) for i in indices],
    for each i in `outside`: "IndexError", "returned", or (type name, message) of what r[i] raised)."""
    d = _folder()
    try:
        path = d / "o.beton"
        path.write_bytes(data)
        r = mod.Reader(path)
        n = len(r)
        items = [_item(r, i) for i in indices]
        beyond = []
        for i in outside:
            try:
                r[i]
            except IndexError:
                beyond.append("IndexError")
                continue
            except NotImplementedError:
                raise
            except Exception as e:  # noqa: BLE001 - the test says which type came back
                beyond.append((type(e).__name__, str(e)))
                continue
            beyond.append("returned")
        return n, items, beyond
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _address(payload):
    if isinstance(payload, np.ndarray):
        return payload.__array_interface__["data"][0], payload.flags.writeable
    if isinstance(payload, memoryview):
        a = np.frombuffer(payload, dtype=np.uint8)
        return a.__array_interface__["data"][0], not payload.readonly
    return None, None


def views(mod, data, indices):
    """r = mod.Reader(path of `data`); the file's mappings right after; then for each i in `indices`:
    (type name of r[i]'s payload, its address (None if neither an ndarray nor a memoryview), writeable)."""
    d = _folder()
    try:
        path = d / "v.beton"
        path.write_bytes(data)
        r = mod.Reader(path)
        maps = file_mappings(path)
        out = []
        for i in indices:
            payload, _ = r[i]
            addr, writeable = _address(payload)
            out.append((type(payload).__name__, None if addr is None else int(addr), bool(writeable)))
        return maps, out
    finally:
        shutil.rmtree(d, ignore_errors=True)


PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4
_IO = []


def _proc_io() -> int:
    """A descriptor on /proc/self/io, opened once. A process that changed user (the sandbox's worker, under
    `kata grade` as root) is not dumpable, and its /proc/self/io then belongs to root: it is made dumpable
    for the open only, and put back as it was (reading through the descriptor needs nothing more)."""
    if not _IO:
        libc = ctypes.CDLL(None, use_errno=True)
        was = libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
        if was != 1:
            libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        try:
            _IO.append(os.open("/proc/self/io", os.O_RDONLY))
        finally:
            if was != 1:
                libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    return _IO[0]


def _io_counts():
    text = os.pread(_proc_io(), 1 << 16, 0).decode()
    d = dict(line.split(": ") for line in text.strip().splitlines())
    return int(d["syscr"]), int(d["rchar"])


OPENS = [0]


def _hook(event, args):
    if event == "open":
        OPENS[0] += 1


def _count(fn):
    """(read syscalls, bytes read through read(), opens) while fn runs: /proc/self/io and an audit hook."""
    if _hook not in getattr(sys, "_kata_hooks", []):
        sys.addaudithook(_hook)
        sys._kata_hooks = [_hook]
    c0, b0 = _io_counts()
    c1, b1 = _io_counts()
    base_c, base_b = c1 - c0, b1 - b0   # what reading /proc/self/io itself costs
    c0, b0 = _io_counts()
    o0 = OPENS[0]
    fn()
    o1 = OPENS[0]
    c1, b1 = _io_counts()
    return c1 - c0 - base_c, b1 - b0 - base_b, o1 - o0


def access_costs(mod, data, samples, order):
    """r = mod.Reader(path of `data`), and a folder of one file per sample; then, counted: r[i] for each
    i in `order` (summing the payloads' lengths), and the same reads from the files. Returns ((reads,
    bytes, opens) through the Reader, (reads, bytes, opens) through the files, the two sums)."""
    d = _folder()
    try:
        path = d / "s.beton"
        path.write_bytes(data)
        folder = d / "files"
        folder.mkdir()
        for i, s in enumerate(samples):
            (folder / f"{i:06d}.bin").write_bytes(s)
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

        return _count(beton), _count(one_file_per_sample), sink
    finally:
        shutil.rmtree(d, ignore_errors=True)


def refuse(mod, data):
    """mod.Reader(a pathlib.Path of a file holding `data`), expected to refuse it. Returns (None if it
    returned, else (exception type name, whether it is a mod.FormatError, message); this process's open
    descriptors before and after (gc.collect() first); how many mappings of the file are left). A stub's
    NotImplementedError propagates."""
    d = _folder()
    try:
        bad = d / "bad.beton"
        bad.write_bytes(data)
        before = fds()
        raised = None
        try:
            mod.Reader(bad)
        except mod.FormatError as e:
            raised = (type(e).__name__, True, str(e))
        except NotImplementedError:
            raise
        except Exception as e:  # noqa: BLE001 - the test says which type came back
            raised = (type(e).__name__, False, str(e))
        gc.collect()
        return raised, before, fds(), len(file_mappings(bad))
    finally:
        shutil.rmtree(d, ignore_errors=True)


def close_cycle(mod, samples, labels):
    """mod.write(path, samples, labels); then (descriptors open before a Reader, bytes(r[1][0]),
    descriptors open while it is, descriptors after r.close() and gc.collect(), mappings of the file
    left then)."""
    d = _folder()
    try:
        path = d / "c.beton"
        mod.write(path, samples, labels)
        before = fds()
        r = mod.Reader(path)
        second = bytes(r[1][0])
        during = fds()
        r.close()
        gc.collect()
        return before, second, during, fds(), len(file_mappings(path))
    finally:
        shutil.rmtree(d, ignore_errors=True)

