"""Admission: what a learner's file may use, checked before it is imported or loaded.

A learner's code runs in the same process as the test that grades it, so it could reach the test's
helpers, the counters that measure it, or the oracle (`torch.softmax = ...` makes every softmax test
agree with you). The checks here refuse such a file before it runs, with one message per finding that
says what was found, where, and why it is not allowed. Learners running `pytest` locally get the same
message as a grader.

Python (a static scan of the source; nothing is imported):
  - imports outside the kata's allow-list (DEFAULT_IMPORTS, plus kata.toml `[admission] imports`);
  - the escape hatches into the interpreter: frames, code objects, globals, builtins, subclasses,
    `eval`/`exec`/`compile`/`__import__`/`globals()`/`vars()`, `getattr` with a computed name;
  - assignments to attributes of imported modules (monkeypatching torch, numpy, triton);
  - `open`, and `getattr` with a computed name, unless the kata allows them (`[admission] calls`).
Native (C, C++, assembly, CUDA host code; read from the compiled object with `nm` and `objdump`):
  - calls to symbols a kata does not need (DENIED_SYMBOLS, unless kata.toml `[admission] symbols`
    allows one): the dynamic loader, the Python C API, process control, raw system calls, memory
    protection, sanitizer hooks, sockets;
  - a raw `syscall` / `int $0x80` instruction (assembly written to bypass the C library);
  - load-time constructors in C and assembly (code that runs before any test: `.init_array`).
    (`symbols = ["constructor"]` or `["syscall"]` in kata.toml allows these two.)
  - (before compiling, from the preprocessor's dependency list) `#include` of anything but system
    headers and the kata's own sources and headers, and `.incbin`/`.include` in assembly.

This is a deny-by-default filter for the common tricks, not a proof of safety: docs/grading.md says what
it defends and what it does not.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from native.build import cache_root  # here, not in _cached: each test's fresh child would import it again

DEFAULT_IMPORTS = frozenset({
    "__future__", "math", "cmath", "functools", "itertools", "collections", "dataclasses", "typing",
    "enum", "abc", "heapq", "bisect", "operator", "fractions", "statistics", "struct", "numbers",
    "numpy", "torch", "triton", "contextlib", "copy", "string", "array", "random",
})
# Reachable only through an explicit allow in kata.toml, even under an allowed top-level package.
DENIED_SUBMODULES = ("torch.utils.cpp_extension", "torch._C", "numpy.ctypeslib", "triton.runtime.driver",
                     "torch.multiprocessing")  # (work in another process is out of a timed call's CPU count)

FORBIDDEN_ATTRS = frozenset({
    "__globals__", "__builtins__", "__subclasses__", "__code__", "__closure__", "__import__", "__bases__",
    "__mro__", "__base__", "__loader__", "__spec__", "__self__", "__func__", "__wrapped__",
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "gi_frame", "cr_frame", "ag_frame", "tb_frame",
    "tb_next", "co_code", "func_globals",
})
FORBIDDEN_CALLS = frozenset({"eval", "exec", "compile", "__import__", "globals", "locals", "vars", "breakpoint",
                             "delattr", "setattr", "input", "exit", "quit"})
ALLOWABLE_CALLS = frozenset({"open"})  # refused unless the kata's [admission] calls lists them

DENIED_SYMBOLS = (
    "dlopen", "dlsym", "dlvsym", "dladdr", "dlinfo", "dl_iterate_phdr", "_dl_*",
    "Py*", "_Py*",
    "ptrace", "syscall", "prctl", "mprotect", "pkey_mprotect", "personality",
    "fork", "vfork", "clone", "clone3", "execve", "execv", "execvp", "execvpe", "execl", "execlp", "execle",
    "fexecve", "system", "popen", "posix_spawn", "posix_spawnp", "kill", "tgkill", "setuid", "setgid",
    "seteuid", "setresuid", "chroot", "__asan_*", "__ubsan_*", "__sanitizer_*", "__lsan_*", "__msan_*",
    "__tsan_*", "socket", "connect", "bind", "sendto", "getenv", "secure_getenv", "environ",
    "unlink", "rename", "remove", "rmdir", "chmod", "chown", "truncate",
)


@dataclass(frozen=True)
class Policy:
    """What one kata allows beyond the defaults (kata.toml [admission])."""
    imports: frozenset[str] = frozenset()
    calls: frozenset[str] = frozenset()
    symbols: frozenset[str] = frozenset()

    @classmethod
    def from_toml(cls, table: dict | None) -> "Policy":
        table = table or {}
        return cls(frozenset(table.get("imports", ())), frozenset(table.get("calls", ())),
                   frozenset(table.get("symbols", ())))


class Rejected(Exception):
    """A learner file that may not run: the message lists every finding (shown without a traceback)."""
    learner_facing = True


def _import_allowed(name: str, policy: Policy) -> bool:
    allowed = DEFAULT_IMPORTS | policy.imports
    for denied in DENIED_SUBMODULES:
        if (name == denied or name.startswith(denied + ".")) and not any(
                name == a or name.startswith(a + ".") for a in policy.imports if a.startswith(denied)):
            return False
    return any(name == a or name.startswith(a + ".") for a in allowed)


def _module_path(node: ast.Attribute, dotted: dict[str, str]) -> str | None:
    """`torch.utils.cpp_extension` for that attribute chain when `torch` names an imported module."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in dotted:
        return None
    return ".".join([dotted[node.id], *reversed(parts)])


