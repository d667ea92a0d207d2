"""What this machine is, read rather than assumed: cache sizes, line size, cores, and how busy it is.

    caches()                 the data/unified cache levels of CPU 0: [Cache(level=1, size=32768, line=64, ...), ...]
    cache_size(level)        bytes of the level-`level` data (or unified) cache, or None if unknown
    line_size()              the coherency line size in bytes (64 on every x86-64 so far), or None
    cores()                  CPUs this process may run on (sched_getaffinity: a container's limit, not the host's)
    busy_cpus(seconds)       CPUs' worth of time other processes used over `seconds` (0 = idle, cores() = full)
    summary()                "L1d 32 KiB, L2 512 KiB, L3 32 MiB (sysfs); 2 cores": for kata.record and messages
    need_cores(n, why)       skip the calling test, saying why, on a machine with fewer than n CPUs
    need_caches(*levels)     the sizes of those levels, or skip the test saying which one is unknown

Sources, in order: /sys/devices/system/cpu/cpu0/cache/index*/ (level, type, size,
coherency_line_size: what the kernel read from CPUID), then `getconf
LEVEL1_DCACHE_SIZE` and its kin (glibc). The two can disagree: on AMD EPYC glibc reports the whole socket's L3 (for
example 256 MiB) where sysfs reports the 32 MiB slice this core's complex can use; sysfs is closer to
what one core sees, so it wins. A test that cannot find a size it needs skips, naming the size, rather
than assume one.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

SYSFS = Path("/sys/devices/system/cpu/cpu0/cache")


@dataclass(frozen=True)
class Cache:
    level: int
    size: int          # bytes
    line: int          # bytes (0 if unknown)
    kind: str          # "Data" or "Unified"
    shared_cpus: str   # e.g. "0-1" ("" if unknown)
    source: str        # "sysfs" or "getconf"


def _parse_size(text: str) -> int:
    text = text.strip().upper()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text and text[-1] in mult:
        return int(text[:-1]) * mult[text[-1]]
    return int(text)


def _getconf() -> dict[str, int]:
    """`getconf -a`'s cache lines (Python's os.sysconf does not know the LEVEL*_CACHE names)."""
    import subprocess
    try:
        out = subprocess.run(["getconf", "-a"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    conf = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and "CACHE" in parts[0] and parts[1].isdigit():
            conf[parts[0]] = int(parts[1])
    return conf


def _read(p: Path) -> str:
    try:
        return p.read_text().strip()
    except OSError:
        return ""


@lru_cache(maxsize=None)
def caches() -> tuple[Cache, ...]:
    found: dict[int, Cache] = {}
    for idx in sorted(SYSFS.glob("index*")) if SYSFS.is_dir() else []:
        kind = _read(idx / "type")
        if kind not in ("Data", "Unified"):
            continue
        try:
            level, size = int(_read(idx / "level")), _parse_size(_read(idx / "size"))
        except ValueError:
            continue
        line = _read(idx / "coherency_line_size")
        found.setdefault(level, Cache(level, size, int(line) if line.isdigit() else 0, kind,
                                      _read(idx / "shared_cpu_list"), "sysfs"))
    missing = [lv for lv in (1, 2, 3, 4) if lv not in found]
    if missing:
        conf = _getconf()
        for level in missing:
            key = "LEVEL1_DCACHE" if level == 1 else f"LEVEL{level}_CACHE"
            size, line = conf.get(f"{key}_SIZE", 0), conf.get(f"{key}_LINESIZE", 0)
            if size > 0:
                found[level] = Cache(level, size, line, "Data" if level == 1 else "Unified", "", "getconf")
    return tuple(found[k] for k in sorted(found))


def cache_size(level: int) -> int | None:
    for c in caches():
        if c.level == level:
            return c.size
    return None


def last_level() -> Cache | None:
    cs = caches()
    return cs[-1] if cs else None


def line_size() -> int | None:
    for c in caches():
        if c.line:
            return c.line
    return None


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cpu_times() -> tuple[int, int] | None:
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    v = [int(x) for x in first[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)  # idle + iowait
    return sum(v[:8]) - idle, sum(v[:8])         # busy (user..steal), total


def _own_ticks() -> int:
    t = os.times()
    return int((t.user + t.system + t.children_user + t.children_system) * os.sysconf("SC_CLK_TCK"))


def busy_cpus(seconds: float = 0.3) -> float | None:
    """CPUs' worth of time that *other* processes (and the hypervisor's steal) took over the next
    `seconds`, while this process sleeps: 0.0 on an idle machine, about cores() when every core is busy.
    None where /proc/stat cannot be read."""
    a = _cpu_times()
    if a is None:
        return None
    own = _own_ticks()
    time.sleep(seconds)
    b = _cpu_times()
    busy, total = b[0] - a[0], b[1] - a[1]
    busy -= _own_ticks() - own
    return max(0.0, busy / total * cores()) if total > 0 else None


def _kib(n: int) -> str:
    return f"{n >> 20} MiB" if n >= 1 << 20 and n % (1 << 20) == 0 else f"{n >> 10} KiB"


def summary() -> str:
    cs = caches()
    if not cs:
        return f"cache sizes unknown (no sysfs, no getconf); {cores()} cores"
    parts = [f"L{c.level}{'d' if c.kind == 'Data' else ''} {_kib(c.size)}" for c in cs]
    return f"{', '.join(parts)} ({'/'.join(sorted({c.source for c in cs}))}); {cores()} cores"


def need_cores(n: int, why: str) -> None:
    import pytest
    if cores() < n:
        pytest.skip(f"this machine gives this process {cores()} CPU(s); {why} needs {n}: the measurement would "
                    "say nothing about your code, so it is skipped, not passed")


def need_caches(*levels: int) -> dict[int, int]:
    import pytest
    got = {lv: cache_size(lv) for lv in levels}
    missing = [lv for lv, s in got.items() if not s]
    if missing:
        pytest.skip(f"cannot read the size of cache level(s) {missing} on this machine (neither "
                    f"{SYSFS}/index*/size nor getconf LEVEL{missing[0]}_..._SIZE): the working sets of this "
                    "measurement are chosen from them, so it is skipped, not passed")
    return got
