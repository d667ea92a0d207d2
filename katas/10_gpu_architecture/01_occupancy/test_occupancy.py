"""Occupancy for sm_80, sm_86 and sm_90: exact, against the published limits.

CPU tier: allocation units (warps, registers, shared memory) on hand-worked cases; configurations
worked out with the occupancy calculator's rules; a sweep of 3000 configurations and hypothesis,
both against NVIDIA's own calculator (cuda_occupancy.h, compiled from support/occupancy_oracle.cpp).
GPU tier: real kernels compiled with different register budgets, their occupancy asked of the driver
(cuOccupancyMaxActiveBlocksPerMultiprocessor) and compared with yours; the device's own limits
compared with the table.
"""
from __future__ import annotations

import ctypes
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st

from kata.toolkit import expect

# Hypothesis explores but does not shrink: shrinking a wrong answer costs minutes on a loaded 2-core machine,
# and the failure message already names the input.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)

# The published table, the test's own copy (CUDA C Programming Guide, "Technical Specifications per
# Compute Capability"; cudaDeviceProp on an A100, an RTX 3090 and an H100).
#            (cc,     threads/SM, blocks/SM, regs/SM, smem/SM, smem optin/block, reserved/block)
ARCH = {
    "sm_80": ((8, 0), 2048, 32, 65536, 167936, 166912, 1024),
    "sm_86": ((8, 6), 1536, 16, 65536, 102400, 101376, 1024),
    "sm_90": ((9, 0), 2048, 32, 65536, 233472, 232448, 1024),
}
RESOURCES = ("threads", "blocks", "registers", "shared")


def show(arch, t, r, s):
    return f"occupancy({arch!r}, threads_per_block={t}, registers_per_thread={r}, shared_bytes={s})"


# ------------------------------------------------------------------------------------ the oracle

def _oracle_path(kata) -> Path:
    include = None
    nvcc = shutil.which("nvcc")
    for cand in ([Path(nvcc).resolve().parent.parent / "include"] if nvcc else []) + [Path("/usr/local/cuda/include")]:
        if (cand / "cuda_occupancy.h").exists():
            include = cand
            break
    if include is None or shutil.which("g++") is None:
        pytest.skip("NVIDIA's cuda_occupancy.h (CUDA toolkit) or g++ is missing: the oracle cannot be built here")
    from native.build import build_program

    return build_program([kata.support("occupancy_oracle.cpp")], root=kata.root, include_dirs=[include]).path


def oracle(kata, configs):
    """[(blocks, {resource: limit})] from cuda_occupancy.h, one per (arch, threads, regs, smem)."""
    lines = []
    for arch, t, r, s in configs:
        (major, minor), tps, maxb, regs, smem_sm, optin, reserved = ARCH[arch]
        lines.append(f"{major} {minor} {t} {r} {s} {tps} {maxb} {regs} {smem_sm} {optin} {reserved}")
    out = subprocess.run([str(_oracle_path(kata))], input="\n".join(lines) + "\n", capture_output=True, text=True,
                         timeout=60).stdout.split("\n")
    res = []
    for line in out[:len(configs)]:
        b, lt, lb, lr, ls = map(int, line.split())
        res.append((b, dict(zip(RESOURCES, (lt, lb, lr, ls)))))
    return res


