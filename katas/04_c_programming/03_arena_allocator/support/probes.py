"""What the arena tests do beside the learner's library: build arenas over a buffer of the probe's
own, call arena_alloc / mark / release / reset / init / destroy on them, write and read the blocks it
hands out, and read the arena's fields. Each function returns data (addresses, counts, bytes) for the
test to judge; under `kata grade` this file runs in the learner's process (kata.probe), the checks do
not. Arenas cross back to the test as handles that it passes in again."""
import numpy as np

_KEEP = []  # the buffers behind hand-made arenas, alive as long as this process


def _addr(lib, p):
    a = int(lib.ffi.cast("uintptr_t", p))
    return a or None


def hand_made(lib, offset, cap):
    """An arena_t over a fresh buffer whose start is `offset` bytes past a 4096-byte boundary."""
    buf = np.zeros(cap + 8192, dtype=np.uint8)
    _KEEP.append(buf)
    start = (offset - buf.ctypes.data) % 4096
    a = lib.ffi.new("arena_t *")
    a.base = lib.ffi.cast("unsigned char *", buf.ctypes.data + start)
    a.capacity, a.used = cap, 0
    return a


def fields(lib, a):
    """(base address or None, capacity, used)."""
    return _addr(lib, a.base), a.capacity, a.used


def allocs(lib, a, ops):
    """arena_alloc(a, size, align) for each (size, align, fill); each block of size > 0 that lies
    inside the arena's capacity is filled with `fill`. Returns per op (address or None, a->used after
    it), and the bytes each filled block holds after all of them (as (address, bytes))."""
    base, cap = _addr(lib, a.base) or 0, a.capacity
    steps, filled = [], []
    for size, align, fill in ops:
        got = _addr(lib, lib.arena_alloc(a, size, align))
        steps.append((got, a.used))
        if got is not None and size and base <= got and got + size <= base + cap:
            lib.ffi.memmove(lib.ffi.cast("unsigned char *", got), bytes([fill]) * size, size)
            filled.append((got, size))
    blocks = [(got, bytes(lib.ffi.buffer(lib.ffi.cast("unsigned char *", got), size))) for got, size in filled]
    return {"steps": steps, "blocks": blocks}


def mark(lib, a):
    """(arena_mark(a), a->used)."""
    return lib.arena_mark(a), a.used


def release(lib, a, m):
    """arena_release(a, m); returns a->used."""
    lib.arena_release(a, m)
    return a.used


def reset(lib, a):
    """arena_reset(a); returns a->used."""
    lib.arena_reset(a)
    return a.used


def init_alloc_destroy(lib, cap):
    """arena_init(a, cap), arena_alloc(a, cap, 1), arena_destroy(a) on a fresh arena_t. Returns
    what each gave and the fields after init and after destroy; stops after a failing init."""
    a = lib.ffi.new("arena_t *")
    out = {"init": lib.arena_init(a, cap), "after_init": fields(lib, a)}
    if out["init"] != 0:
        return out
    out["alloc"] = _addr(lib, lib.arena_alloc(a, cap, 1))
    lib.arena_destroy(a)
    out["after_destroy"] = fields(lib, a)
    return out
