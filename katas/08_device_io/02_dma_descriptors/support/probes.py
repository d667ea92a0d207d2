"""What the DMA tests do beside the learner's library: build the scatter list (pointers to the
segments), the guarded destination and the simulated device, run dma_gather, and read back what the
destination held the moment it returned, what the device counted and the guard bytes. Returns data for
the test to judge; under `kata grade` this file runs in the learner's process (kata.probe), the checks
do not."""
import numpy as np


def gather(lib, segs, cap, guard, poison, seed, measure):
    """dma_gather over `segs` (a list of bytes) into cap bytes with guard bytes of poison on each side, on a
    device made with (seed, measure). Returns a dict: rc, dst (bytes, the moment dma_gather returned), pending
    (descriptors still READY then), stats (the device's done, bytes, errors, peak and error message, once
    destroyed) and mem (all the destination's memory, guards included, after that)."""
    ffi = lib.ffi
    mem = np.full(cap + 2 * guard, poison, np.uint8)
    dst = mem[guard:guard + cap]
    keep = [np.frombuffer(s + b"\0", np.uint8) for s in segs]
    sg = ffi.new("sg_entry_t[]", max(len(segs), 1))
    for i, (s, a) in enumerate(zip(segs, keep)):
        sg[i].addr = ffi.cast("uint8_t *", ffi.from_buffer(a))
        sg[i].len = len(s)
    dptr = ffi.cast("uint8_t *", ffi.from_buffer(mem)) + guard
    dev = lib.dma_dev_create(seed, measure, dptr, cap)
    rc = lib.dma_gather(dev, sg, len(segs), dptr, cap)
    snapshot = dst.tobytes()               # what the caller sees the moment dma_gather returns
    pending = lib.dma_dev_pending(dev)
    out, msg = ffi.new("long[4]"), ffi.new("char[512]")
    lib.dma_dev_destroy(dev, out, msg, 512)
    stats = dict(done=out[0], bytes=out[1], errors=out[2], peak=out[3], error=ffi.string(msg).decode())
    return dict(rc=rc, dst=snapshot, pending=pending, stats=stats, mem=mem.copy())