def scan_python(source: str, filename: str, policy: Policy = Policy()) -> list[str]:
    """Findings in one Python source, each 'file:line: what, and why it is refused'."""
    try:
        tree = ast.parse(source, filename)
    except SyntaxError:
        return []  # the import itself reports syntax errors, with the learner's own line
    findings: list[str] = []
    modules: set[str] = set()  # names bound to imported modules
    dotted: dict[str, str] = {}  # each such name -> the module it is bound to ("t" -> "torch")

    def at(node, msg):
        findings.append(f"{filename}:{getattr(node, 'lineno', '?')}: {msg}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                modules.add((a.asname or a.name).split(".")[0])
                dotted[(a.asname or a.name).split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
                if not _import_allowed(a.name, policy):
                    at(node, f"import {a.name}: not on this kata's import list")
        elif isinstance(node, ast.ImportFrom):
            mod = "." * node.level + (node.module or "")
            if node.level:
                at(node, f"from {mod} import ...: relative imports reach the grader's files")
            elif not _import_allowed(mod, policy):
                at(node, f"from {mod} import ...: not on this kata's import list")
            else:
                for a in node.names:
                    full = f"{mod}.{a.name}"
                    if any(full == d or full.startswith(d + ".") for d in DENIED_SUBMODULES) \
                            and not _import_allowed(full, policy):
                        at(node, f"from {mod} import {a.name}: not on this kata's import list")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_ATTRS:
            at(node, f"'.{node.attr}' reaches into the interpreter's internals")
        elif isinstance(node, ast.Attribute) and _module_path(node, dotted) in DENIED_SUBMODULES \
                and not _import_allowed(_module_path(node, dotted), policy):
            # `import torch` then `torch.multiprocessing`: the submodule, reached without importing it
            shown, path = ast.unparse(node), _module_path(node, dotted)
            at(node, f"{shown}{f' ({path})' if shown != path else ''}: not on this kata's import list")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_ATTRS:
            at(node, f"'{node.id}' reaches into the interpreter's internals")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fn = node.func.id
            if fn in FORBIDDEN_CALLS:
                at(node, f"{fn}(): runs or reaches code outside your file")
            elif fn in ALLOWABLE_CALLS and fn not in policy.calls:
                at(node, f"{fn}(): this kata does not read or write files")
            elif fn == "getattr" and len(node.args) >= 2 and not isinstance(node.args[1], ast.Constant) \
                    and "getattr" not in policy.calls:
                at(node, "getattr() with a computed name: name the attribute")
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for t in targets:
            for sub in ast.walk(t):
                if isinstance(sub, ast.Attribute):
                    root = sub
                    while isinstance(root, ast.Attribute):
                        root = root.value
                    if isinstance(root, ast.Name) and root.id in modules:
                        at(sub, f"assigns to {ast.unparse(sub)}: changing a library changes the tests' "
                                "oracle too; write your own function instead")
                        break
    return sorted(set(findings), key=lambda s: (int(s.split(":")[1]) if s.split(":")[1].isdigit() else 0, s))


def check_python_file(path: Path, policy: Policy = Policy(), shown: str | None = None) -> None:
    findings = scan_python(Path(path).read_text(errors="replace"), shown or str(path), policy)
    if findings:
        raise Rejected(_message(findings))


# ------------------------------------------------------------------------------------------ native

def _matches(sym: str, patterns) -> bool:
    for p in patterns:
        if p.endswith("*") and sym.startswith(p[:-1]) or sym == p:
            return True
    return False


def undefined_symbols(obj: Path) -> list[str]:
    """The symbols an object file calls but does not define (nm -u), without version suffixes."""
    out = subprocess.run(["nm", "-u", "--format=posix", str(obj)], capture_output=True, text=True)
    syms = []
    for line in out.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        syms.append(name.split("@")[0])
    return syms


def scan_object(obj: Path, shown: str, language: str, policy: Policy = Policy()) -> list[str]:
    """Findings in one compiled learner object."""
    findings = []
    if not shutil.which("nm"):
        return findings
    for sym in undefined_symbols(obj):
        if _matches(sym, DENIED_SYMBOLS) and not _matches(sym, policy.symbols):
            findings.append(f"{shown}: calls {sym}(), which this kata does not allow "
                            f"({_why(sym)})")
    if shutil.which("objdump"):
        if language in ("asm", "c"):
            dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(obj)], capture_output=True, text=True).stdout
            if re.search(r"\s(syscall|sysenter)\b|\sint\s+\$0x80\b", dis) and "syscall" not in policy.symbols:
                findings.append(f"{shown}: contains a raw system call instruction: call the C library instead")
            heads = subprocess.run(["objdump", "-h", str(obj)], capture_output=True, text=True).stdout
            if re.search(r"\s\.(init_array|ctors|preinit_array)\b", heads) and "constructor" not in policy.symbols:
                findings.append(f"{shown}: has a load-time constructor (__attribute__((constructor)) or .init_array): "
                                "code may only run when a test calls it")
    return findings


