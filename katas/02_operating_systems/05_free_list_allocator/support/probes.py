"""What the allocator tests do beside the learner's library: call mm_malloc / mm_free / mm_realloc, fill
each block it returns with a pattern, and read the blocks back at their addresses. Each function returns
data (addresses, the heap's end, the bytes read) for the test to judge; under `kata grade` this file runs
in the learner's process (kata.probe), the checks do not."""
import bisect

import numpy as np


def pattern(bid, size):
    """The bytes block `bid` is filled with (the test's Replay.pattern: the same bytes)."""
    return (np.arange(size, dtype=np.uint32) * 7 + bid * 131 + 1).astype(np.uint8).tobytes()


def _addr(lib, p):
    return int(lib.ffi.cast("uintptr_t", p))


def _read(lib, a, n):
    return bytes(lib.ffi.buffer(lib.ffi.cast("char *", a), n))


def fill(lib, bid, a, size):
    """Write pattern(bid, size) at address a."""
    lib.ffi.memmove(lib.ffi.cast("char *", a), pattern(bid, size), size)


def read(lib, a, n):
    """The n bytes at address a."""
    return _read(lib, a, n)


def heap_lo(lib):
    return _addr(lib, lib.mem_heap_lo())


def malloc(lib, size):
    """mm_malloc(size): (its address, 0 for NULL; mem_heap_hi() just after)."""
    a = _addr(lib, lib.mm_malloc(size))
    return a, _addr(lib, lib.mem_heap_hi())


def realloc(lib, a, size):
    """mm_realloc(a, size), a an address (0: NULL): (its address, 0 for NULL; mem_heap_hi() just after)."""
    p = _addr(lib, lib.mm_realloc(lib.ffi.cast("void *", a), size))
    return p, _addr(lib, lib.mem_heap_hi())


def free(lib, addresses):
    """mm_free of each address (0: NULL)."""
    for a in addresses:
        lib.mm_free(lib.ffi.cast("void *", a))


def malloc_until_null(lib, size, limit):
    """mm_malloc(size) until it returns NULL or `limit` blocks came back: their addresses."""
    got = []
    while len(got) < limit:
        a = _addr(lib, lib.mm_malloc(size))
        if not a:
            break
        got.append(a)
    return got


def replay(lib, ops, live):
    """Replay a trace: ("a", id, size) mm_malloc, then fill the block with pattern(id, size); ("f", id)
    read the block, then mm_free it; ("r", id, size) read the block, mm_realloc it, read the first
    min(old, size) bytes of the new block, then fill it with pattern(id, size). `live` ({id: (address,
    size)}) are blocks already filled so. Returns {"steps": per op, (address or 0, mem_heap_hi())
    for "a", the bytes read for "f", (bytes read, address, mem_heap_hi(), bytes read after) for "r";
    "final": [(id, its bytes)] for the blocks live at the end}. It stops after an op whose block it
    cannot use (NULL, not 16-aligned, outside the heap, overlapping a live block: a fill there would
    write where it must not) or whose bytes are not the ones written; the read or the block then comes
    back as None."""
    ffi = lib.ffi
    lo = heap_lo(lib)
    blocks = {int(k): (int(a), int(s)) for k, (a, s) in live.items()}
    starts = sorted((a, a + s, k) for k, (a, s) in blocks.items())

    def usable(a, size, hi):
        if not a or a % 16 or a < lo or a + size - 1 > hi:
            return False
        k = bisect.bisect_left(starts, (a,))
        return not any(0 <= j < len(starts) and starts[j][0] < a + size and a < starts[j][1] for j in (k - 1, k))

    def place(bid, a, size):
        bisect.insort(starts, (a, a + size, bid))
        blocks[bid] = (a, size)
        fill(lib, bid, a, size)

    def take(bid):
        a, size = blocks.pop(bid)
        starts.pop(bisect.bisect_left(starts, (a, a + size, bid)))
        return a, size

    steps = []
    for op in ops:
        if op[0] == "a":
            _, bid, size = op
            a = _addr(lib, lib.mm_malloc(size))
            hi = _addr(lib, lib.mem_heap_hi())
            steps.append((a, hi))
            if not usable(a, size, hi):
                break
            place(bid, a, size)
        elif op[0] == "f":
            a, size = take(op[1])
            got = _read(lib, a, size)
            steps.append(got)
            if got != pattern(op[1], size):
                break
            lib.mm_free(ffi.cast("void *", a))
        else:
            _, bid, size = op
            a, old = take(bid)
            got = _read(lib, a, old)
            if got != pattern(bid, old):
                steps.append((got, None, None, None))
                break
            p = _addr(lib, lib.mm_realloc(ffi.cast("void *", a), size))
            hi = _addr(lib, lib.mem_heap_hi())
            if not usable(p, size, hi):
                steps.append((got, p, hi, None))
                break
            n = min(old, size)
            moved = _read(lib, p, n)
            steps.append((got, p, hi, moved))
            if moved != pattern(bid, old)[:n]:
                break
            place(bid, p, size)
    final = [(k, _read(lib, a, s)) for k, (a, s) in blocks.items()] if len(steps) == len(ops) else []
    return {"steps": steps, "final": final}
