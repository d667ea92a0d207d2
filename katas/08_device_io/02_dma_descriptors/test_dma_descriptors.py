"""A scatter-gather copy through a simulated DMA engine. The device (a thread, support/device.c) takes
descriptors in ring order at its own pace, refuses descriptors that point outside the staging buffers or
the destination, and notices staging bytes that change while it owns them. Graded: the destination
(guarded on both sides) right the moment dma_gather returns, for random scatter lists (empty segments,
segments crossing staging buffers, many laps of the ring); nothing posted on bad arguments; no device
errors; and double buffering (the performance gate, counted by the device: two staging buffers READY at
once)."""
import numpy as np
import pytest

from kata.toolkit import expect

CDEF = """
typedef struct dma_dev dma_dev_t;
typedef struct { const uint8_t *addr; size_t len; } sg_entry_t;
long dma_gather(dma_dev_t *d, const sg_entry_t *sg, int nseg, uint8_t *dst, size_t cap);
dma_dev_t *dma_dev_create(uint64_t seed, int measure, uint8_t *dst_lo, size_t dst_len);
int dma_dev_pending(dma_dev_t *d);
void dma_dev_destroy(dma_dev_t *d, long *out, char *msg, int msglen);
"""
GUARD, POISON, STAGE, MAX_LEN = 64, 0xAB, 4096, 1024


def load(kata):
    return kata.library(CDEF, extra_sources=[kata.support("device.c")], flags=["-pthread"]), kata.probe("probes.py")


def gather(lib, segs, cap=None, seed=1, measure=0, what="", *, probe):
    """Run dma_gather over `segs` (a list of bytes); return (rc, dst bytes, device stats, pending at return).
    The scatter list, the guarded destination and the device are built beside the library, by the probe."""
    total = sum(len(s) for s in segs)
    cap = total if cap is None else cap
    r = probe.gather(lib, list(segs), cap, GUARD, POISON, seed, measure)
    mem = r["mem"]
    expect((mem[:GUARD] == POISON).all() and (mem[GUARD + cap:] == POISON).all(),
           f"{what}: bytes were written outside the destination")
    return r["rc"], r["dst"], r["stats"], r["pending"]


def check(lib, segs, seed, what, *, probe):
    want = b"".join(segs)
    rc, got, st, pending = gather(lib, segs, seed=seed, what=what, probe=probe)
    expect(st["errors"] == 0, f"{what}: the device reported: {st['error']}")
    expect(rc == len(want), f"{what}: dma_gather returned {rc}, expected {len(want)} bytes")
    expect(pending == 0, f"{what}: dma_gather returned with {pending} descriptor(s) still READY: wait until the device "
                         "has completed every descriptor you posted")
    if got != want:
        i = next(k for k in range(len(want)) if got[k] != want[k])
        pytest.fail(f"{what}: the destination differs from the segments back to back at byte {i} of {len(want)} "
                    f"(got {got[i]:#04x}, expected {want[i]:#04x}; staging buffer {i // STAGE % 2}, offset "
                    f"{i % STAGE}) the moment dma_gather returned", pytrace=False)
    return st


def random_segments(g, nseg, hi):
    return [g.integers(0, 256, int(n), dtype=np.uint8).tobytes() for n in g.integers(0, hi, nseg)]


@pytest.mark.time_limit(120)
@pytest.mark.parametrize("seed", range(6))
def test_random_scatter_lists(kata, seed):
    lib, probe = load(kata)
    g = np.random.default_rng(seed)
    for rep in range(4):
        segs = random_segments(g, int(g.integers(1, 40)), int(g.choice([16, 700, 5000])))
        check(lib, segs, seed * 10 + rep + 1,
              f"{len(segs)} segments of {sum(map(len, segs))} bytes (seed {seed}, round {rep})", probe=probe)


def test_shapes(kata):
    lib, probe = load(kata)
    g = np.random.default_rng(9)
    cases = {
        "one byte": [b"\x07"],
        "exactly one staging buffer": [g.bytes(STAGE)],
        "exactly two staging buffers": [g.bytes(STAGE), g.bytes(STAGE)],
        "one staging buffer and a byte": [g.bytes(STAGE + 1)],
        "a 100 KB segment (many laps of the ring)": [g.bytes(100_000)],
        "2000 one-byte segments": [bytes([i % 251]) for i in range(2000)],
        "empty segments between": [b"", g.bytes(10), b"", b"", g.bytes(5000), b""],
        "descriptor-sized pieces": [g.bytes(MAX_LEN)] * 9,
    }
    for what, segs in cases.items():
        check(lib, segs, 5, what, probe=probe)
    rc, got, st, _ = gather(lib, [], cap=16, what="no segments", probe=probe)
    expect(rc == 0 and st["done"] == 0, f"dma_gather of no segments returned {rc} and posted {st['done']} descriptors")


def test_refusals_post_nothing(kata):
    lib, probe = load(kata)
    g = np.random.default_rng(4)
    segs = random_segments(g, 10, 3000)
    total = sum(map(len, segs))
    rc, got, st, _ = gather(lib, segs, cap=total - 1, what="a destination one byte short", probe=probe)
    expect(rc == -1, f"dma_gather of {total} bytes into a destination of {total - 1} returned {rc}, expected -1")
    expect(st["done"] == 0 and set(got) <= {POISON},
           f"dma_gather refused (-1) but the device had already completed {st['done']} descriptor(s): check the total "
           "before posting anything")
    dev = lib.dma_dev_create(2, 0, lib.ffi.NULL, 0)  # an even seed: the device is not pinned to this thread's CPU
    sg = lib.ffi.new("sg_entry_t[2]")
    sg[0].addr, sg[0].len = lib.ffi.NULL, 10
    dst = np.zeros(64, np.uint8)
    for args, what in [((sg, -1, dst, 64), "nseg = -1"), ((sg, 1, dst, 64), "a NULL segment of 10 bytes"),
                       ((sg, 0, lib.ffi.NULL, 0), None)]:
        rc = lib.dma_gather(dev, *args)
        if what:
            expect(rc == -1, f"dma_gather with {what} returned {rc}, expected -1")
    out, msg = lib.ffi.new("long[4]"), lib.ffi.new("char[512]")
    lib.dma_dev_destroy(dev, out, msg, 512)
    expect(out[0] == 0, f"refused calls posted {out[0]} descriptor(s)")


# --------------------------------------------------------------- performance: double buffering (counted)
@pytest.mark.perf
def test_double_buffering(kata):
    lib, probe = load(kata)
    g = np.random.default_rng(11)
    segs = random_segments(g, 30, 3000)
    want = b"".join(segs)
    rc, got, st, _ = gather(lib, segs, seed=3, measure=1, what="the measured copy", probe=probe)
    expect(rc == len(want) and got == want and st["errors"] == 0, f"the measured copy went wrong: rc {rc}, device: "
                                                                  f"{st['error'] or 'no error'}")
    kata.record(peak_staging_buffers_in_flight=st["peak"], descriptors=st["done"])
    expect(st["peak"] >= 2,
           f"while the device worked on one staging buffer, the other never had READY descriptors (at most "
           f"{st['peak']} buffer in flight; the device waited up to 100 ms, three times, for the second). Gather into "
           "the other staging buffer and post it while the device drains the first.")
