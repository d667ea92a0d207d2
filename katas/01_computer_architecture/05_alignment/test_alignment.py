"""Alignment: align_up exactly, the allocator by address arithmetic and heavy use (glibc aborts on a bad
free), struct layout against the C compiler's own (ctypes computes layouts by the platform ABI)."""
import ctypes
import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

CDEF = """
size_t align_up(size_t x, size_t a);
void *aligned_malloc(size_t size, size_t alignment);
void aligned_free(void *p);
void struct_layout(const int *sizes, const int *aligns, int n, int *offsets, int *total_size, int *struct_align);
void best_order(const int *sizes, const int *aligns, int n, int *order);
"""

# C types with their (size, alignment) on x86-64, as ctypes knows them.
TYPES = [ctypes.c_char, ctypes.c_short, ctypes.c_int, ctypes.c_float, ctypes.c_double, ctypes.c_longlong,
         ctypes.c_void_p, ctypes.c_longdouble, ctypes.c_char * 3, ctypes.c_short * 5, ctypes.c_int * 3,
         ctypes.c_double * 2, ctypes.c_char * 13]


def c_layout(types):
    S = type("S", (ctypes.Structure,), {"_fields_": [(f"f{i}", t) for i, t in enumerate(types)]})
    return [getattr(S, f"f{i}").offset for i in range(len(types))], ctypes.sizeof(S), ctypes.alignment(S)


def learner_layout(lib, sizes, aligns):
    n = len(sizes)
    offs = np.full(max(n, 1), -1, np.int32)
    total, al = np.full(1, -1, np.int32), np.full(1, -1, np.int32)
    lib.struct_layout(np.array(sizes or [0], np.int32), np.array(aligns or [1], np.int32), n, offs, total, al)
    return offs[:n].tolist(), int(total[0]), int(al[0])


def struct_text(types):
    return "struct { " + " ".join(f"{t.__name__}({ctypes.sizeof(t)}B, align {ctypes.alignment(t)});" for t in types) + " }"


