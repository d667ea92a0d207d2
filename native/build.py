"""Build learner C, C++, assembly and CUDA into shared libraries and programs, cached by content.

We call gcc/g++/nvcc ourselves (no setuptools): a compile error shows the compiler's own lines, naming
the learner's file as a path under the checkout, and nothing else. Builds are cached under
`.kata_cache/build/<key>/`, the key hashing the compiler's version, the flags and the bytes of every
source and header; a lock per key and write-then-rename keep concurrent test processes (pytest -n)
from building the same thing twice or reading half a build.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

NATIVE_DIR = Path(__file__).resolve().parent
INCLUDE_DIR = NATIVE_DIR / "include"
RUNTIME_SRC = NATIVE_DIR / "runtime" / "kata_runtime.c"

# Measured code must run under valgrind 3.19, which dies on AVX-512: build for x86-64-v3 (AVX2, FMA).
C_FLAGS = ["-O2", "-g", "-march=x86-64-v3", "-fPIC", "-Wall", "-Wno-unused-function", "-std=c11"]
CXX_FLAGS = ["-O2", "-g", "-march=x86-64-v3", "-fPIC", "-Wall", "-std=c++17"]
ASM_FLAGS = ["-g", "-fPIC", "-Wa,--noexecstack"]  # without noexecstack newer glibc refuses to load the .so
CUDA_ARCH = os.environ.get("KATA_CUDA_ARCH", "sm_90")
CUDA_FLAGS = ["-O3", "-lineinfo", f"-arch={CUDA_ARCH}", "-Xcompiler", "-fPIC"]


class BuildError(Exception):
    """The compiler refused the code. `output` is the compiler's own diagnostics, unedited."""

    def __init__(self, what: str, output: str, command: list[str] | None = None):
        super().__init__(f"{what}\n{output}")
        self.what = what
        self.output = output
        self.command = command


class ToolchainMissing(Exception):
    pass


def cache_root(root: Path | None = None) -> Path:
    env = os.environ.get("KATA_CACHE")
    if env:
        return Path(env)
    return (root or Path.cwd()) / ".kata_cache"


@functools.lru_cache(maxsize=None)
def tool_version(tool: str) -> str:
    exe = shutil.which(tool)
    if exe is None:
        raise ToolchainMissing(f"'{tool}' is not installed or not on PATH")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout
    return f"{exe}\n{out}"


def _language(path: Path) -> str:
    ext = path.suffix
    if ext == ".c":
        return "c"
    if ext in (".cc", ".cpp", ".cxx"):
        return "cpp"
    if ext in (".s", ".S"):
        return "asm"
    if ext == ".cu":
        return "cuda"
    raise BuildError(f"cannot build {path.name}", f"unknown source type '{ext}' (expected .c .cpp .s .S .cu)")


def _display(path: Path, cwd: Path) -> str:
    """The path as the compiler should print it: relative to the checkout when it lies inside."""
    try:
        return str(path.resolve().relative_to(cwd))
    except ValueError:
        return str(path.resolve())


def _headers(include_dirs: list[Path]) -> list[Path]:
    out = []
    for d in include_dirs:
        out += sorted(p for p in Path(d).glob("*") if p.suffix in (".h", ".hpp", ".cuh", ".inc"))
    return out


def _key(kind: str, sources: list[Path], flags: list[str], include_dirs: list[Path], tools: list[str]) -> str:
    h = hashlib.sha256()
    h.update(kind.encode())
    for t in tools:
        h.update(tool_version(t).encode())
    h.update("\0".join(flags).encode())
    for p in [*sources, *_headers(include_dirs)]:
        h.update(str(p.name).encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:24]


def _run(cmd: list[str], cwd: Path, what: str) -> str:
    # LC_ALL=C: plain ASCII quotes in diagnostics, the same on every machine.
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if proc.returncode != 0:
        raise BuildError(what, (proc.stderr + proc.stdout).strip(), cmd)
    return proc.stderr


@dataclass
class Built:
    path: Path          # the .so or executable
    warnings: str       # the compiler's warnings, if any
    cached: bool        # True when no compiler ran


