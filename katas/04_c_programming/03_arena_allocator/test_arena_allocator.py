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


def hand_made(kata, lib, offset: int, cap: int):
    """An arena over a buffer whose start is `offset` bytes past a 4096-byte boundary (built by the
    probe, beside the learner's library: the test holds it as a handle)."""
    return kata.probe("probes.py").hand_made(lib, offset, cap)


def run_sequence(kata, lib, a, ops, what):
    probe = kata.probe("probes.py")
    base, cap, _ = probe.fields(lib, a)
    m = Model(base, cap)
    fills = [(k * 37 + 1) % 255 + 1 for k in range(len(ops))]
    got_all = probe.allocs(lib, a, [(size, align, fill) for (size, align), fill in zip(ops, fills)])
    for k, ((size, align), (got, used)) in enumerate(zip(ops, got_all["steps"])):
        used_before = m.used
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
        assert used == m.used, f"{step}: a->used is {used}, expected {m.used} (padding + size)"
    fill_at = {got: fill for (got, _), (size, _), fill in zip(got_all["steps"], ops, fills) if got is not None and size}
    for got, data in got_all["blocks"]:  # overlapping blocks overwrite each other's fill
        fill = fill_at[got]
        assert data == bytes([fill]) * len(data), f"{what}: two blocks overlap (the block at offset {got - m.base} was overwritten)"
    return m


ALIGNS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 4096]


@pytest.mark.parametrize("offset", [0, 8, 16, 24, 40, 4088])
def test_addresses_are_aligned_wherever_the_block_starts(kata, offset):
    lib = load(kata)
    a = hand_made(kata, lib, offset, 20000)
    ops = [(s, al) for s in (1, 3, 0, 17) for al in ALIGNS]
    run_sequence(kata, lib, a, ops, f"an arena whose block starts {offset} bytes past a 4096-byte boundary")


@settings(max_examples=100, deadline=None)
@given(cap=st.integers(0, 3000), offset=st.sampled_from([0, 8, 16, 48]),
       ops=st.lists(st.tuples(st.integers(0, 700), st.sampled_from(ALIGNS)), max_size=30))
def test_any_sequence(kata, cap, offset, ops):
    lib = load(kata)
    a = hand_made(kata, lib, offset, cap)
    run_sequence(kata, lib, a, ops, f"capacity {cap}, base at +{offset}")


def test_exact_fit_and_running_out(kata):
    lib = load(kata)
    a = hand_made(kata, lib, 0, 64)
    run_sequence(kata, lib, a, [(64, 1), (1, 1), (0, 1), (0, 64)], "a 64-byte arena filled exactly")
    a = hand_made(kata, lib, 0, 64)
    run_sequence(kata, lib, a, [(1, 1), (48, 16), (1, 16)], "a 64-byte arena: 1 byte, then 48 at align 16")


@pytest.mark.parametrize("size", [SIZE_MAX, SIZE_MAX - 7, 2**63, SIZE_MAX - 100])
def test_huge_sizes_do_not_wrap(kata, size):
    lib = load(kata)
    a = hand_made(kata, lib, 0, 4096)
    (first, _), (p, used) = kata.probe("probes.py").allocs(lib, a, [(100, 1, 1), (size, 8, 2)])["steps"]
    assert first is not None, "arena_alloc(a, 100, 1) on an empty 4096-byte arena returned NULL"
    if p is not None:
        raise AssertionError(f"arena_alloc(a, {size:#x}, 8) returned a block from a 4096-byte arena: "
                               "`used + size` wrapped around. Compare size with the room left, capacity - start.")
    assert used == 100, f"a failed allocation changed used from 100 to {used}"


@pytest.mark.parametrize("align", [0, 3, 6, 48, 100])
def test_bad_alignment(kata, align):
    lib = load(kata)
    a = hand_made(kata, lib, 0, 4096)
    [(p, used)] = kata.probe("probes.py").allocs(lib, a, [(8, align, 1)])["steps"]
    if p is not None:
        raise AssertionError(f"arena_alloc(a, 8, {align}) returned a block: {align} is not a power of two, return NULL")
    assert used == 0, f"arena_alloc(a, 8, {align}) returned NULL but changed used from 0 to {used}"


def test_mark_release_reset(kata):
    lib, probe = load(kata), kata.probe("probes.py")
    a = hand_made(kata, lib, 8, 1000)
    m = run_sequence(kata, lib, a, [(10, 1), (5, 8)], "before the mark")
    mark, used = probe.mark(lib, a)
    assert mark == used == m.used, f"arena_mark returned {mark}, expected the used count {m.used}"
    run_sequence(kata, lib, a, [(100, 64), (7, 1)], "after the mark")
    used = probe.release(lib, a, mark)
    assert used == mark, f"after arena_release(mark) used is {used}, expected {mark}"
    base = probe.fields(lib, a)[0]
    [(p, _)] = probe.allocs(lib, a, [(1, 1, 1)])["steps"]
    assert p == base + mark, "after a release the next block starts at the mark again"
    used = probe.reset(lib, a)
    [(p, _)] = probe.allocs(lib, a, [(4, 1, 1)])["steps"]
    assert used == 0 and p == base, "after a reset, start over at base"


def test_init_and_destroy_free_the_block(kata):
    lib, probe = load(kata), kata.probe("probes.py")
    lib.reset_counts()
    for cap in (0, 1, 4096, 1 << 20):
        got = probe.init_alloc_destroy(lib, cap)
        assert got["init"] == 0, f"arena_init(a, {cap}) failed"
        base, capacity, used = got["after_init"]
        assert base is not None and capacity == cap and used == 0, \
            f"after arena_init(a, {cap}): base {base if base is None else hex(base)}, capacity {capacity}, used {used}"
        assert got["alloc"] is not None, f"a {cap}-byte arena could not give {cap} bytes"
        assert got["after_destroy"] == (None, 0, 0), "arena_destroy must clear the fields"
        lib.assert_no_leaks(after=f"arena_init(a, {cap}) ... arena_destroy(a)")


def test_no_memory_errors_under_asan(kata):
    # 40 arenas filled until they run out, every byte of every block written, then destroyed.
    sanitize.check_program(kata, "sanitize_arena.c")
