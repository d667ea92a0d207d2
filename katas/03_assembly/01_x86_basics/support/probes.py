"""What the x86 basics tests do beside the learner's library: lay out the arrays and strings in memory
(between guard words, at chosen alignments, next to unmapped pages) and call the functions through
native.abi's trampoline. Each function returns data (results, the ABI checker's message, the memory
before and after) for the test to judge; under `kata grade` this file runs in the learner's process
(kata.probe), the checks do not."""
import ctypes
import json
import mmap
import os

import numpy as np

from native import abi


def _call(lib, name, *args):
    """{"got": the result} or {"violation": the ABI checker's message}."""
    try:
        return {"got": abi.call(lib, name, *args)}
    except abi.AbiViolation as e:
        return {"violation": str(e)}


def words(lib, name, values, offset, guard_before, guard_after, margin):
    """name(a, n) (sum_i64, max_i64) on the int64 `values`, laid out with guard words around them and
    a[0] `offset` words past a 64-byte boundary. Returns _call's dict, with "start" (a[0]'s index in
    the block) and "after": the whole block after the call."""
    n = len(values)
    full = np.empty(n + 2 * margin + 8, dtype=np.int64)
    base = full.ctypes.data
    start = margin + ((8 * offset - base - 8 * margin) % 64) // 8
    full[:start] = guard_before
    full[start + n:] = guard_after
    full[start:start + n] = np.asarray(values, dtype=np.int64)
    out = _call(lib, name, base + 8 * start, n)  # passed as an address: exact even for n = 0
    out.update(start=start, after=full.copy())
    return out


def strlen(lib, s, offset, tail, fill):
    """my_strlen on s placed `offset` bytes past a 64-byte boundary, then its 0 byte, then `tail`
    bytes of `fill` and a final 0. Returns _call's dict, with "start" (s's index in the buffer) and
    "after": the buffer's bytes after the call."""
    buf = np.full(len(s) + tail + 192, fill, dtype=np.uint8)
    start = 64 + (offset - buf.ctypes.data) % 64
    buf[start:start + len(s)] = np.frombuffer(s, dtype=np.uint8)
    buf[start + len(s)] = 0
    buf[start + len(s) + 1 + tail:] = 0
    out = _call(lib, "my_strlen", buf.ctypes.data + start)
    out.update(start=start, after=buf.tobytes())
    return out


PAGE = mmap.PAGESIZE


def _strlen_at_page_edges(lib, cases, out):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    mem = mmap.mmap(-1, 3 * PAGE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    for page in (0, 2):
        if libc.mprotect(addr + page * PAGE, PAGE, 0) != 0:
            raise OSError(ctypes.get_errno(), "mprotect failed")
    for i, (start, n) in enumerate(cases):
        mem[PAGE:2 * PAGE] = b"A" * PAGE
        mem[start:start + n] = bytes(b"abcdefghijklmnopqrstuvwxyz"[j % 26] for j in range(n))
        mem[start + n] = 0
        out.write(json.dumps({"start": i}) + "\n")
        got = abi.call(lib, "my_strlen", addr + start)
        out.write(json.dumps({"done": i, "got": got}) + "\n")


def strlen_at_page_edges(lib, cases):
    """my_strlen on each (start, n): an n-byte string at `start` in three pages whose first and last
    are not mapped, in a forked child (a fault kills the child, not this process). Returns {"lines":
    the child's progress reports, in order ({"start": i}, {"done": i, "got": result}, or one of
    {"todo"|"assert"|"error": message}), "signal": the signal that killed the child, or None}."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: run every case, report progress line by line
        os.close(rfd)
        out = os.fdopen(wfd, "w", buffering=1)
        try:
            _strlen_at_page_edges(lib, cases, out)
        except NotImplementedError as e:
            out.write(json.dumps({"todo": str(e)}) + "\n")
        except AssertionError as e:
            out.write(json.dumps({"assert": str(e)}) + "\n")
        except BaseException as e:  # noqa: BLE001
            out.write(json.dumps({"error": f"{type(e).__name__}: {e}"}) + "\n")
        out.flush()
        os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as r:
        lines = [json.loads(line) for line in r if line.strip()]
    _, status = os.waitpid(pid, 0)
    return {"lines": lines, "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None}
