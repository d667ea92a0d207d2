"""The arena against an exact model: every allocation's address is predicted (minimal padding, the
address aligned, NULL exactly when it does not fit), blocks must not overlap, huge sizes must not wrap
around, and the block must be freed. Then the same in a program built with AddressSanitizer."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from native import sanitize

CDEF = """
typedef struct { unsigned char *base; size_t capacity; size_t used; } arena_t;
int arena_init(arena_t *a, size_t capacity);
void *arena_alloc(arena_t *a, size_t size, size_t align);
size_t arena_mark(const arena_t *a);
void arena_release(arena_t *a, size_t mark);
void arena_reset(arena_t *a);
void arena_destroy(arena_t *a);
"""
SIZE_MAX = 2**64 - 1


def load(kata):
    return sanitize.counted_library(kata, CDEF)


class Model:
    """What arena_alloc must return, from the arena's own fields."""

    def __init__(self, base: int, cap: int):
        self.base, self.cap, self.used = base, cap, 0

    def alloc(self, size: int, align: int):
        if align == 0 or align & (align - 1):
            return None
        here = self.base + self.used
        start = ((here + align - 1) & ~(align - 1)) - self.base
        if start > self.cap or size > self.cap - start:
            return None
        self.used = start + size
        return self.base + start


def addr(lib, p) -> int:
    return int(lib.ffi.cast("uintptr_t", p))


def hand_made(lib, offset: int, cap: int):
    """An arena over a numpy buffer whose start is `offset` bytes past a 4096-byte boundary."""
    buf = np.zeros(cap + 8192, dtype=np.uint8)
    start = (offset - buf.ctypes.data) % 4096
    a = lib.ffi.new("arena_t *")
    a.base = lib.ffi.cast("unsigned char *", buf.ctypes.data + start)
    a.capacity, a.used = cap, 0
    return a, buf


def run_sequence(lib, a, ops, what):
    m = Model(addr(lib, a.base), a.capacity)
    live = []  # (address, size, fill byte)
    for k, (size, align) in enumerate(ops):
        used_before = m.used
        got = lib.arena_alloc(a, size, align)
        got = addr(lib, got) if got != lib.ffi.NULL else None
        want = m.alloc(size, align)
        step = f"{what}, allocation {k} (size {size}, align {align}, with {used_before} bytes used)"
        if want is None and got is not None:
            raise AssertionError(f"{step}: returned a block at offset {got - m.base}, but it does not fit "
                                 f"(capacity {m.cap}): it must return NULL")
        if want is not None and got is None:
            raise AssertionError(f"{step}: returned NULL, but the block fits at offset {want - m.base}")
        if got is not None and got != want:
            detail = (f"not a multiple of {align}" if got % align else
                      "more padding than needed (the next multiple of align after base + used)")
            raise AssertionError(f"{step}: returned offset {got - m.base}, expected {want - m.base}: the address "
                                 f"{got:#x} is {detail}")
        assert a.used == m.used, f"{step}: a->used is {a.used}, expected {m.used} (padding + size)"
        if got is not None and size:
            fill = (k * 37 + 1) % 255 + 1
            lib.ffi.memmove(lib.ffi.cast("unsigned char *", got), bytes([fill]) * size, size)
            live.append((got, size, fill))
    for got, size, fill in live:  # overlapping blocks overwrite each other's fill
        data = bytes(lib.ffi.buffer(lib.ffi.cast("unsigned char *", got), size))
        assert data == bytes([fill]) * size, f"{what}: two blocks overlap (the block at offset {got - m.base} was overwritten)"
    return m


ALIGNS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 4096]


@pytest.mark.parametrize("offset", [0, 8, 16, 24, 40, 4088])
def test_addresses_are_aligned_wherever_the_block_starts(kata, offset):
    lib = load(kata)
    a, buf = hand_made(lib, offset, 20000)
    ops = [(s, al) for s in (1, 3, 0, 17) for al in ALIGNS]
    run_sequence(lib, a, ops, f"an arena whose block starts {offset} bytes past a 4096-byte boundary")


