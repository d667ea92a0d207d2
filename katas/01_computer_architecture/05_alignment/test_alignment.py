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


def test_allocator_alignment(kata):
    lib, probe = kata.library(CDEF), kata.probe("probes.py")
    requests = [(size, align) for align in [1, 2, 8, 16, 32, 64, 128, 4096]
                for size in [1, 3, 8, 63, 64, 100, 4095, 4096, 10000]]
    got = probe.allocate(lib, requests)  # each block is filled with 0xAB: the whole block must be usable
    for (size, align), a in zip(requests, got):
        assert a != 0, f"aligned_malloc({size}, {align}) returned NULL"
        assert a % align == 0, f"aligned_malloc({size}, {align}) returned {a:#x}, which is {a % align} bytes past a multiple of {align}"
    spans = sorted((a, a + size) for (size, _), a in zip(requests, got))
    for (a0, e0), (a1, _) in zip(spans, spans[1:]):
        assert e0 <= a1, f"two live blocks overlap: [{a0:#x}, {e0:#x}) and one starting at {a1:#x}"
    probe.free(lib, got + [0])  # freeing NULL does nothing


def test_allocator_rejects_bad_alignment(kata):
    lib, probe = kata.library(CDEF), kata.probe("probes.py")
    for align in [0, 3, 12, 48, 100]:
        a = probe.allocate(lib, [(64, align)])[0]
        assert a == 0, f"aligned_malloc(64, {align}): {align} is not a power of two, expected NULL (got {a:#x})"


def test_allocator_stress(kata):
    # Thousands of allocations and frees in random order: a free() of the wrong pointer, or a header
    # written outside the block, makes glibc abort (SIGABRT) or corrupts what later blocks hold.
    lib, probe = kata.library(CDEF), kata.probe("probes.py")
    rng = random.Random(7)
    ops, live, allocs = [], [], []
    for step in range(6000):
        if live and rng.random() < 0.45:
            k = live.pop(rng.randrange(len(live)))
            ops.append(("free", k))
        else:
            size, align = rng.randrange(1, 3000), 1 << rng.randrange(0, 13)
            live.append(len(allocs))
            allocs.append((size, align, step % 251, step))
            ops.append(("alloc", size, align, step % 251))
    got = probe.churn(lib, ops)
    for step, (op, r) in enumerate(zip(ops, got)):
        if op[0] == "alloc":
            _, size, align, _ = op
            assert r and r % align == 0, f"aligned_malloc({size}, {align}) returned {r:#x} (step {step})"
        else:
            size, _, fill, _ = allocs[op[1]]
            assert r == bytes([fill]) * size, (
                f"a live block's contents changed (step {step}): blocks overlap or a header was written inside one")
    assert len(got) == len(ops), f"the probe stopped after {len(got)} of {len(ops)} operations"
    probe.free(lib, [got[allocs[k][3]] for k in live])


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