def test_align_up(kata):
    lib = kata.library(CDEF)
    for x, a, want in [(0, 8, 0), (1, 8, 8), (8, 8, 8), (9, 8, 16), (4095, 4096, 4096), (4096, 4096, 4096),
                       (4097, 4096, 8192), (13, 1, 13), (63, 64, 64), (65, 64, 128), ((1 << 40) + 1, 64, (1 << 40) + 64)]:
        got = lib.align_up(x, a)
        assert got == want, f"align_up({x}, {a}) = {got}, expected {want}"
    rng = random.Random(1)
    for _ in range(2000):
        x, a = rng.randrange(0, 1 << 48), 1 << rng.randrange(0, 13)
        want = -(-x // a) * a
        got = lib.align_up(x, a)
        assert got == want, f"align_up({x}, {a}) = {got}, expected {want}"


def addr(lib, p):
    return int(lib.ffi.cast("uintptr_t", p))


def test_allocator_alignment(kata):
    lib = kata.library(CDEF)
    live = []
    for align in [1, 2, 8, 16, 32, 64, 128, 4096]:
        for size in [1, 3, 8, 63, 64, 100, 4095, 4096, 10000]:
            p = lib.aligned_malloc(size, align)
            a = addr(lib, p)
            assert a != 0, f"aligned_malloc({size}, {align}) returned NULL"
            assert a % align == 0, f"aligned_malloc({size}, {align}) returned {a:#x}, which is {a % align} bytes past a multiple of {align}"
            ctypes.memset(a, 0xAB, size)  # the whole block must be usable
            live.append((a, size, p))
    spans = sorted((a, a + s) for a, s, _ in live)
    for (a0, e0), (a1, _) in zip(spans, spans[1:]):
        assert e0 <= a1, f"two live blocks overlap: [{a0:#x}, {e0:#x}) and one starting at {a1:#x}"
    for _, _, p in live:
        lib.aligned_free(p)
    lib.aligned_free(lib.ffi.NULL)  # freeing NULL does nothing


def test_allocator_rejects_bad_alignment(kata):
    lib = kata.library(CDEF)
    for align in [0, 3, 12, 48, 100]:
        p = lib.aligned_malloc(64, align)
        assert addr(lib, p) == 0, f"aligned_malloc(64, {align}): {align} is not a power of two, expected NULL"


def test_allocator_stress(kata):
    # Thousands of allocations and frees in random order: a free() of the wrong pointer, or a header
    # written outside the block, makes glibc abort (SIGABRT) or corrupts what later blocks hold.
    lib = kata.library(CDEF)
    rng = random.Random(7)
    live = {}
    for step in range(6000):
        if live and rng.random() < 0.45:
            key = rng.choice(list(live))
            a, size, p, fill = live.pop(key)
            got = ctypes.string_at(a, size)
            assert got == bytes([fill]) * size, f"a live block's contents changed (step {step}): blocks overlap or a header was written inside one"
            lib.aligned_free(p)
        else:
            size, align = rng.randrange(1, 3000), 1 << rng.randrange(0, 13)
            p = lib.aligned_malloc(size, align)
            a = addr(lib, p)
            assert a and a % align == 0, f"aligned_malloc({size}, {align}) returned {a:#x}"
            fill = step % 251
            ctypes.memset(a, fill, size)
            live[step] = (a, size, p, fill)
    for a, size, p, fill in live.values():
        lib.aligned_free(p)


@pytest.mark.parametrize("types", [
    [ctypes.c_char, ctypes.c_int, ctypes.c_char],
    [ctypes.c_char, ctypes.c_double, ctypes.c_short],
    [ctypes.c_int, ctypes.c_char * 3],
    [ctypes.c_char, ctypes.c_longdouble],
    [ctypes.c_double],
    [ctypes.c_char * 13, ctypes.c_short],
], ids=lambda t: "_".join(x.__name__ for x in t))
def test_known_structs(kata, types):
    lib = kata.library(CDEF)
    sizes, aligns = [ctypes.sizeof(t) for t in types], [ctypes.alignment(t) for t in types]
    got, want = learner_layout(lib, sizes, aligns), c_layout(types)
    assert got == (list(want[0]), want[1], want[2]), (
        f"{struct_text(types)}: got offsets {got[0]}, size {got[1]}, alignment {got[2]}; the C compiler says offsets "
        f"{list(want[0])}, size {want[1]}, alignment {want[2]}")


@settings(max_examples=150)
@given(idx=st.lists(st.integers(0, len(TYPES) - 1), min_size=1, max_size=12))
def test_any_struct(kata, idx):
    lib = kata.library(CDEF)
    types = [TYPES[i] for i in idx]
    sizes, aligns = [ctypes.sizeof(t) for t in types], [ctypes.alignment(t) for t in types]
    got, want = learner_layout(lib, sizes, aligns), c_layout(types)
    assert got == (list(want[0]), want[1], want[2]), (
        f"{struct_text(types)}: got offsets {got[0]}, size {got[1]}, alignment {got[2]}; the C compiler says offsets "
        f"{list(want[0])}, size {want[1]}, alignment {want[2]}")
    # best_order: a permutation of the fields whose struct is as small as any ordering can make it.
    order = np.full(len(types), -1, np.int32)
    lib.best_order(np.array(sizes, np.int32), np.array(aligns, np.int32), len(types), order)
    order = order.tolist()
    assert sorted(order) == list(range(len(types))), f"best_order on {struct_text(types)}: {order} is not a permutation"
    best = c_layout(sorted(types, key=lambda t: -ctypes.alignment(t)))[1]
    mine = c_layout([types[i] for i in order])[1]
    assert mine == best, (f"best_order on {struct_text(types)}: your order {order} gives a {mine}-byte struct; "
                          f"{best} bytes is possible")
