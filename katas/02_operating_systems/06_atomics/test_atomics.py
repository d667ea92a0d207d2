"""C11 atomics under threads. Single-threaded contracts first (trylock, fetch-and-add's return value, the
queue's exact capacity, wraparound, power-of-two capacities only), then stress: 2 to 8 threads through
the lock around a plain read-modify-write (no update may be lost), 4 threads taking counter tickets (each
handed out once), and a producer thread against a consumer through queues of 1 to 64 slots (every value
in order, none stale). A race that loses one update in a million fails the run."""
import numpy as np
import pytest

from kata.toolkit import expect

CDEF = """
typedef struct { int locked; } spinlock_t;
typedef struct {
    uint64_t *slots;
    size_t cap;
    char _pad0[48];
    size_t head;
    char _pad1[56];
    size_t tail;
    char _pad2[56];
} spsc_t;
void spin_lock(spinlock_t *l);
int spin_trylock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
long counter_add(long *c, long v);
int spsc_init(spsc_t *q, uint64_t *slots, size_t cap);
int spsc_push(spsc_t *q, uint64_t v);
int spsc_pop(spsc_t *q, uint64_t *out);
long stress_lock(int threads, long iters);
long stress_lock_overlaps(void);
void stress_counter(int threads, long iters, long *out);
long stress_spsc(size_t cap, long n, uint64_t *got, uint64_t *want);
"""


def load(kata):
    return kata.library(CDEF, extra_sources=[kata.support("stress.c")], flags=["-pthread"])


def test_lock_single_thread(kata):
    lib = load(kata)
    l = lib.ffi.new("spinlock_t *")
    expect(lib.spin_trylock(l) == 1, "spin_trylock on a free lock returned 0: it must take it and return 1")
    expect(l.locked != 0, "spin_trylock returned 1 but the lock is not marked held")
    expect(lib.spin_trylock(l) == 0, "spin_trylock on a held lock returned 1: it must return 0")
    lib.spin_unlock(l)
    expect(l.locked == 0, "spin_unlock left the lock marked held")
    lib.spin_lock(l)
    expect(lib.spin_trylock(l) == 0, "after spin_lock, spin_trylock must fail")
    lib.spin_unlock(l)
    expect(lib.spin_trylock(l) == 1, "after spin_unlock, spin_trylock must succeed")


def test_counter_single_thread(kata):
    lib = load(kata)
    c = lib.ffi.new("long *", 10)
    got = [lib.counter_add(c, v) for v in (5, -3, 0, 100)]
    expect(got == [10, 15, 12, 12], f"counter_add from 10 adding 5, -3, 0, 100 returned {got}: it returns the value "
                                    "before the add ([10, 15, 12, 12])")
    expect(c[0] == 112, f"after those adds the counter is {c[0]}, expected 112")


def new_queue(lib, cap):
    q = lib.ffi.new("spsc_t *")
    slots = lib.ffi.new("uint64_t[]", max(cap, 1))
    return q, slots, lib.spsc_init(q, slots, cap)


def test_queue_single_thread(kata):
    lib = load(kata)
    out = lib.ffi.new("uint64_t *")
    for cap in (1, 2, 8, 64):
        q, slots, rc = new_queue(lib, cap)
        expect(rc == 0, f"spsc_init(cap={cap}) returned {rc}: {cap} is a power of two")
        expect(lib.spsc_pop(q, out) == 0, f"pop from an empty queue (cap {cap}) returned 1")
        nxt, want = 0, 0
        for lap in range(5):  # fill to exactly cap, drain, several laps: the counts wrap past the slots
            for _ in range(cap):
                expect(lib.spsc_push(q, nxt) == 1, f"push {nxt - want + 1} of {cap} into a queue of capacity {cap} "
                                                   "returned 0: it holds exactly cap items")
                nxt += 1
            expect(lib.spsc_push(q, 999) == 0, f"push into a full queue of capacity {cap} returned 1 (it held {cap}): "
                                               "full is tail - head == cap")
            for _ in range(cap):
                expect(lib.spsc_pop(q, out) == 1 and out[0] == want,
                       f"lap {lap}, capacity {cap}: popped {out[0]}, expected {want} (first in, first out)")
                want += 1
            expect(lib.spsc_pop(q, out) == 0, f"pop from a drained queue (capacity {cap}) returned 1")
        # interleaved, half full
        for i in range(3 * cap + 1):
            lib.spsc_push(q, 10_000 + i)
            if i % 2:
                lib.spsc_pop(q, out)
    for bad in (0, 3, 6, 100):
        q, slots, rc = new_queue(lib, bad)
        expect(rc == -1, f"spsc_init(cap={bad}) returned {rc}: only powers of two are valid (slot = count & (cap - 1))")


# ---------------------------------------------------------------------------------- stress
@pytest.mark.time_limit(120)
@pytest.mark.parametrize("threads", [2, 4, 8])
def test_lock_stress(kata, threads):
    lib = load(kata)
    iters = 100_000 // threads
    for rep in range(3):
        got = lib.stress_lock(threads, iters)
        both = lib.stress_lock_overlaps()
        expect(got == threads * iters and both == 0,
               f"{threads} threads each incremented a shared counter {iters} times inside spin_lock/spin_unlock: it "
               f"ends at {got}, expected {threads * iters} ({threads * iters - got} updates lost, run {rep + 1}); {both} "
               "time(s) a thread entered while another was inside: two threads held the lock at once. Take it with one atomic step (exchange or compare-exchange).")


@pytest.mark.time_limit(120)
def test_counter_stress(kata):
    lib = load(kata)
    out = lib.ffi.new("long[3]")
    threads, iters = 4, 100_000
    for rep in range(3):
        lib.stress_counter(threads, iters, out)
        final, out_of_range, dups = out[0], out[1], out[2]
        n = threads * iters
        expect(final == n and dups == 0 and out_of_range == 0,
               f"{threads} threads called counter_add(c, 1) {iters} times each (run {rep + 1}): the counter ends at "
               f"{final} (expected {n}); {dups} returned values were handed out twice, {out_of_range} were out of range. "
               "An atomic load and an atomic store are not an atomic add: use atomic_fetch_add.")


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("cap", [1, 2, 4, 64])
def test_queue_stress(kata, cap):
    lib = load(kata)
    got, want = lib.ffi.new("uint64_t *"), lib.ffi.new("uint64_t *")
    n = 100_000
    bad = lib.stress_spsc(cap, n, got, want)
    expect(bad != -1, f"spsc_init(cap={cap}) refused a power of two")
    if bad:
        pytest.fail(f"a producer thread pushed {n} values through a queue of capacity {cap}; pop number {bad} returned "
                    f"{int(got[0]):#x}, expected {int(want[0]):#x}: the slot was read before the producer wrote it, or "
                    "overwritten before it was read. Write the slot, then publish tail with a release store; read tail "
                    "with an acquire load, then the slot; and never let tail - head pass cap.", pytrace=False)