def check_one(o, arch, t, r, s, want_blocks, want_limits):
    got = o.occupancy(arch, t, r, s)
    call = show(arch, t, r, s)
    for attr in ("blocks_per_sm", "warps_per_sm", "fraction", "limits", "limiters"):
        expect(hasattr(got, attr), f"{call} returned {got!r}: expected an Occupancy with .{attr}")
    warps = -(-t // 32)
    max_warps = ARCH[arch][1] // 32
    want_limiters = tuple(k for k in RESOURCES if want_limits[k] == want_blocks)
    expect(dict(got.limits) == want_limits,
           f"{call}: limits {dict(got.limits)}, expected {want_limits} (blocks per SM each resource allows)"
           + _why(arch, t, r, s, dict(got.limits), want_limits))
    expect(got.blocks_per_sm == want_blocks, f"{call}: blocks_per_sm {got.blocks_per_sm}, expected {want_blocks}")
    expect(got.warps_per_sm == want_blocks * warps,
           f"{call}: warps_per_sm {got.warps_per_sm}, expected {want_blocks * warps} ({want_blocks} blocks x {warps} warps)")
    expect(got.fraction == want_blocks * warps / max_warps,
           f"{call}: fraction {got.fraction!r}, expected {want_blocks * warps}/{max_warps} = {want_blocks * warps / max_warps!r}")
    expect(tuple(got.limiters) == want_limiters,
           f"{call}: limiters {tuple(got.limiters)}, expected {want_limiters} (every resource whose limit equals "
           "blocks_per_sm, in the order threads, blocks, registers, shared)")


def _why(arch, t, r, s, got, want):
    """A pointer to the classic mistake behind a wrong limit."""
    hints = []
    if got.get("threads") != want["threads"]:
        hints.append(f"threads: a block of {t} threads takes ceil({t}/32) = {-(-t // 32)} warp slots (a partial warp "
                     f"is a whole warp), of {ARCH[arch][1] // 32} on {arch}")
    if got.get("registers") != want["registers"]:
        hints.append(f"registers: a warp is given {r} x 32 = {r * 32} registers rounded UP to a multiple of 256 "
                     f"({-(-r * 32 // 256) * 256}), and each of the 4 sub-partitions holds its own 16384: "
                     "whole warps per sub-partition, times 4, then whole blocks")
    if got.get("shared") != want["shared"]:
        hints.append(f"shared: a block is given its {s} bytes PLUS the 1024 bytes the driver reserves, rounded up "
                     f"to 128, of the {ARCH[arch][4]} bytes an SM of {arch} has; more than "
                     f"{ARCH[arch][5]} bytes of its own cannot launch (0)")
    return ("\n  " + "\n  ".join(hints)) if hints else ""


# ------------------------------------------------------------------------------------ CPU tier

def test_allocation_units(kata):
    o = kata.module()
    for t, w in [(1, 1), (31, 1), (32, 1), (33, 2), (48, 2), (96, 3), (1000, 32), (1024, 32)]:
        got = o.warps_per_block(t)
        expect(got == w, f"warps_per_block({t}) = {got!r}, expected {w}: a partial warp occupies a whole warp slot")
    for arch in ARCH:
        for r, want in [(1, 256), (8, 256), (9, 512), (24, 768), (33, 1280), (40, 1280), (64, 2048), (168, 5376),
                        (255, 8192)]:
            got = o.registers_per_warp(arch, r)
            expect(got == want, f"registers_per_warp({arch!r}, {r}) = {got!r}, expected {want}: {r} x 32 = {r * 32} "
                   "registers, rounded UP to the allocation unit of 256")
        for s, want in [(0, 1024), (1, 1152), (100, 1152), (128, 1152), (129, 1280), (4096, 5120), (49152, 50176),
                        (49153, 50304)]:
            got = o.shared_per_block(arch, s)
            expect(got == want, f"shared_per_block({arch!r}, {s}) = {got!r}, expected {want}: the block's {s} bytes "
                   "plus the 1024 the driver reserves per block (sm_80 and later), rounded UP to 128")


# Worked by hand with the rules in the README (and agreeing with cuda_occupancy.h):
# (arch, threads, regs, smem) -> (blocks, {threads, blocks, registers, shared})
KNOWN = [
    ("sm_90", 256, 32, 0, 8, dict(threads=8, blocks=32, registers=8, shared=228)),          # 100%
    ("sm_90", 128, 64, 0, 8, dict(threads=16, blocks=32, registers=8, shared=228)),         # 64 regs: 50%
    ("sm_90", 256, 40, 49152, 4, dict(threads=8, blocks=32, registers=6, shared=4)),        # 48 KiB each
    ("sm_90", 256, 40, 0, 6, dict(threads=8, blocks=32, registers=6, shared=228)),          # 12 warps/sub-partition
    ("sm_90", 32, 16, 0, 32, dict(threads=64, blocks=32, registers=128, shared=228)),       # the block cap
    ("sm_90", 1024, 64, 0, 1, dict(threads=2, blocks=32, registers=1, shared=228)),
    ("sm_90", 1024, 65, 0, 0, dict(threads=2, blocks=32, registers=0, shared=228)),         # cannot launch
    ("sm_90", 128, 32, 232448, 1, dict(threads=16, blocks=32, registers=16, shared=1)),     # the opt-in maximum
    ("sm_90", 128, 32, 232449, 0, dict(threads=16, blocks=32, registers=16, shared=0)),     # one byte too many
    ("sm_90", 96, 255, 0, 2, dict(threads=21, blocks=32, registers=2, shared=228)),         # 3 warps, rounded to 4
    ("sm_90", 48, 32, 0, 32, dict(threads=32, blocks=32, registers=32, shared=228)),        # 48 threads = 2 warps
    ("sm_80", 256, 32, 0, 8, dict(threads=8, blocks=32, registers=8, shared=164)),
    ("sm_80", 256, 32, 65536, 2, dict(threads=8, blocks=32, registers=8, shared=2)),        # 164 KiB per SM
    ("sm_80", 512, 48, 16384, 2, dict(threads=4, blocks=32, registers=2, shared=9)),
    ("sm_80", 128, 32, 166913, 0, dict(threads=16, blocks=32, registers=16, shared=0)),
    ("sm_86", 256, 32, 0, 6, dict(threads=6, blocks=16, registers=8, shared=100)),          # 1536 threads/SM
    ("sm_86", 64, 16, 0, 16, dict(threads=24, blocks=16, registers=64, shared=100)),
    ("sm_86", 128, 32, 32768, 3, dict(threads=12, blocks=16, registers=16, shared=3)),      # 100 KiB per SM
]


@pytest.mark.parametrize("arch,t,r,s,blocks,limits", KNOWN, ids=lambda v: str(v) if not isinstance(v, dict) else "")
def test_known_configurations(kata, arch, t, r, s, blocks, limits):
    check_one(kata.module(), arch, t, r, s, blocks, limits)


def test_invalid_configurations(kata):
    o = kata.module()
    for args, why in [(("sm_75", 128, 32, 0), "an architecture not in the table"),
                      (("sm_90", 0, 32, 0), "0 threads"), (("sm_90", 1025, 32, 0), "1025 threads (the limit is 1024)"),
                      (("sm_90", 128, 0, 0), "0 registers"), (("sm_90", 128, 256, 0), "256 registers (the limit is 255)"),
                      (("sm_90", 128, 32, -1), "negative shared memory")]:
        try:
            o.occupancy(*args)
        except ValueError:
            continue
        except NotImplementedError:
            raise
        except Exception as e:  # noqa: BLE001 - any other exception is the wrong one
            pytest.fail(f"{show(*args)} ({why}) raised {type(e).__name__}: {e}; expected ValueError", pytrace=False)
        pytest.fail(f"{show(*args)} ({why}) returned instead of raising ValueError", pytrace=False)


def _sweep(n: int, seed: int):
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        arch = rnd.choice(list(ARCH))
        t = rnd.choice([rnd.randint(1, 1024), 32 * rnd.randint(1, 32), rnd.choice([64, 128, 256, 512, 1024])])
        r = rnd.choice([rnd.randint(1, 255), rnd.randint(16, 96), 8 * rnd.randint(1, 31)])
        s = rnd.choice([0, rnd.randint(0, 256 * 1024), 1024 * rnd.randint(0, 228), rnd.randint(0, 16384)])
        out.append((arch, t, r, s))
    return out


def test_sweep_against_cuda_occupancy_h(kata):
    """3000 seeded configurations, every one against NVIDIA's calculator."""
    o = kata.module()
    configs = _sweep(3000, seed=80)
    for (arch, t, r, s), (blocks, limits) in zip(configs, oracle(kata, configs)):
        check_one(o, arch, t, r, s, blocks, limits)
    kata.record(configurations=len(configs))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), phases=NO_SHRINK)
