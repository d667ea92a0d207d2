"""Move semantics, counted: the element types count their copies and moves, the library counts its
allocations, so the tests see whether growth moved or copied, whether it respected noexcept, whether
every element was destroyed, and how many times the array was reallocated."""
import math

import pytest

from native import sanitize

CDEF = """
void run_push_rvalues(int n, long *out);
void run_push_lvalues(int n, long *out);
void run_emplace(int n, long *out);
void run_reserve_then_push(int n, long *out);
void run_may_throw(int n, long *out);
void run_push_own_element(int n, long *out);
"""
SIZES = [0, 1, 2, 3, 17, 1000, 1025]


def run(kata, name, n):
    lib = sanitize.counted_library(kata, CDEF)
    out = lib.ffi.new("long[7]")
    lib.reset_counts()
    getattr(lib, name)(n, out)
    r = dict(zip(["copies", "moves", "live", "wrong", "capacity", "size", "bad"], list(out)))
    r["allocs"] = lib.counts().allocs
    return lib, r


def basic(r, what, n, hint="order, or a lost element"):
    __tracebackhide__ = True
    assert r["size"] == n, f"{what}: size() is {r['size']} after {n} pushes"
    assert r["capacity"] >= n, f"{what}: capacity() {r['capacity']} is less than size() {n}"
    assert r["bad"] == 0, (f"{what}: {r['bad']} element(s) were built from a moved-from or destroyed object: an element "
                           "was read after growth had moved or freed it")
    assert r["wrong"] == 0, f"{what}: {r['wrong']} element(s) hold the wrong value ({hint})"
    assert r["live"] == 0, (f"{what}: {r['live']} element(s) were never destroyed (constructed minus destroyed, after the "
                            "Vec is gone): destroy every element, including the moved-from ones left behind by growth")


@pytest.mark.parametrize("n", SIZES)
def test_push_rvalues_never_copies(kata, n):
    lib, r = run(kata, "run_push_rvalues", n)
    basic(r, f"push_back(Tracked(i)) x {n}", n)
    assert r["copies"] == 0, (f"push_back of {n} temporaries made {r['copies']} copies: an rvalue must be moved in, and "
                              "growth must move the old elements (Tracked's move is noexcept)")
    lib.assert_no_leaks(after=f"{n} push_back and the Vec's destructor")


@pytest.mark.parametrize("n", SIZES)
def test_push_lvalues_copies_once_each(kata, n):
    lib, r = run(kata, "run_push_lvalues", n)
    basic(r, f"push_back(t) x {n}", n)
    assert r["copies"] == n, (f"push_back of {n} named objects made {r['copies']} copies, expected exactly {n}: one per "
                              "push (the argument), none during growth")


@pytest.mark.parametrize("n", SIZES)
def test_emplace_constructs_in_place(kata, n):
    lib, r = run(kata, "run_emplace", n)
    basic(r, f"emplace_back(i) x {n}", n)
    assert r["copies"] == 0, f"emplace_back made {r['copies']} copies"
    _, pushed = run(kata, "run_push_rvalues", n)
    growth = pushed["moves"] - n  # push_back(Tracked(i)) moves each temporary in once; the rest is growth
    assert r["moves"] == growth, (
        f"emplace_back x {n}: {r['moves']} moves, but growth alone accounts for {growth} (push_back of {n} temporaries "
        f"made {pushed['moves']}). emplace_back constructs the element in place (placement new with the forwarded "
        "arguments), with no temporary to move from")


@pytest.mark.parametrize("n", [1, 17, 1000])
def test_reserve_avoids_growth(kata, n):
    lib, r = run(kata, "run_reserve_then_push", n)
    basic(r, f"reserve({n}) then push_back x {n}", n)
    assert r["moves"] == n, (f"after reserve({n}), {n} push_back(Tracked(i)) made {r['moves']} moves, expected {n} (one per "
                             "push): nothing should be relocated once the room is reserved")
    assert r["allocs"] == 1, f"reserve({n}) then {n} pushes: {r['allocs']} allocations, expected 1"


@pytest.mark.parametrize("n", [2, 17, 1000])
def test_growth_copies_when_move_may_throw(kata, n):
    lib, r = run(kata, "run_may_throw", n)
    basic(r, f"emplace_back x {n} of MayThrow", n)
    assert r["moves"] == 0, (f"MayThrow's move constructor is not noexcept, yet growth moved {r['moves']} elements. If a "
                             "move threw halfway, the old array would already be gutted: use std::move_if_noexcept, "
                             "which copies such elements")
    assert r["copies"] > 0


@pytest.mark.parametrize("n", [2, 3, 5, 100, 1025])
def test_push_back_of_own_element(kata, n):
    # v.push_back(v[0]) exactly when v is full: the argument lives in the block that growing replaces.
    lib, r = run(kata, "run_push_own_element", n)
    basic(r, f"v.push_back(v[0]) whenever v is full, {n} elements", n,
          hint="the argument is a reference into the old block: build the new element before growth frees it")


def test_no_memory_errors_under_asan(kata):
    sanitize.check_program(kata, "sanitize_vec.cpp")


# --------------------------------------------------------------------------- performance (counts)
# Doubling the capacity makes growth cost O(1) per push on average: n pushes move at most ~2n
# elements in all and allocate about log2(n) times. Growing by a constant moves n*n/2 elements.

@pytest.mark.perf
@pytest.mark.parametrize("n", [10000])
def test_growth_is_amortised(kata, n):
    lib, r = run(kata, "run_push_rvalues", n)
    basic(r, f"push_back x {n}", n)
    kata.record(moves=r["moves"], allocations=r["allocs"], moves_per_push=round(r["moves"] / n, 3))
    max_allocs = 2 * math.ceil(math.log2(n)) + 2
    assert r["moves"] <= 3 * n and r["allocs"] <= max_allocs, (
        f"{n} push_back: {r['moves']:,} moves and {r['allocs']} allocations; the gate is {3 * n:,} moves and "
        f"{max_allocs} allocations. Grow the capacity by a factor (doubling), not by a constant: then each push costs "
        "O(1) moves on average")
