"""Occupancy: how many blocks of a kernel one SM holds at once, and what stops it holding more.

Reference. Every limit is a whole number of blocks; the SM holds the smallest of them.
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


def _round_up(x: int, unit: int) -> int:
    return -(-x // unit) * unit


def _arch(arch: str) -> dict:
    if arch not in LIMITS:
        raise ValueError(f"unknown architecture {arch!r}: expected one of {sorted(LIMITS)}")
    return LIMITS[arch]


def _check(L: dict, threads: int, registers: int, shared: int) -> None:
    if not 1 <= threads <= L["max_threads_per_block"]:
        raise ValueError(f"threads_per_block={threads}: must be 1..{L['max_threads_per_block']}")
    if not 1 <= registers <= L["max_registers_per_thread"]:
        raise ValueError(f"registers_per_thread={registers}: must be 1..{L['max_registers_per_thread']}")
    if shared < 0:
        raise ValueError(f"shared_bytes={shared}: must be >= 0")


def warps_per_block(threads_per_block: int) -> int:
    """Warps a block occupies: a partial warp still takes a whole warp slot."""
    return max(1, threads_per_block // 32)  # WRONG: a partial warp is dropped


def registers_per_warp(arch: str, registers_per_thread: int) -> int:
    """Registers allocated to one warp: 32 x registers_per_thread, rounded up to the allocation unit."""
    L = _arch(arch)
    return _round_up(registers_per_thread * L["warp_size"], L["register_unit"])


def shared_per_block(arch: str, shared_bytes: int) -> int:
    """Shared memory allocated to one block: its own bytes plus the driver's reserved bytes, rounded up
    to the allocation unit."""
    L = _arch(arch)
    if shared_bytes < 0:
        raise ValueError(f"shared_bytes={shared_bytes}: must be >= 0")
    return _round_up(shared_bytes + L["reserved_shared_per_block"], L["shared_unit"])


def occupancy(arch: str, threads_per_block: int, registers_per_thread: int, shared_bytes: int) -> Occupancy:
    L = _arch(arch)
    _check(L, threads_per_block, registers_per_thread, shared_bytes)
    warps = warps_per_block(threads_per_block)
    max_warps = L["max_threads_per_sm"] // L["warp_size"]

    by_threads = max_warps // warps
    by_blocks = L["max_blocks_per_sm"]

    per_warp = registers_per_warp(arch, registers_per_thread)
    parts = L["sub_partitions"]
    # A block's warps are spread over the 4 sub-partitions, each with its own quarter of the register file;
    # the hardware's launch check also assumes the warps rounded up to a multiple of 4.
    if per_warp * warps > L["registers_per_block"] or per_warp * _round_up(warps, parts) > L["registers_per_block"]:
        by_registers = 0
    else:
        by_registers = (L["registers_per_sm"] // parts // per_warp) * parts // warps

    smem = shared_per_block(arch, shared_bytes)
    if smem > L["max_shared_per_block"] + L["reserved_shared_per_block"]:
        by_shared = 0
    else:
        by_shared = L["shared_per_sm"] // smem

    limits = {"threads": by_threads, "blocks": by_blocks, "registers": by_registers, "shared": by_shared}
    blocks = min(limits.values())
    limiters = tuple(r for r in RESOURCES if limits[r] == blocks)
    return Occupancy(blocks, blocks * warps, blocks * warps / max_warps, limits, limiters)
