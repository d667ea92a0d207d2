"""Coalescing: how many 32-byte sectors a warp's memory access touches. See README.md."""
from __future__ import annotations

SECTOR = 32       # bytes: the unit in which L2 and DRAM serve an SM's requests
WARP = 32         # threads
SIZES = (1, 2, 4, 8, 16)  # bytes a thread may load at once (char .. float4)


def warp_sectors(addresses, access_bytes=4):
    """The distinct 32-byte sectors (as sector numbers, address // 32, sorted) that one warp's access
    touches. addresses[i] is the byte address thread i reads (access_bytes from there), None if the
    thread is inactive (masked off by a branch or a bounds check).
    ValueError: access_bytes not in SIZES, more than 32 addresses, a negative address, or an address
    that is not a multiple of access_bytes (the GPU faults on a misaligned access)."""
    raise NotImplementedError("coalescing.py: warp_sectors()")


def sectors_per_request(addresses, access_bytes=4):
    """len(warp_sectors(addresses, access_bytes))."""
    raise NotImplementedError("coalescing.py: sectors_per_request()")


def kernel_sectors(index, n_threads, elem_bytes=4, base=0):
    """Sectors moved by a whole 1-D launch of n_threads threads in which thread t reads element index(t)
    of an array at byte address `base`: the sum over warps (threads 32w .. 32w+31) of each warp's sectors.
    Threads past n_threads in the last warp are inactive. Each warp's request is served on its own: a
    sector another warp also touched counts again."""
    raise NotImplementedError("coalescing.py: kernel_sectors()")


def efficiency(addresses, access_bytes=4):
    """Bytes the warp asked for (distinct bytes: two threads reading one address ask once) divided by
    the bytes the sectors it touched move (32 each). 1.0 for a warp with no active thread."""
    raise NotImplementedError("coalescing.py: efficiency()")
