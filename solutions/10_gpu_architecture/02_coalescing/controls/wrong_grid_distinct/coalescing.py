"""Coalescing: how many 32-byte sectors a warp's memory access touches. Reference."""
from __future__ import annotations

SECTOR = 32       # bytes: the unit in which L2 and DRAM serve an SM's requests
WARP = 32         # threads
SIZES = (1, 2, 4, 8, 16)


def _check(addresses, access_bytes):
    if access_bytes not in SIZES:
        raise ValueError(f"access_bytes={access_bytes}: a thread loads 1, 2, 4, 8 or 16 bytes")
    if len(addresses) > WARP:
        raise ValueError(f"{len(addresses)} addresses: a warp has 32 threads")
    for a in addresses:
        if a is None:
            continue
        if a < 0:
            raise ValueError(f"address {a} is negative")
        if a % access_bytes:
            raise ValueError(f"address {a} is not a multiple of {access_bytes}: a misaligned access")


def warp_sectors(addresses, access_bytes=4):
    """The distinct 32-byte sectors (as sector numbers, address // 32, sorted) that one warp's access
    touches. addresses[i] is the byte address thread i reads (access_bytes from there), None if the
    thread is inactive (masked off by a branch or a bounds check)."""
    _check(addresses, access_bytes)
    touched = set()
    for a in addresses:
        if a is not None:
            touched.add(a // SECTOR)
            touched.add((a + access_bytes - 1) // SECTOR)  # an aligned access never straddles, but be exact
    return sorted(touched)


def sectors_per_request(addresses, access_bytes=4):
    return len(warp_sectors(addresses, access_bytes))


def kernel_sectors(index, n_threads, elem_bytes=4, base=0):
    """Sectors moved by a whole 1-D launch of n_threads threads in which thread t reads element index(t)
    of an array at byte address `base`: the sum over warps (threads 32w .. 32w+31) of each warp's sectors.
    Threads past n_threads in the last warp are inactive. Each warp's request is served on its own: a
    sector another warp also touched counts again."""
    if n_threads < 0:
        raise ValueError("n_threads must be >= 0")
    touched = set()  # WRONG: one set for the whole grid, as if other warps' sectors were free
    for w in range(0, n_threads, WARP):
        addrs = [base + index(t) * elem_bytes for t in range(w, min(w + WARP, n_threads))]
        touched.update(warp_sectors(addrs, elem_bytes))
    return len(touched)


def efficiency(addresses, access_bytes=4):
    """Bytes the warp asked for (distinct bytes: two threads reading one address ask once) divided by
    the bytes the sectors it touched move (32 each). 1.0 for a warp with no active thread."""
    sectors = warp_sectors(addresses, access_bytes)
    if not sectors:
        return 1.0
    wanted = set()
    for a in addresses:
        if a is not None:
            wanted.update(range(a, a + access_bytes))
    return len(wanted) / (len(sectors) * SECTOR)
