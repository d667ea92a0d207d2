"""An SPSC byte ring: exact capacity (a power of two, all of it usable), partial writes and reads,
wraparound at every offset with the buffer guarded on both sides, counts that only grow; a producer
thread against a consumer moving 200 KB (2 MB for the 4 KiB ring) in random chunk sizes through rings of 16 to 4096 bytes (every
byte in order, none stale); and instructions per byte counted by callgrind (the performance gate:
two memcpy calls per transfer, not a loop with a division per byte)."""
import numpy as np
import pytest

from kata.toolkit import expect
from native.measure import callgrind

CDEF = """
typedef struct {
    uint8_t *buf;
    size_t cap;
    char _pad0[48];
    size_t head;
    char _pad1[56];
    size_t tail;
    char _pad2[56];
} ring_t;
int ring_init(ring_t *r, uint8_t *buf, size_t cap);
size_t ring_write(ring_t *r, const uint8_t *src, size_t n);
size_t ring_read(ring_t *r, uint8_t *dst, size_t n);
size_t ring_used(ring_t *r);
uint64_t stress_ring(size_t cap, uint64_t n, uint64_t seed, uint64_t *got_at);
"""
GUARD, POISON = 64, 0xAB
GATE = 1.0  # instructions per byte moved (write + read)


def load(kata):
    return kata.library(CDEF, extra_sources=[kata.support("stress.c")], flags=["-pthread"])


class Ring:
    """A ring of cap bytes with GUARD poisoned bytes on both sides of its buffer. ring_init keeps a pointer to
    that buffer, so the buffer and the ring_t live beside the learner's library, in the probe."""

    def __init__(self, kata, lib, cap):
        self.lib, self.cap, self.probe = lib, cap, kata.probe("probes.py")
        self.id, self.rc = self.probe.ring_new(lib, cap, GUARD, POISON)

    def guards_ok(self):
        mem = self.probe.memory(self.lib, self.id)
        return (mem[:GUARD] == POISON).all() and (mem[GUARD + self.cap:] == POISON).all()

    def write(self, data: bytes):
        return self.probe.ring_write(self.lib, self.id, data)

    def used(self):
        return self.probe.ring_used(self.lib, self.id)

    def counters(self):
        """(head, tail) as the ring_t holds them."""
        return self.probe.counters(self.lib, self.id)

    def read(self, n):
        k, dst = self.probe.ring_read(self.lib, self.id, n, 16, POISON)
        expect((dst[k:] == POISON).all() if k <= n else False,
               f"ring_read(n={n}) returned {k} but wrote more bytes than that into dst")
        return dst[:k].tobytes()


def test_init(kata):
    lib = load(kata)
    for cap in (1, 2, 64, 4096):
        expect(Ring(kata, lib, cap).rc == 0, f"ring_init(cap={cap}) refused a power of two")
    for cap in (3, 12, 1000):
        expect(Ring(kata, lib, cap).rc == -1, f"ring_init(cap={cap}) accepted a capacity that is not a power of two")
    r = lib.ffi.new("ring_t *")
    expect(lib.ring_init(r, np.zeros(8, np.uint8), 0) == -1, "ring_init(cap=0) must return -1")


def test_exact_capacity_and_partial_transfers(kata):
    lib = load(kata)
    for cap in (1, 8, 64):
        g = Ring(kata, lib, cap)
        data = bytes(range(1, cap + 1))
        k = g.write(data + b"extra")
        expect(k == cap, f"ring_write of {cap + 5} bytes into an empty ring of {cap} returned {k}: exactly {cap} fit")
        used = g.used()
        expect(used == cap, f"a full ring of {cap} reports ring_used = {used}")
        expect(g.write(b"x") == 0, f"ring_write into a full ring of {cap} returned non-zero")
        got = g.read(cap + 10)
        expect(got == data, f"reading a full ring of {cap} gave {got[:16].hex()}..., expected {data[:16].hex()}...")
        expect(g.read(5) == b"" and g.used() == 0, f"an emptied ring of {cap} still returns bytes")
        expect(g.guards_ok(), f"a ring of {cap} wrote outside its buffer")


@pytest.mark.parametrize("cap", [8, 16, 64])
def test_wraparound_at_every_offset(kata, cap):
    lib = load(kata)
    rng = np.random.default_rng(cap)
    for start in range(cap):
        g = Ring(kata, lib, cap)
        expect(g.write(bytes(start)) == start and g.read(start) == bytes(start), "setting up the offset failed")
        for n in (1, cap // 2 + 1, cap):
            data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
            k = g.write(data)
            expect(k == n, f"ring of {cap}, write position {start}: ring_write of {n} bytes into an empty ring "
                           f"returned {k}")
            got = g.read(n)
            expect(got == data, f"ring of {cap}, data starting at offset {start} and wrapping: read back "
                                f"{got.hex()}, wrote {data.hex()} (copy up to the end of the buffer, then from its "
                                "start)")
            expect(g.guards_ok(), f"ring of {cap}, a {n}-byte write at offset {(start) % cap}: bytes were written "
                                  "outside the buffer (past its end: the wrap was not split)")
            start += n


def test_counts_only_grow(kata):
    lib = load(kata)
    g = Ring(kata, lib, 16)
    for _ in range(10):
        g.write(bytes(11))
        g.read(11)
    head, tail = g.counters()
    expect(tail == 110 and head == 110,
           f"after 110 bytes through a ring of 16, head = {head} and tail = {tail}: they count bytes since "
           "ring_init (110) and are masked only to index the buffer; kept masked, full and empty look alike")


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("cap", [16, 64, 4096])
def test_producer_consumer_stress(kata, cap):
    lib = load(kata)
    got = np.zeros(1, np.uint64)  # the byte the consumer saw where it went wrong
    n = 2_000_000 if cap >= 4096 else 200_000
    for seed in (1, 2):
        bad = lib.stress_ring(cap, n, seed, got)
        expect(bad != 2**64 - 1, f"ring_init(cap={cap}) refused a power of two")
        expect(bad == 0, f"a producer thread wrote {n} bytes in random chunks through a ring of {cap}; the consumer's "
                         f"byte {bad - 1} was {int(got[0])}, not what was written there: read before it was written "
                         "(publish tail after copying), or overwritten before it was read (never let tail - head "
                         "pass cap)")


# ------------------------------------------------------------------- performance: instructions (counted)
@pytest.mark.perf
def test_instructions_per_byte(kata):
    prog = kata.program("pump.c", flags=["-pthread"])
    total, cap, chunk = 1 << 20, 4096, 1000
    c = callgrind(prog, [total, cap, chunk], "pump")
    per_byte = c.instructions / total
    kata.record(instructions_per_byte=round(per_byte, 3), gate=GATE)
    expect(per_byte <= GATE, f"moving {total} bytes through a {cap}-byte ring in {chunk}-byte chunks took "
                             f"{c.instructions:,} instructions ({per_byte:.2f} per byte, the gate is {GATE}): copy each "
                             "transfer with at most two memcpy calls (up to the end, then from the start) and index with "
                             "& (cap - 1), not byte by byte with %.")
