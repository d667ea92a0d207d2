"""What the ring tests do beside the learner's library: ring_init keeps a pointer to the ring's buffer,
so that buffer (with guard bytes on both sides) and the ring_t must live where the library runs. Rings
are named by the number ring_new returns. Each function returns data (return codes, bytes, counters)
for the test to judge; under `kata grade` this file runs in the learner's process (kata.probe), the
checks do not."""
import itertools

import numpy as np

_rings = {}  # id -> (ring_t *, memory: guard + cap + guard bytes); kept for the process's life (a few KB a test)
_ids = itertools.count(1)


def ring_new(lib, cap, guard, poison):
    """A ring_t and cap + 2 * guard bytes filled with poison; ring_init(r, memory + guard, cap).
    Returns (id, what ring_init returned)."""
    mem = np.full(cap + 2 * guard, poison, np.uint8)
    r = lib.ffi.new("ring_t *")
    rc = lib.ring_init(r, mem[guard:guard + cap], cap)
    rid = next(_ids)
    _rings[rid] = (r, mem)
    return rid, rc


def ring_write(lib, rid, data):
    """ring_write(r, data, len(data)): what it returned."""
    r = _rings[rid][0]
    return lib.ring_write(r, np.frombuffer(data + b"\0", np.uint8), len(data))


def ring_read(lib, rid, n, pad, poison):
    """ring_read(r, dst, n) into n + pad bytes filled with poison: what it returned, and all of dst."""
    r = _rings[rid][0]
    dst = np.full(n + pad, poison, np.uint8)
    k = lib.ring_read(r, dst, n)
    return k, dst


def ring_used(lib, rid):
    return lib.ring_used(_rings[rid][0])


def memory(lib, rid):
    """A copy of the ring's whole memory, guards included."""
    return _rings[rid][1].copy()


def counters(lib, rid):
    """The ring_t's (head, tail)."""
    r = _rings[rid][0]
    return int(r.head), int(r.tail)