@given(st.lists(st.tuples(st.sampled_from(sorted(ARCH)), st.integers(1, 1024), st.integers(1, 255),
                          st.one_of(st.integers(0, 240 * 1024), st.integers(0, 64).map(lambda k: 1024 * k),
                                    st.sampled_from([0, 1, 127, 128, 129, 166912, 166913, 232448, 232449]))),
                min_size=1, max_size=25))
def test_hypothesis_against_cuda_occupancy_h(kata, configs):
    o = kata.module()
    for (arch, t, r, s), (blocks, limits) in zip(configs, oracle(kata, configs)):
        check_one(o, arch, t, r, s, blocks, limits)


# ------------------------------------------------------------------------------------ GPU tier

PROBE = "occupancy_probe.cu"
CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, CU_FUNC_ATTRIBUTE_NUM_REGS, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED = 1, 4, 8
DEVICE_ATTRS = {  # CUdevice_attribute -> the table's column
    "max_threads_per_sm": 39, "max_blocks_per_sm": 106, "regs_per_sm": 82, "smem_per_sm": 81, "smem_optin": 97,
    "reserved_smem_per_block": 111, "major": 75, "minor": 76,
}


@pytest.mark.gpu
@pytest.mark.time_limit(300)
def test_against_the_driver(kata, tmp_path):
    """Kernels compiled with -maxrregcount 16..255: their real register and shared memory use, fed to your
    occupancy(), must give the blocks per SM that cuOccupancyMaxActiveBlocksPerMultiprocessor reports."""
    from kata.cudakit import CudaDriver

    o = kata.module()
    drv = CudaDriver()
    cc = (drv.attr(DEVICE_ATTRS["major"]), drv.attr(DEVICE_ATTRS["minor"]))
    arch = next((a for a, row in ARCH.items() if row[0] == cc), None)
    if arch is None:
        pytest.skip(f"this GPU is sm_{cc[0]}{cc[1]}, not one of {sorted(ARCH)}")
    row = ARCH[arch]
    device = {k: drv.attr(v) for k, v in DEVICE_ATTRS.items() if k not in ("major", "minor")}
    table = dict(zip(("max_threads_per_sm", "max_blocks_per_sm", "regs_per_sm", "smem_per_sm", "smem_optin",
                      "reserved_smem_per_block"), row[1:]))
    assert device == table, f"the test's table for {arch} disagrees with this GPU's attributes: {table} vs {device}"
    rows, problems = [], []
    for maxreg in (16, 24, 32, 40, 48, 56, 64, 72, 96, 128, 168, 255):
        cubin = drv.cubin(kata.support(PROBE), tmp_path / f"probe{maxreg}.cubin", f"-maxrregcount={maxreg}")
        mod = drv.module(cubin)
        fn = drv.function(mod, "probe")
        regs, static = ctypes.c_int(), ctypes.c_int()
        drv.call("cuFuncGetAttribute", ctypes.byref(regs), CU_FUNC_ATTRIBUTE_NUM_REGS, fn)
        drv.call("cuFuncGetAttribute", ctypes.byref(static), CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, fn)
        drv.call("cuFuncSetAttribute", fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED, row[5] - static.value)
        for threads in (32, 96, 128, 200, 256, 512, 768, 1024):
            for dyn in (0, 1000, 8192, 40000, 70000, row[5] // 3, row[5] - static.value):
                n = ctypes.c_int()
                drv.call("cuOccupancyMaxActiveBlocksPerMultiprocessor", ctypes.byref(n), fn, threads, ctypes.c_size_t(dyn))
                got = o.occupancy(arch, threads, regs.value, static.value + dyn).blocks_per_sm
                rows.append((regs.value, threads, static.value + dyn, n.value, got))
                if got != n.value:
                    problems.append(f"{show(arch, threads, regs.value, static.value + dyn)}: blocks_per_sm {got}, the "
                                    f"driver says {n.value}")
        drv.unload(mod)
    kata.record(arch=arch, configurations=len(rows), disagreements=len(problems))
    expect(not problems, f"{len(problems)} of {len(rows)} configurations disagree with the driver:\n  "
           + "\n  ".join(problems[:10]))
