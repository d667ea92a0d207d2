"""Your malloc/free/realloc, replayed against traces in the classic allocator lab's style (random,
binary fragmentation, coalescing, realloc growth, tiny blocks): every block 16-aligned, inside the heap,
overlapping no other live block, and its bytes (filled with a pattern) intact until it is freed; realloc
keeps the old bytes. Error paths: size 0, sizes near SIZE_MAX that wrap around when rounded, a heap that
cannot grow. Utilisation (peak live payload / final heap size, deterministic) is the performance gate."""
import bisect

import numpy as np
import pytest

from kata.toolkit import expect

CDEF = """
int mem_setup(size_t max);
void *mem_heap_lo(void);
void *mem_heap_hi(void);
size_t mem_heapsize(void);
int mm_init(void);
void *mm_malloc(size_t size);
void mm_free(void *p);
void *mm_realloc(void *p, size_t size);
"""
HEAP_MAX = 20 << 20
GATE = 0.60  # mean utilisation over the traces (reference 0.72, bump allocator 0.28)


def load(kata):
    return kata.library(CDEF, extra_sources=[kata.support("memlib.c")])


# ------------------------------------------------------------------------------------------- traces
def trace_random(seed=0, n=1500, hi=1000):
    g = np.random.default_rng(seed)
    ops, live, nid = [], [], 0
    for _ in range(n):
        if live and g.random() < 0.45:
            ops.append(("f", live.pop(int(g.integers(len(live))))))
        else:
            ops.append(("a", nid, int(g.integers(1, hi))))
            live.append(nid)
            nid += 1
    return ops + [("f", i) for i in live]