@settings(max_examples=100, deadline=None)
@given(cap=st.integers(0, 3000), offset=st.sampled_from([0, 8, 16, 48]),
       ops=st.lists(st.tuples(st.integers(0, 700), st.sampled_from(ALIGNS)), max_size=30))
def test_any_sequence(kata, cap, offset, ops):
    lib = load(kata)
    a, buf = hand_made(lib, offset, cap)
    run_sequence(lib, a, ops, f"capacity {cap}, base at +{offset}")


def test_exact_fit_and_running_out(kata):
    lib = load(kata)
    a, buf = hand_made(lib, 0, 64)
    run_sequence(lib, a, [(64, 1), (1, 1), (0, 1), (0, 64)], "a 64-byte arena filled exactly")
    a, buf = hand_made(lib, 0, 64)
    run_sequence(lib, a, [(1, 1), (48, 16), (1, 16)], "a 64-byte arena: 1 byte, then 48 at align 16")


@pytest.mark.parametrize("size", [SIZE_MAX, SIZE_MAX - 7, 2**63, SIZE_MAX - 100])
def test_huge_sizes_do_not_wrap(kata, size):
    lib = load(kata)
    a, buf = hand_made(lib, 0, 4096)
    assert lib.arena_alloc(a, 100, 1) != lib.ffi.NULL
    p = lib.arena_alloc(a, size, 8)
    if p != lib.ffi.NULL:
        raise AssertionError(f"arena_alloc(a, {size:#x}, 8) returned a block from a 4096-byte arena: "
                               "`used + size` wrapped around. Compare size with the room left, capacity - start.")
    assert a.used == 100, f"a failed allocation changed used from 100 to {a.used}"


@pytest.mark.parametrize("align", [0, 3, 6, 48, 100])
def test_bad_alignment(kata, align):
    lib = load(kata)
    a, buf = hand_made(lib, 0, 4096)
    if lib.arena_alloc(a, 8, align) != lib.ffi.NULL:
        raise AssertionError(f"arena_alloc(a, 8, {align}) returned a block: {align} is not a power of two, return NULL")
    assert a.used == 0


def test_mark_release_reset(kata):
    lib = load(kata)
    a, buf = hand_made(lib, 8, 1000)
    m = run_sequence(lib, a, [(10, 1), (5, 8)], "before the mark")
    mark = lib.arena_mark(a)
    assert mark == a.used == m.used, f"arena_mark returned {mark}, expected the used count {m.used}"
    run_sequence(lib, a, [(100, 64), (7, 1)], "after the mark")
    lib.arena_release(a, mark)
    assert a.used == mark, f"after arena_release(mark) used is {a.used}, expected {mark}"
    p = lib.arena_alloc(a, 1, 1)
    assert addr(lib, p) == addr(lib, a.base) + mark, "after a release the next block starts at the mark again"
    lib.arena_reset(a)
    assert a.used == 0 and addr(lib, lib.arena_alloc(a, 4, 1)) == addr(lib, a.base), "after a reset, start over at base"


def test_init_and_destroy_free_the_block(kata):
    lib = load(kata)
    lib.reset_counts()
    for cap in (0, 1, 4096, 1 << 20):
        a = lib.ffi.new("arena_t *")
        assert lib.arena_init(a, cap) == 0, f"arena_init(a, {cap}) failed"
        assert a.base != lib.ffi.NULL and a.capacity == cap and a.used == 0, \
            f"after arena_init(a, {cap}): base {a.base}, capacity {a.capacity}, used {a.used}"
        p = lib.arena_alloc(a, cap, 1)
        assert p != lib.ffi.NULL, f"a {cap}-byte arena could not give {cap} bytes"
        lib.arena_destroy(a)
        assert a.base == lib.ffi.NULL and a.capacity == 0 and a.used == 0, "arena_destroy must clear the fields"
        lib.assert_no_leaks(after=f"arena_init(a, {cap}) ... arena_destroy(a)")


def test_no_memory_errors_under_asan(kata):
    # 40 arenas filled until they run out, every byte of every block written, then destroyed.
    sanitize.check_program(kata, "sanitize_arena.c")
