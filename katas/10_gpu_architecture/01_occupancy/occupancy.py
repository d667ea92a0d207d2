"""Occupancy: how many blocks of a kernel one SM holds at once, and what stops it holding more.

See README.md. LIMITS below is the published table for three architectures; use it (the tests use their
own copy, so changing it changes nothing but your answers).
"""
from __future__ import annotations

from dataclasses import dataclass


# Published per-architecture limits (CUDA C Programming Guide, "Technical Specifications per Compute
# Capability", and the occupancy calculator's tables). Shared memory in bytes.
LIMITS = {
    "sm_80": dict(max_threads_per_sm=2048, max_blocks_per_sm=32, registers_per_sm=65536, registers_per_block=65536,
                  max_registers_per_thread=255, register_unit=256, sub_partitions=4, shared_per_sm=167936,
                  max_shared_per_block=166912, reserved_shared_per_block=1024, shared_unit=128, warp_size=32,
                  max_threads_per_block=1024),
    "sm_86": dict(max_threads_per_sm=1536, max_blocks_per_sm=16, registers_per_sm=65536, registers_per_block=65536,
                  max_registers_per_thread=255, register_unit=256, sub_partitions=4, shared_per_sm=102400,
                  max_shared_per_block=101376, reserved_shared_per_block=1024, shared_unit=128, warp_size=32,
                  max_threads_per_block=1024),
    "sm_90": dict(max_threads_per_sm=2048, max_blocks_per_sm=32, registers_per_sm=65536, registers_per_block=65536,
                  max_registers_per_thread=255, register_unit=256, sub_partitions=4, shared_per_sm=233472,
                  max_shared_per_block=232448, reserved_shared_per_block=1024, shared_unit=128, warp_size=32,
                  max_threads_per_block=1024),
}

RESOURCES = ("threads", "blocks", "registers", "shared")


@dataclass(frozen=True)
class Occupancy:
    blocks_per_sm: int            # resident blocks per SM
    warps_per_sm: int             # resident warps per SM (blocks x warps a block)
    fraction: float               # warps_per_sm / the SM's maximum warps
    limits: dict                  # {"threads": n, "blocks": n, "registers": n, "shared": n} blocks each allows
    limiters: tuple               # the resources whose limit equals blocks_per_sm, in RESOURCES order



def warps_per_block(threads_per_block: int) -> int:
    """Warps a block occupies."""
    raise NotImplementedError("occupancy.py: warps_per_block()")


def registers_per_warp(arch: str, registers_per_thread: int) -> int:
    """Registers allocated to one warp of a kernel using registers_per_thread (ValueError: unknown arch)."""
    raise NotImplementedError("occupancy.py: registers_per_warp()")


def shared_per_block(arch: str, shared_bytes: int) -> int:
    """Shared memory allocated to one block whose kernel uses shared_bytes (ValueError: unknown arch or
    shared_bytes < 0)."""
    raise NotImplementedError("occupancy.py: shared_per_block()")


def occupancy(arch: str, threads_per_block: int, registers_per_thread: int, shared_bytes: int) -> Occupancy:
    """The Occupancy of a kernel launched with blocks of threads_per_block threads, each thread using
    registers_per_thread registers, each block shared_bytes of shared memory (static + dynamic).
    ValueError for an unknown arch, threads_per_block outside 1..1024, registers_per_thread outside 1..255,
    or shared_bytes < 0. A configuration that cannot launch at all has blocks_per_sm == 0."""
    raise NotImplementedError("occupancy.py: occupancy()")