def trace_binary(n=600):
    ops = []
    for i in range(n):
        ops += [("a", 2 * i, 64), ("a", 2 * i + 1, 448)]
    ops += [("f", 2 * i + 1) for i in range(n)]
    ops += [("a", 2 * n + i, 512) for i in range(n // 2)]
    return ops


def trace_coalesce(n=800):
    ops = [("a", i, 100) for i in range(n)]
    ops += [("f", i) for i in range(n)]
    ops += [("a", n + i, 250) for i in range(n // 2)]
    return ops + [("f", n + i) for i in range(n // 2)]


def trace_realloc(n=400):
    ops = [("a", 0, 64)]
    size = 64
    for i in range(n):
        size += 48
        ops += [("r", 0, size), ("a", 1 + i, 16)]
        if i % 2:
            ops.append(("f", 1 + i))
    return ops


def trace_tiny(seed=1, n=2000):
    g = np.random.default_rng(seed)
    ops, live = [], []
    for i in range(n):
        if live and g.random() < 0.4:
            ops.append(("f", live.pop(int(g.integers(len(live))))))
        else:
            ops.append(("a", i, int(g.integers(1, 17))))
            live.append(i)
    return ops


def trace_realloc_mixed(seed=2, n=1200):
    g = np.random.default_rng(seed)
    ops, live = [], {}
    for i in range(n):
        r = g.random()
        if live and r < 0.3:
            k = list(live)[int(g.integers(len(live)))]
            live[k] = int(g.integers(1, 3000))
            ops.append(("r", k, live[k]))
        elif live and r < 0.55:
            k = list(live)[int(g.integers(len(live)))]
            del live[k]
            ops.append(("f", k))
        else:
            live[i] = int(g.integers(1, 1500))
            ops.append(("a", i, live[i]))
    return ops


TRACES = {"random": trace_random, "binary": trace_binary, "coalesce": trace_coalesce, "realloc": trace_realloc,
          "tiny": trace_tiny, "realloc_mixed": trace_realloc_mixed}


# ------------------------------------------------------------------------------------------- replay
class Replay:
    """Replays a trace, checking each block; returns the utilisation. The calls, fills and reads happen
    in the probe, beside the library (kata.probe): it hands back each address and the bytes it read,
    and the checks happen here."""

    def __init__(self, lib, probe, name):
        self.lib, self.probe, self.name = lib, probe, name
        expect(lib.mem_setup(HEAP_MAX) == 0, "the test could not set up the heap")
        expect(lib.mm_init() == 0, "mm_init() did not return 0")
        self.lo = probe.heap_lo(lib)
        self.blocks = {}      # id -> (address, size)
        self.starts = []      # sorted (start, end, id) of live blocks
        self.live = self.peak = 0

    def fail(self, step, op, msg):
        pytest.fail(f"trace '{self.name}', operation {step} ({self.show(op)}): {msg}", pytrace=False)

    @staticmethod
    def show(op):
        return {"a": "malloc({2}) for block {1}", "f": "free of block {1}", "r": "realloc of block {1} to {2} bytes"}[
            op[0]].format(*op)

    def pattern(self, bid, size):
        return (np.arange(size, dtype=np.uint32) * 7 + bid * 131 + 1).astype(np.uint8).tobytes()

    def place(self, step, op, bid, a, hi, size):
        """`a`: the address the allocator returned (0 for NULL); `hi`: mem_heap_hi() just after."""
        if a == 0:
            self.fail(step, op, "returned NULL, but the heap had room to grow")
        if a % 16:
            self.fail(step, op, f"returned {a - self.lo:#x} (from the heap's start), not a multiple of 16")
        if a < self.lo or a + size - 1 > hi:
            self.fail(step, op, f"returned a block [{a - self.lo:#x}, {a - self.lo + size:#x}) outside the heap "
                                f"[0, {hi + 1 - self.lo:#x}): memory must come from mem_sbrk")
        k = bisect.bisect_left(self.starts, (a,))
        for j in (k - 1, k):
            if 0 <= j < len(self.starts):
                s, e, other = self.starts[j]
                if s < a + size and a < e:
                    self.fail(step, op, f"returned [{a - self.lo:#x}, {a - self.lo + size:#x}), which overlaps live "
                                        f"block {other} at [{s - self.lo:#x}, {e - self.lo:#x})")
        bisect.insort(self.starts, (a, a + size, bid))
        self.blocks[bid] = (a, size)

    def remove(self, bid):
        a, size = self.blocks.pop(bid)
        self.starts.pop(bisect.bisect_left(self.starts, (a, a + size, bid)))
        return a, size

    def check_bytes(self, step, op, bid, got, upto=None):
        """`got`: the bytes the probe read at the block's address (its first `upto`)."""
        a, size = self.blocks[bid]
        n = size if upto is None else min(size, upto)
        want = self.pattern(bid, size)[:n]
        if got != want:
            i = next((k for k in range(min(n, len(got))) if got[k] != want[k]), None)
            if i is None:
                self.fail(step, op, f"the probe read {len(got)} bytes of block {bid}, {n} were asked for")
            self.fail(step, op, f"byte {i} of block {bid} ({size} bytes, at heap offset {a - self.lo:#x}) changed "
                                f"while it was allocated (found {got[i]}, wrote {want[i]}): your allocator wrote "
                                "into a live block (a header or footer inside someone's payload?)")

    def fill(self, bid):
        a, size = self.blocks[bid]
        self.probe.fill(self.lib, bid, a, size)

    def run(self, ops):
        obs = self.probe.replay(self.lib, ops, dict(self.blocks))  # the whole trace, in one call
        steps = obs["steps"]
        for step, op in enumerate(ops):
            if step >= len(steps):
                self.fail(step, op, f"the probe stopped after {len(steps)} of {len(ops)} operations")
            s = steps[step]
            if op[0] == "a":
                _, bid, size = op
                a, hi = s
                self.place(step, op, bid, a, hi, size)
                self.live += size
            elif op[0] == "f":
                bid = op[1]
                self.check_bytes(step, op, bid, s)
                a, size = self.remove(bid)
                self.live -= size
            else:
                _, bid, size = op
                before, p, hi, moved = s
                self.check_bytes(step, op, bid, before)
                a, old = self.remove(bid)
                self.place(step, op, bid, p, hi, size)
                # the first min(old, size) bytes must have come along
                self.blocks[bid] = (self.blocks[bid][0], old)
                self.check_bytes(step, op, bid, moved, upto=min(old, size))
                self.blocks[bid] = (self.blocks[bid][0], size)
                self.live += size - old
            self.peak = max(self.peak, self.live)
        final = dict(obs["final"])
        for bid in list(self.blocks):
            self.check_bytes(len(ops), ("f", bid), bid, final.get(bid, b""))
        return self.peak / max(self.lib.mem_heapsize(), 1)


@pytest.mark.parametrize("name", list(TRACES))
def test_trace(kata, name):
    lib, probe = load(kata), kata.probe("probes.py")
    Replay(lib, probe, name).run(TRACES[name]())


def test_edge_cases(kata):
    # Addresses come back as numbers (0 for NULL), with mem_heap_hi() after each call (kata.probe).
    lib, probe = load(kata), kata.probe("probes.py")
    r = Replay(lib, probe, "edge cases")
    expect(probe.malloc(lib, 0)[0] == 0, "mm_malloc(0) must return NULL")
    probe.free(lib, [0])
    p, hi = probe.realloc(lib, 0, 40)
    expect(p != 0, "mm_realloc(NULL, 40) must act as mm_malloc(40)")
    r.place(0, ("a", 0, 40), 0, p, hi, 40)
    r.fill(0)
    for huge in (2**64 - 1, 2**64 - 8, 2**64 - 24, 2**63, HEAP_MAX):
        q = probe.malloc(lib, huge)[0]
        expect(q == 0, f"mm_malloc({huge}) returned a block: the heap holds at most {HEAP_MAX} bytes (a size "
                       "near SIZE_MAX plus your overhead wraps around to a small number: check before rounding)")
        q = probe.realloc(lib, p, huge)[0]
        expect(q == 0, f"mm_realloc(p, {huge}) returned a block: expected NULL")
        r.check_bytes(1, ("r", 0, huge), 0, probe.read(lib, p, 40))
    expect(probe.realloc(lib, p, 0)[0] == 0, "mm_realloc(p, 0) must free p and return NULL")
    r.remove(0)
    # the heap still works after the refusals, and reuses what realloc(p, 0) freed
    r.run([("a", 1, 40), ("a", 2, 1000), ("f", 1), ("r", 2, 3000), ("a", 3, 24)])


def test_heap_runs_out(kata):
    lib, probe = load(kata), kata.probe("probes.py")
    Replay(lib, probe, "a heap that runs out")
    limit = HEAP_MAX // 100_000 + 2
    got = probe.malloc_until_null(lib, 100_000, limit)  # addresses, until NULL or `limit` blocks
    expect(len(got) < limit, "mm_malloc(100000) kept succeeding past the heap's maximum")
    expect(len(got) >= HEAP_MAX // 100_016 - 1, f"mm_malloc(100000) gave NULL after {len(got)} blocks in a {HEAP_MAX}-byte "
                                               "heap: it gives up too early")
    probe.free(lib, got)


@pytest.mark.perf
def test_full_heap_freed_is_reused(kata):
    lib, probe = load(kata), kata.probe("probes.py")
    Replay(lib, probe, "a full heap, freed")
    got = probe.malloc_until_null(lib, 100_000, HEAP_MAX // 100_000 + 2)
    probe.free(lib, got)
    expect(probe.malloc(lib, HEAP_MAX // 2)[0] != 0, "after freeing every block of a full heap, mm_malloc of half "
                                                     "the heap failed: free blocks are not reused, or neighbours "
                                                     "not coalesced")


# ------------------------------------------------------------------- performance: utilisation (counted)
@pytest.mark.perf
def test_utilisation(kata):
    lib, probe = load(kata), kata.probe("probes.py")
    utils = {}
    for name, make in TRACES.items():
        utils[name] = Replay(lib, probe, name).run(make())
    mean = sum(utils.values()) / len(utils)
    kata.record(utilisation=round(mean, 3), **{f"util_{k}": round(v, 3) for k, v in utils.items()})
    table = ", ".join(f"{k} {v:.0%}" for k, v in utils.items())
    expect(mean >= GATE, f"mean utilisation {mean:.1%} (peak live payload / final heap size), the gate is {GATE:.0%}: "
                         f"{table}. Reuse freed blocks (split big ones, coalesce neighbours), grow the heap only by what "
                         "a request lacks, and let realloc grow in place.")
