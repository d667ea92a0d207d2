"""Shared-memory bank conflicts: how many passes (wavefronts) a warp's shared-memory access takes. Reference."""
from __future__ import annotations

BANKS = 32        # shared memory is split into 32 banks ...
WORD = 4          # ... of 4-byte words: word w lives in bank w % 32
WARP = 32
SIZES = (1, 2, 4, 8, 16)


def bank(address):
    """The bank holding the byte at `address`."""
    if address < 0:
        raise ValueError(f"address {address} is negative")
    return (address // WORD) % BANKS


def _phases(addresses, access_bytes):
    if access_bytes not in SIZES:
        raise ValueError(f"access_bytes={access_bytes}: a thread accesses 1, 2, 4, 8 or 16 bytes")
    if len(addresses) > WARP:
        raise ValueError(f"{len(addresses)} addresses: a warp has 32 threads")
    for a in addresses:
        if a is not None and (a < 0 or a % access_bytes):
            raise ValueError(f"address {a}: negative or not a multiple of {access_bytes}")
    # 8- and 16-byte accesses are served 128 bytes at a time: half-warps, quarter-warps.
    per_phase = WARP  # WRONG: the whole warp in one phase, whatever the access size
    return [addresses[i:i + per_phase] for i in range(0, len(addresses), per_phase)]


def _per_bank(phase, access_bytes):
    words = {}
    for a in phase:
        if a is None:
            continue
        for w in range(a // WORD, (a + access_bytes - 1) // WORD + 1):
            words.setdefault(w % BANKS, set()).add(w)
    return words


def wavefronts(addresses, access_bytes=4):
    """Passes the warp's access takes: for each phase, the most distinct words any one bank must serve
    (threads reading the same word share it: a broadcast); summed over the phases that have an active
    thread."""
    total = 0
    for phase in _phases(addresses, access_bytes):
        words = _per_bank(phase, access_bytes)
        if words:
            total += max(len(s) for s in words.values())
    return total


def conflict_degree(addresses, access_bytes=4):
    """The n of an 'n-way bank conflict': the most distinct words one bank serves in one phase (1 = no
    conflict; 0 when no thread is active)."""
    return max((max(len(s) for s in words.values()) for phase in _phases(addresses, access_bytes)
                if (words := _per_bank(phase, access_bytes))), default=0)


def column_addresses(width, col=0, elem_bytes=4, rows=WARP):
    """Byte addresses when thread t of a warp reads element [t][col] of a row-major `T tile[rows][width]`
    at shared address 0 (T of elem_bytes bytes)."""
    return [(t * width + col) * elem_bytes for t in range(rows)]


def column_degree(width, elem_bytes=4):
    """conflict_degree of a warp reading one column of `T tile[32][width]`."""
    return conflict_degree(column_addresses(width, 0, elem_bytes), elem_bytes)


def padding(width, elem_bytes=4):
    """The fewest elements to add to each row (tile[32][width + padding]) so that reading a column is
    conflict-free (degree 1)."""
    p = 0
    while column_degree(width + p, elem_bytes) != 1:
        p += 1
    return p