def _cached_build(kind: str, key: str, out_name: str, produce, cache: Path) -> Built:
    """Run produce(tmpdir) -> warnings once per key; later calls find the finished folder."""
    final = cache / "build" / key
    target = final / out_name
    if target.exists():
        return Built(target, (final / "warnings.txt").read_text() if (final / "warnings.txt").exists() else "", True)
    (cache / "build").mkdir(parents=True, exist_ok=True)
    with open(cache / "build" / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if target.exists():  # another process built it while we waited
                return Built(target, (final / "warnings.txt").read_text(), True)
            tmp = Path(tempfile.mkdtemp(prefix=f"{key}.", dir=cache / "build"))
            try:
                warnings = produce(tmp)
                (tmp / "warnings.txt").write_text(warnings)
                os.rename(tmp, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            return Built(target, warnings, False)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _compile_objects(sources: list[Path], tmp: Path, cwd: Path, include_dirs: list[Path],
                     extra_flags: list[str]) -> tuple[list[Path], str, bool]:
    objs, warnings, cxx = [], "", False
    incs = [f"-I{d}" for d in include_dirs]
    for i, src in enumerate(sources):
        lang = _language(src)
        obj = tmp / f"{i}_{src.stem}.o"
        shown = _display(src, cwd)
        if lang == "c":
            cmd = ["gcc", *C_FLAGS, *extra_flags, *incs, "-c", shown, "-o", str(obj)]
        elif lang == "cpp":
            cxx = True
            cmd = ["g++", *CXX_FLAGS, *extra_flags, *incs, "-c", shown, "-o", str(obj)]
        elif lang == "asm":
            cmd = ["gcc", *ASM_FLAGS, *incs, "-c", shown, "-o", str(obj)]
        else:
            raise BuildError(f"cannot build {src.name}", "CUDA sources go through build_cuda_library")
        warnings += _run(cmd, cwd, f"{shown} did not compile")
        objs.append(obj)
    return objs, warnings, cxx


def build_library(sources: list[Path], *, root: Path, include_dirs: list[Path] = (), flags: list[str] = (),
                  libs: list[str] = ("-lm",)) -> Built:
    """Compile C/C++/asm sources (plus the kata runtime) into one shared library, cached by content.

    Linked with -Wl,-z,defs so an undefined symbol is a build error with the linker's message, not a
    crash at load time."""
    sources = [Path(s).resolve() for s in sources] + [RUNTIME_SRC]
    include_dirs = [INCLUDE_DIR, *map(Path, include_dirs)]
    tools = ["gcc"] + (["g++"] if any(_language(s) == "cpp" for s in sources) else [])
    flags = list(flags)
    key = _key("so", sources, flags + list(libs), include_dirs, tools)

    def produce(tmp: Path) -> str:
        objs, warnings, cxx = _compile_objects(sources, tmp, root, include_dirs, flags)
        link = ["g++" if cxx else "gcc", "-shared", "-Wl,-z,defs", "-Wl,-z,noexecstack",
                "-o", str(tmp / "lib.so"), *map(str, objs), *libs]
        warnings += _run(link, root, "the library did not link")
        return warnings

    return _cached_build("so", key, "lib.so", produce, cache_root(root))


def build_program(sources: list[Path], *, root: Path, include_dirs: list[Path] = (), flags: list[str] = (),
                  libs: list[str] = ("-lm",)) -> Built:
    """Compile C/C++/asm sources (a driver with main() plus learner code) into a program, cached."""
    sources = [Path(s).resolve() for s in sources] + [RUNTIME_SRC]
    include_dirs = [INCLUDE_DIR, *map(Path, include_dirs)]
    tools = ["gcc"] + (["g++"] if any(_language(s) == "cpp" for s in sources) else [])
    flags = list(flags)
    key = _key("exe", sources, flags + list(libs), include_dirs, tools)

    def produce(tmp: Path) -> str:
        objs, warnings, cxx = _compile_objects(sources, tmp, root, include_dirs, flags)
        link = ["g++" if cxx else "gcc", "-Wl,-z,noexecstack", "-o", str(tmp / "prog"), *map(str, objs), *libs]
        warnings += _run(link, root, "the program did not link")
        return warnings

    return _cached_build("exe", key, "prog", produce, cache_root(root))


# ---------------------------------------------------------------------------------------------- CUDA

@dataclass
class KernelResources:
    name: str
    registers: int
    shared_bytes: int
    stack_bytes: int
    spill_stores: int
    spill_loads: int


@dataclass
class CudaReport:
    arch: str
    kernels: dict[str, KernelResources]
    ptx: str
    raw: str  # ptxas's own lines


def parse_ptxas(text: str) -> dict[str, KernelResources]:
    """Parse `nvcc -Xptxas -v` output into per-kernel resources (names as ptxas prints them).

    Only entry functions (kernels) are returned; a non-inlined __device__ function also gets a
    "Function properties" block from ptxas, but it is not something a grid launches."""
    funcs: dict[str, KernelResources] = {}
    entries: list[str] = []
    current = None
    for line in text.splitlines():
        m = re.search(r"(Compiling entry function|Function properties for) '?([\w$.]+)'?", line)
        if m:
            current = m.group(2)
            funcs.setdefault(current, KernelResources(current, 0, 0, 0, 0, 0))
            if m.group(1).startswith("Compiling") and current not in entries:
                entries.append(current)
            continue
        if current is None:
            continue
        k = funcs[current]
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            k.stack_bytes, k.spill_stores, k.spill_loads = map(int, m.groups())
        m = re.search(r"Used (\d+) registers", line)
        if m:
            k.registers = int(m.group(1))
            s = re.search(r"(\d+) bytes smem", line)
            k.shared_bytes = int(s.group(1)) if s else 0
    return {name: funcs[name] for name in entries}


def cuda_report(source: Path, *, root: Path, include_dirs: list[Path] = (), arch: str = CUDA_ARCH) -> CudaReport:
    """Compile a .cu file for `arch` with ptxas's resource report and the PTX text, cached by content."""
    source = Path(source).resolve()
    include_dirs = [INCLUDE_DIR, *map(Path, include_dirs)]
    flags = [f"-arch={arch}", "-O3", "-Xptxas", "-v"]
    key = _key("ptx", [source], flags, include_dirs, ["nvcc"])
    incs = [f"-I{d}" for d in include_dirs]
    shown = _display(source, root)

    def produce(tmp: Path) -> str:
        report = _run(["nvcc", *flags, *incs, "-c", shown, "-o", str(tmp / "k.o")], root, f"{shown} did not compile")
        _run(["nvcc", f"-arch={arch}", "-O3", *incs, "-ptx", shown, "-o", str(tmp / "k.ptx")], root,
             f"{shown} did not compile to PTX")
        (tmp / "ptxas.txt").write_text(report)
        return ""

    built = _cached_build("ptx", key, "k.ptx", produce, cache_root(root))
    raw = (built.path.parent / "ptxas.txt").read_text()
    return CudaReport(arch, parse_ptxas(raw), built.path.read_text(), raw)


def build_cuda_library(sources: list[Path], *, root: Path, include_dirs: list[Path] = (),
                       flags: list[str] = ()) -> Built:
    """nvcc a .cu file (host launcher + kernels) and the kata runtime into a shared library."""
    sources = [Path(s).resolve() for s in sources]
    include_dirs = [INCLUDE_DIR, *map(Path, include_dirs)]
    all_flags = CUDA_FLAGS + list(flags)
    key = _key("cuso", sources + [RUNTIME_SRC], all_flags, include_dirs, ["nvcc"])
    incs = [f"-I{d}" for d in include_dirs]

    def produce(tmp: Path) -> str:
        shown = [_display(s, root) for s in sources]
        return _run(["nvcc", *all_flags, *incs, "-shared", "-o", str(tmp / "lib.so"), *shown, str(RUNTIME_SRC)],
                    root, f"{', '.join(shown)} did not compile")

    return _cached_build("cuso", key, "lib.so", produce, cache_root(root))