SOURCE_SUFFIXES = frozenset({".h", ".hh", ".hpp", ".hxx", ".cuh", ".inc", ".c", ".cc", ".cpp", ".cxx", ".cu", ".s", ".S"})
SYSTEM_PREFIXES = ("/usr/", "/opt/", "/lib/", "/lib64/")


def scan_includes(src: Path, shown: str, cmd: list[str], root: Path, include_dirs) -> list[str]:
    """Findings about what a learner's source pulls in at compile time: `#include` of anything but the
    system's headers and the kata's own C sources and headers (a hidden test, a reference solution or
    any other file of the grader's would be compiled in, or shown line by line in a compiler error),
    and `.incbin` / assembler `.include`, which embed any file."""
    findings = []
    text = src.read_bytes().decode(errors="replace")
    for n, line in enumerate(text.splitlines(), 1):
        if re.search(r"\.incbin\b", line, re.I) or (src.suffix in (".s", ".S") and re.search(r"^\s*\.include\b", line)):
            findings.append(f"{shown}:{n}: embeds a file at assembly time (.incbin / .include): a kata's code reads "
                            "no files while it is built")
    if src.suffix == ".s" or findings:
        return findings
    dep_cmd = [c for c in cmd if c != "-c"] + ["-M"] + (["-MG"] if cmd[0] != "nvcc" else []) + [str(src)]
    try:
        out = subprocess.run(dep_cmd, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return findings
    deps = out.replace("\\\n", " ").split(":", 1)[-1].split()
    allowed_dirs = [Path(os.path.realpath(d)) for d in include_dirs]
    own = Path(os.path.realpath(src))
    root_real = Path(os.path.realpath(root))
    for dep in deps:
        if dep == "\\" or not os.path.isabs(dep) and not os.path.exists(dep):
            continue  # a header that does not exist (-MG): the build will say so
        real = Path(os.path.realpath(dep))
        if real == own:
            continue
        if str(real).startswith(SYSTEM_PREFIXES) and not real.is_relative_to(root_real):
            continue
        if real.suffix in SOURCE_SUFFIXES and any(real.is_relative_to(d) for d in allowed_dirs):
            continue
        findings.append(f"{shown}: includes {dep}, which is not a system header or one of the kata's own "
                        "sources and headers")
    return findings


def _why(sym: str) -> str:
    if sym.startswith(("dl", "_dl")):
        return "the dynamic loader reaches the grader's own code"
    if sym.startswith(("Py", "_Py")):
        return "the Python C API reaches the grader's interpreter"
    if sym.startswith(("__asan", "__ubsan", "__sanitizer", "__lsan", "__msan", "__tsan")):
        return "sanitizer hooks change what the checks report"
    if sym in ("socket", "connect", "bind", "sendto"):
        return "no network"
    if sym in ("getenv", "secure_getenv", "environ"):
        return "the environment holds the grader's settings"
    return "process, memory-protection and file-system control are not part of the task"


def check_objects(objects: list[tuple[Path, str]], language: str, policy: Policy = Policy()) -> None:
    findings = [f for obj, shown in objects for f in scan_object(obj, shown, language, policy)]
    if findings:
        raise Rejected(_message(findings))


def _message(findings: list[str]) -> str:
    return ("REJECTED: your file uses something this kata does not allow, so it was not run:\n  - "
            + "\n  - ".join(findings)
            + "\n  (Your code runs where it could reach the grader's instruments: these are the ways code could "
              "change the grade instead of earning it. If the kata needs one, its kata.toml [admission] lists it.)")


# ------------------------------------------------------------------------------- the harness's entry

def _cached(root: Path, key: str, compute) -> list[str]:
    """Findings cached by content under the build cache: re-running an unchanged file costs a read."""
    path = cache_root(root) / "admission" / f"{key}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    findings = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(findings))
    os.replace(tmp, path)
    return findings


def _key(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def admit_python(path: Path, policy: Policy, shown: str, root: Path) -> None:
    """Raise Rejected if the learner's Python file may not be imported."""
    source = Path(path).read_bytes()
    findings = _cached(root, _key("py", 1, source, shown, sorted(policy.imports), sorted(policy.calls)),
                       lambda: scan_python(source.decode(errors="replace"), shown, policy))
    if findings:
        raise Rejected(_message(findings))


def admit_native(sources: list[Path], language: str, policy: Policy, root: Path, include_dirs) -> None:
    """Raise Rejected if a learner's C, C++, assembly or CUDA file calls what the kata does not allow.
    Each source is compiled to an object on its own (cached by content); a source that does not compile
    is left to the real build, which shows the compiler's own message."""
    from native.build import ASM_FLAGS, C_FLAGS, CXX_FLAGS, INCLUDE_DIR

    incs = [f"-I{d}" for d in [INCLUDE_DIR, *include_dirs]]
    findings: list[str] = []
    for src in sources:
        src = Path(src)
        shown = os.path.relpath(src, root) if src.is_relative_to(root) else str(src)
        suffix = src.suffix
        if suffix == ".cu":
            cmd = ["nvcc", "-c", *incs]
        elif suffix in (".cc", ".cpp"):
            cmd = ["g++", *CXX_FLAGS, "-c", *incs]
        elif suffix in (".s", ".S"):
            cmd = ["gcc", *ASM_FLAGS, "-c", *incs]
        else:
            cmd = ["gcc", *C_FLAGS, "-c", *incs]
        if not shutil.which(cmd[0]):
            continue

        def compute(src=src, shown=shown, cmd=cmd):
            found = scan_includes(src, shown, cmd, root, [INCLUDE_DIR, *include_dirs])
            if found:
                return found  # before compiling: a compiler error would show the included file's lines
            with tempfile.TemporaryDirectory() as tmp:
                obj = Path(tmp) / "learner.o"
                done = subprocess.run([*cmd, str(src), "-o", str(obj)], capture_output=True, text=True)
                if done.returncode != 0:
                    return []
                return scan_object(obj, shown, language, policy)
        findings += _cached(root, _key("native", 2, src.read_bytes(), shown, language, " ".join(cmd),
                                       sorted(policy.symbols), *map(str, include_dirs)), compute)
    if findings:
        raise Rejected(_message(findings))
