"""Shared-memory bank conflicts: how many passes (wavefronts) a warp's shared-memory access takes.

See README.md."""
from __future__ import annotations

BANKS = 32        # shared memory is split into 32 banks ...
WORD = 4          # ... of 4-byte words: word w lives in bank w % 32
WARP = 32
SIZES = (1, 2, 4, 8, 16)


def bank(address):
    """The bank holding the byte at `address` (ValueError if negative)."""
    raise NotImplementedError("bank_conflicts.py: bank()")


def wavefronts(addresses, access_bytes=4):
    """Passes the warp's access takes: for each phase, the most distinct words any one bank must serve
    (threads reading the same word share it: a broadcast); summed over the phases that have an active
    thread. addresses[i]: thread i's byte address in shared memory, None if inactive. ValueError:
    access_bytes not in SIZES, more than 32 addresses, or an address negative or not a multiple of
    access_bytes."""
    raise NotImplementedError("bank_conflicts.py: wavefronts()")


def conflict_degree(addresses, access_bytes=4):
    """The n of an 'n-way bank conflict': the most distinct words one bank serves in one phase (1 = no
    conflict; 0 when no thread is active)."""
    raise NotImplementedError("bank_conflicts.py: conflict_degree()")


def column_addresses(width, col=0, elem_bytes=4, rows=WARP):
    """Byte addresses when thread t of a warp reads element [t][col] of a row-major `T tile[rows][width]`
    at shared address 0 (T of elem_bytes bytes)."""
    raise NotImplementedError("bank_conflicts.py: column_addresses()")


def column_degree(width, elem_bytes=4):
    """conflict_degree of a warp reading one column of `T tile[32][width]`."""
    raise NotImplementedError("bank_conflicts.py: column_degree()")


def padding(width, elem_bytes=4):
    """The fewest elements to add to each row (tile[32][width + padding]) so that reading a column is
    conflict-free (degree 1)."""
    raise NotImplementedError("bank_conflicts.py: padding()")
