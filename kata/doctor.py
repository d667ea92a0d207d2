"""`kata doctor`: what this machine has, and what that means for the katas here.

Toolchains (gcc, g++, nvcc, valgrind), Python packages (torch, triton, ...), GPU or Triton
interpreter mode; then, per kata, what will be skipped here and why, and what cannot work at all.
The exit status is 1 if something a kata here needs is missing (a kata would fail, not skip).
"""
from __future__ import annotations

import importlib.metadata as md
import os
import platform
import shutil
import subprocess
import sys

from kata.layout import all_katas, find_root
from kata.term import Term

TOOLS = {"gcc": "C and the drivers of native katas", "g++": "C++ katas", "nvcc": "CUDA katas (also on a CPU: "
         "the resource report)", "valgrind": "instruction and cache-miss counts (native performance gates)"}
NEEDS = {"c": ["gcc"], "asm": ["gcc"], "cpp": ["g++", "gcc"], "cuda": ["nvcc", "gcc"]}
PACKAGES = ["pytest", "torch", "triton", "numpy", "cffi", "hypothesis", "pytest-xdist"]


def tool_version(tool: str) -> str | None:
    exe = shutil.which(tool)
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return f"{exe} (did not answer --version)"
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    if tool == "nvcc":
        lines = [line for line in lines if "release" in line] or lines
    return (lines[0] if lines else exe)[:80]


def package_version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def gpu() -> tuple[bool, str]:
    from kata.gpu import has_gpu  # asks without initialising CUDA here

    if has_gpu():
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20).stdout.strip().splitlines()
        except (OSError, subprocess.TimeoutExpired):
            out = []
        return True, "CUDA GPU: " + (out[0] if out else "present")
    forced = " (KATA_FORCE_CPU=1)" if os.environ.get("KATA_FORCE_CPU") == "1" else ""
    return False, f"no CUDA GPU{forced}: Triton kernels run in the interpreter (TRITON_INTERPRET=1)"


def uses_valgrind(k) -> bool:
    return any("callgrind" in p.read_text(errors="replace") or "cachegrind" in p.read_text(errors="replace")
               for p in k.dir.glob("test_*.py"))


def run(args) -> int:
    t = Term()
    ok, warn = t.c("ok", "green"), t.c("missing", "red")
    t.print(t.c("kata doctor", "bold") + f" · {platform.platform()} · {os.cpu_count()} CPUs")
    t.print(f"  {'python':<12} {platform.python_version():<48} {sys.executable}")
    for name in PACKAGES:
        v = package_version(name)
        t.print(f"  {name:<12} {v or warn}")
    tools = {tool: tool_version(tool) for tool in TOOLS}
    for tool, v in tools.items():
        t.print(f"  {tool:<12} {(v or warn):<48} {t.c(TOOLS[tool], 'dim')}")
    has, what = gpu()
    t.print(f"  {'GPU':<12} {what}")

    try:
        katas = all_katas(find_root())
    except Exception as e:  # noqa: BLE001 - doctor still reports the machine outside a checkout
        t.print(f"\n(no katas looked at: {e})")
        katas = []
    skipped, broken = [], []
    if sys.version_info < (3, 11):
        broken.append("python 3.11 or newer is needed")
    for name in ("pytest", "numpy", "cffi", "hypothesis"):
        if package_version(name) is None:
            broken.append(f"the Python package {name} is missing: every kata needs it (pip install -e .)")
    for k in katas:
        if "gpu" in k.tiers and not has:
            skipped.append(f"{k.rel}: its GPU-tier tests (marked gpu): no CUDA GPU here "
                           "(skipped with that reason; never counted as passed)")
        for tool in NEEDS.get(k.language, []):
            if tools[tool] is None:
                broken.append(f"{k.rel}: needs {tool}, which is not installed: its tests fail with TOOLCHAIN MISSING")
        if k.language in ("triton", "python") and package_version("torch") is None:
            broken.append(f"{k.rel}: needs torch (install torch's CPU build first, then the project)")
        if k.language == "triton" and package_version("triton") is None:
            broken.append(f"{k.rel}: needs triton")
        if tools["valgrind"] is None and k.language in ("c", "cpp", "asm") and uses_valgrind(k):
            broken.append(f"{k.rel}: its performance gates count with valgrind, which is not installed")
    t.print("")
    t.print(t.c("skipped here, and why:", "bold") + ("" if skipped else " nothing"))
    for line in skipped:
        t.print(f"  - {line}")
    t.print(t.c("cannot work here:", "bold") + ("" if broken else f" nothing ({ok})"))
    for line in broken:
        t.print(f"  - {t.c(line, 'red')}")
    return 1 if broken else 0


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="toolchains, GPU or interpreter mode, versions; what will be skipped and why")
    p.set_defaults(func=run)
