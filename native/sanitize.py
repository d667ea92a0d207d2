"""Memory errors in learner C/C++, reported with file and line.

Two tools, for two kinds of question:

1. AddressSanitizer + UBSan in a fresh process. ASan cannot be loaded into a running Python, so a
   kata that is about memory ships a small driver program (a .c/.cpp file beside its tests) that
   calls the learner's functions the way the tests do; `check_program` builds driver + learner code
   with -fsanitize=address,undefined, runs it, and turns the first report into a few lines a learner
   can act on:

       MEMORY ERROR (AddressSanitizer): heap-buffer-overflow: a 4-byte write just past the end of a
       40-byte block
         at katas/04_c_programming/03_arena_allocator/arena.c:41 in arena_alloc()
         the block was allocated at ...sanitize_arena.c:30 in main()

   LeakSanitizer runs at exit too: a block never freed is reported with the line that allocated it.

2. A counting wrapper inside the learner's library, for tests that call through cffi (where a leak
   check against Python's own allocations would be useless). `counted_library(kata, cdef)` links
   native/sanitize/alloc_count.c with -Wl,--wrap=malloc,free,...: only the learner's objects are
   redirected, so the counts are theirs alone. `lib.counts()` gives allocations, frees, mappings and
   open files; `lib.assert_no_leaks(after=...)` names each leaked block's allocating line.

    from native import sanitize
    sanitize.check_program(kata, "sanitize_arena.c", ["all"])    # raises SanitizerError
    lib = sanitize.counted_library(kata, CDEF)
    ...; lib.assert_no_leaks(after="arena_destroy()")            # raises LeakError
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from native.build import build_library, build_program
from native.ffi import NativeLibrary, NotImplementedYet

HERE = Path(__file__).resolve().parent / "sanitize"
COUNT_C = HERE / "alloc_count.c"
COUNT_CXX = HERE / "alloc_count_cxx.cpp"

SAN_FLAGS = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all",
             "-fno-common"]
SAN_LINK = ["-fsanitize=address,undefined"]
# halt at the first error; exit code 86 marks a sanitizer report (a learner's exit(1) is not one)
ASAN_OPTIONS = ("detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=86:detect_stack_use_after_return=1:"
                "strict_string_checks=1:check_initialization_order=1:allocator_may_return_null=0:"
                "print_summary=1:symbolize=1")
UBSAN_OPTIONS = "print_stacktrace=1:halt_on_error=1:exitcode=86"
LSAN_OPTIONS = "exitcode=86"

WRAPPED = ["malloc", "calloc", "realloc", "aligned_alloc", "posix_memalign", "free",
           "mmap", "munmap", "open", "close", "fopen", "fclose"]
KINDS = {0: "heap block", 1: "mapping (mmap)", 2: "file descriptor (open)", 3: "FILE* (fopen)"}


class SanitizerError(AssertionError):
    """AddressSanitizer, UBSan or LeakSanitizer reported a memory error in the learner's code."""
    learner_facing = True  # kata.failures shows the message alone, without a traceback


class LeakError(AssertionError):
    """The learner's code left memory, mappings or files behind."""
    learner_facing = True  # kata.failures shows the message alone, without a traceback


class ProgramFailed(AssertionError):
    """The driver program exited non-zero without a sanitizer report (a wrong answer it detected)."""
    learner_facing = True  # kata.failures shows the message alone, without a traceback


# ------------------------------------------------------------------------------------- parsing

@dataclass
class Frame:
    function: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line} in {self.function}()"


@dataclass
class Finding:
    tool: str                 # AddressSanitizer | UndefinedBehaviorSanitizer | LeakSanitizer
    kind: str                 # heap-buffer-overflow, heap-use-after-free, leak, signed-integer-overflow ...
    detail: str               # "a 4-byte write just past the end of a 40-byte block"
    where: Frame | None       # the learner's frame (or the first frame with a file)
    stack: list[Frame] = field(default_factory=list)
    origin: str = ""          # "the block was allocated at ..." / "freed at ..."
    raw: str = ""
    learner: list[str] = field(default_factory=list)

    def message(self) -> str:
        head = {"LeakSanitizer": "MEMORY LEAK (LeakSanitizer)"}.get(self.tool, f"MEMORY ERROR ({self.tool})")
        lines = [f"{head}: {self.kind}" + (f": {self.detail}" if self.detail else "")]
        if self.where:
            lines.append(f"  at {self.where}")
        if self.where and self.where in self.stack:  # two callers, for context
            idx = self.stack.index(self.where)
            for f in self.stack[idx + 1: idx + 3]:
                lines.append(f"  called from {f}")
        if self.origin:
            lines.append(f"  {self.origin}")
        if self.where and self.learner and Path(self.where.file).name not in self.learner:
            lines.append("  (that line is the test's driver using what your code handed it: the mistake is in how "
                         "your code sized or placed it)")
        advice = ADVICE.get(self.kind)
        if advice:
            lines.append(f"  {advice}")
        return "\n".join(lines)


ADVICE = {
    "heap-buffer-overflow": "Check the loop bound and the size you allocated (n vs n + 1, bytes vs elements).",
    "stack-buffer-overflow": "A local array indexed past its end: check the bound against its declared size.",
    "global-buffer-overflow": "A global array indexed past its end.",
    "heap-use-after-free": "The block was freed before this access: keep it alive, or stop using the pointer.",
    "double-free": "Free each block exactly once (set the pointer to NULL after free).",
    "attempting free on address which was not malloc()-ed": "free only what malloc/calloc/realloc returned, "
                                                             "not a pointer into the middle of a block.",
    "stack-use-after-return": "A pointer to a local variable outlived its function: allocate it instead.",
    "SEGV on unknown address": "A bad pointer: NULL, uninitialised, or computed with a wrong offset.",
    "wild pointer": "A pointer computed from bad data (an unchecked offset or index) pointing nowhere valid.",
    "memory leak": "Every malloc needs a free on every path (the error paths too).",
    "alloc-dealloc-mismatch": "new[] goes with delete[], new with delete, malloc/aligned_alloc with free.",
    "invalid aligned_alloc": "aligned_alloc(align, size): align a power of two, size a multiple of align "
                             "(round it up).",
}


_FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ in (.+?) (\S+?):(\d+)(?::\d+)?\s*$")
_FRAME_NOFILE = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ in (\S+)")


def _frames(block: str) -> list[Frame]:
    out = []
    for line in block.splitlines():
        m = _FRAME.match(line)
        if m:
            fn = re.sub(r" const$", "", m.group(2).strip())
            if fn.endswith(")"):  # drop the parameter list: the last balanced (...) group
                depth = 0
                for i in range(len(fn) - 1, -1, -1):
                    depth += {")": 1, "(": -1}.get(fn[i], 0)
                    if depth == 0:
                        fn = fn[:i] if i > 0 else fn
                        break
            fn = fn.replace("__interceptor_", "")
            out.append(Frame(fn, m.group(3), int(m.group(4))))
        elif _FRAME_NOFILE.match(line):
            out.append(Frame(_FRAME_NOFILE.match(line).group(2), "?", 0))
    return out


def _useful(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.file != "?" and "libsanitizer" not in f.file and not f.file.startswith("../sysdeps")
            and "/csu/" not in f.file and not f.file.startswith("../csu")]


def _pick(frames: list[Frame], learner: list[str]) -> Frame | None:
    useful = _useful(frames)
    for f in useful:
        if Path(f.file).name in learner:
            return f
    return useful[0] if useful else None


def _stack_for(block: str) -> list[Frame]:
    """The frames of the first stack in `block` (up to the first blank line after a frame)."""
    out = []
    started = False
    for line in block.splitlines():
        if _FRAME.match(line) or _FRAME_NOFILE.match(line):
            started = True
            out += _frames(line)
        elif started:
            break
    return out


def _describe_access(text: str) -> str:
    acc = re.search(r"^(READ|WRITE) of size (\d+)", text, re.M)
    var = re.search(r"\[(-?\d+), (-?\d+)\) '([^']+)'(?: \(line (\d+)\))? <== Memory access at offset (-?\d+) "
                    r"(partially overflows|overflows|underflows)", text)
    if var:
        what = f"a {acc.group(2)}-byte {acc.group(1).lower()}" if acc else "an access"
        size = int(var.group(2)) - int(var.group(1))
        line = f", declared at line {var.group(4)}" if var.group(4) else ""
        verb = "before the start of" if var.group(6) == "underflows" else "past the end of"
        return f"{what} {verb} the local variable '{var.group(3)}' ({size} bytes{line})"
    loc = re.search(r"is located (\d+) bytes (to the right of|to the left of|inside of) (\d+)-byte region", text)
    what = f"a {acc.group(2)}-byte {acc.group(1).lower()}" if acc else "an access"
    if not loc:
        return what
    off, rel, size = int(loc.group(1)), loc.group(2), int(loc.group(3))
    if rel == "to the right of":
        where = "just past the end" if off == 0 else f"{off} bytes past the end"
    elif rel == "to the left of":
        where = f"{off} bytes before the start"
    else:
        where = f"at byte {off} inside"
    return f"{what} {where} of a {size}-byte block"


def parse_report(text: str, learner: list[str] = ()) -> list[Finding]:
    """Findings from sanitizer output (stderr). `learner`: the learner's file names, to pick frames."""
    learner = [Path(x).name for x in learner]
    findings: list[Finding] = []
    # UBSan: "file.c:12:5: runtime error: signed integer overflow: ..."
    for m in re.finditer(r"^(\S+?):(\d+):\d+: runtime error: (.+)$", text, re.M):
        rest = text[m.end():]
        stack = _stack_for(rest.split("runtime error:")[0] if "runtime error:" in rest else rest)
        where = Frame("?", m.group(1), int(m.group(2)))
        picked = _pick(stack, learner)
        if picked and picked.file.endswith(m.group(1).split("/")[-1]) and picked.line == where.line:
            where = picked
        findings.append(Finding("UndefinedBehaviorSanitizer", "undefined behaviour", m.group(3).strip(), where,
                                stack, raw=m.group(0)))
    # ASan: "==123==ERROR: AddressSanitizer: heap-buffer-overflow on address ..."
    m = re.search(r"^==\d+==ERROR: AddressSanitizer: (.+?)(?: on (?:unknown )?address.*| \(.*)?$", text, re.M)
    if m:
        kind = m.group(1).strip()
        if kind.startswith("SEGV"):
            kind = "SEGV on unknown address"
        body = text[m.end():]
        body = body.split("SUMMARY:")[0]
        stack = _stack_for(body)
        detail = _describe_access(body) if re.search(r"^(READ|WRITE) of size", body, re.M) else ""
        mm = re.match(r"alloc-dealloc-mismatch \((.*?)\)", m.group(0).split("AddressSanitizer: ", 1)[1])
        if mm:
            kind, detail = "alloc-dealloc-mismatch", f"allocated and released by different families ({mm.group(1)})"
        if kind.startswith("invalid alignment requested in aligned_alloc"):
            am = re.search(r"aligned_alloc: (\d+), .*requested size (0x[0-9a-f]+)", kind)
            detail = (f"aligned_alloc({am.group(1)}, {int(am.group(2), 16)}): the size must be a multiple of the "
                      "alignment, and the alignment a power of two") if am else kind
            kind = "invalid aligned_alloc"
        if kind == "unknown-crash":
            kind = "wild pointer"
            detail = (detail + " " if detail else "") + "outside every block this program allocated"
        if kind == "SEGV on unknown address":
            a = re.search(r"SEGV on unknown address (0x[0-9a-f]+)", text)
            hint = re.search(r"The signal is caused by a (READ|WRITE) memory access", text)
            detail = (f"a {hint.group(1).lower()} at " if hint else "an access at ") + (a.group(1) if a else "?")
            if a and int(a.group(1), 16) < 4096:
                detail += " (a NULL pointer, or close to one)"
        fr = re.search(r"^freed by thread \S+ here:\n((?:\s*#.*\n?)+)", body, re.M)
        al = re.search(r"^(?:previously )?allocated by thread \S+ here:\n((?:\s*#.*\n?)+)", body, re.M)
        parts = []
        if fr:
            f = _pick(_frames(fr.group(1)), learner)
            if f:
                parts.append(f"the block was freed at {f}")
        if al:
            f = _pick(_frames(al.group(1)), learner)
            if f:
                parts.append(f"the block was allocated at {f}")
        origin = "\n  ".join(parts)
        findings.insert(0, Finding("AddressSanitizer", kind, detail, _pick(stack, learner), _useful(stack), origin,
                                   raw=text[m.start():m.start() + 3000]))
    # LSan: "Direct leak of 40 byte(s) in 1 object(s) allocated from:"
    for lm in re.finditer(r"^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\) allocated from:\n"
                          r"((?:\s*#.*\n?)+)", text, re.M):
        frames = _frames(lm.group(4))
        where = _pick(frames, learner)
        n, blocks = int(lm.group(2)), int(lm.group(3))
        detail = f"{n} bytes in {blocks} block{'s' if blocks != 1 else ''} never freed"
        if lm.group(1) == "Indirect":
            detail += " (reachable only through another leaked block)"
        findings.append(Finding("LeakSanitizer", "memory leak", detail, where, _useful(frames),
                                "allocated there; nothing freed it before the program ended", raw=lm.group(0)))
    for f in findings:
        f.learner = list(learner)
    # Direct leaks first, then learner frames first
    findings.sort(key=lambda f: (f.tool == "LeakSanitizer" and "Indirect" in f.raw,
                                 not (f.where and Path(f.where.file).name in learner)))
    return findings


# ------------------------------------------------------------------------------- running a driver

def learner_sources(kata) -> list[Path]:
    return [kata.file(f) for f in kata.kata.files if Path(f).suffix in (".c", ".cc", ".cpp", ".cxx")]


def build_sanitized(kata, driver: str, extra_flags: list[str] = ()) -> Path:
    """driver (a file beside the tests) + the learner's C/C++ files, built with ASan and UBSan."""
    sources = [kata.support(driver), *learner_sources(kata)]
    cxx = any(Path(s).suffix != ".c" for s in sources)
    built = build_program(sources, root=kata.root, include_dirs=kata.include_dirs, flags=[*SAN_FLAGS, *extra_flags],
                          libs=[*SAN_LINK, "-lm"] + (["-lstdc++"] if cxx else []))
    return built.path


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    findings: list[Finding]


def run_sanitized(program: Path, args=(), *, learner: list[str] = (), timeout: float = 60.0, leaks: bool = True) -> Run:
    """Run a sanitized driver (learner code: through native.launch, in the sandbox when the judge is
    separate). AddressSanitizer reserves terabytes of address space, so the run has no address-space
    limit; ASan's own hard_rss_limit_mb bounds its memory instead."""
    from native import launch

    env = {"LC_ALL": "C",
           "ASAN_OPTIONS": ASAN_OPTIONS.replace("detect_leaks=1", f"detect_leaks={int(leaks)}") + ":hard_rss_limit_mb=6144",
           "UBSAN_OPTIONS": UBSAN_OPTIONS, "LSAN_OPTIONS": LSAN_OPTIONS}
    try:
        ran = launch.run([str(program), *map(str, args)], timeout=timeout, env=env, memory_limit=False)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"TIME-OUT: the sanitizer run ran past {timeout:.0f} s (an endless loop?)") from None
    return Run(ran.returncode, ran.stdout, ran.stderr, parse_report(ran.stderr, learner))


def check_program(kata, driver: str, args=(), *, leaks: bool = True, timeout: float = 60.0,
                  extra_flags: list[str] = ()) -> Run:
    """Build and run a driver under ASan/UBSan (and LSan); raise on the first report.

    Raises NotImplementedYet if the driver printed 'not implemented yet: ...' (a stub), SanitizerError
    with a short message naming the learner's file and line, or ProgramFailed with the driver's own
    complaint when it exits non-zero by itself."""
    __tracebackhide__ = True
    prog = build_sanitized(kata, driver, list(extra_flags))
    run = run_sanitized(prog, args, learner=list(kata.kata.files), timeout=timeout, leaks=leaks)
    for line in run.stderr.splitlines():
        if line.startswith("not implemented yet:"):
            raise NotImplementedYet(line + " (remove KATA_TODO() and write it)")
    if run.findings:
        f = run.findings[0]
        more = len(run.findings) - 1
        msg = f.message() + (f"\n  ({more} more report(s) after this one)" if more > 0 else "")
        shown = " ".join(Path(str(a)).name if os.sep in str(a) else str(a) for a in args)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        msg += f"\n  (found by running {driver}{' ' + shown if shown else ''}, built with -fsanitize=address,undefined)"
        raise SanitizerError(msg)
    if run.returncode != 0:
        if run.returncode < 0:
            from kata.signals import describe_signal
            raise ProgramFailed(f"{driver} died with {describe_signal(-run.returncode)} under the sanitizers:\n"
                                + run.stderr[-1500:])
        tail = "\n".join(l for l in run.stderr.splitlines() if not l.startswith("=="))[-1500:]
        raise ProgramFailed(f"{driver} {' '.join(map(str, args))}: exit {run.returncode}\n{tail}")
    return run


# ---------------------------------------------------------------------------- counting allocations

COUNT_CDEF = """
void kata_alloc_counts(long *out);
void kata_alloc_reset(void);
long kata_alloc_live(int *kinds, long *sizes, long *sites, long max);
"""


@dataclass
class Counts:
    allocs: int
    frees: int
    maps: int
    unmaps: int
    opens: int
    closes: int
    foreign_frees: int   # free() of pointers not allocated through the counted calls
    live_bytes: int
    peak_bytes: int

    @property
    def live_blocks(self) -> int:
        return self.allocs - self.frees


class CountedLibrary(NativeLibrary):
    """A learner library whose malloc/free/mmap/open calls are counted (native/sanitize/alloc_count.c)."""

    def counts(self) -> Counts:
        buf = self.ffi.new("long[10]")
        self.lib.kata_alloc_counts(buf)
        return Counts(*[int(buf[i]) for i in (0, 1, 2, 3, 4, 5, 6)], int(buf[8]), int(buf[9]))

    def reset_counts(self) -> None:
        self.lib.kata_alloc_reset()

    def live(self, max_items: int = 64) -> list[tuple[str, int, str]]:
        """(kind, size, 'file:line in function()') of each thing still allocated, mapped or open."""
        kinds = self.ffi.new("int[]", max_items)
        sizes = self.ffi.new("long[]", max_items)
        sites = self.ffi.new("long[]", max_items)
        n = self.lib.kata_alloc_live(kinds, sizes, sites, max_items)
        where = self._symbolize([int(sites[i]) for i in range(n)])
        return [(KINDS.get(int(kinds[i]), "?"), int(sizes[i]), where[i]) for i in range(n)]

    def _symbolize(self, offsets: list[int]) -> list[str]:
        if not offsets or shutil.which("addr2line") is None:
            return ["?"] * len(offsets)
        proc = subprocess.run(["addr2line", "-f", "-C", "-e", str(self.path), *[hex(max(o - 1, 0)) for o in offsets]],
                              capture_output=True, text=True)
        lines = proc.stdout.splitlines()
        out = []
        for i in range(len(offsets)):
            fn, loc = (lines[2 * i], lines[2 * i + 1]) if 2 * i + 1 < len(lines) else ("?", "?")
            loc = re.sub(r" \(discriminator \d+\)", "", loc)
            fn = re.sub(r"\(.*\)$", "", fn)
            out.append(f"{_relative(loc)} in {fn}()")
        return out

    def assert_no_leaks(self, *, after: str, allow_blocks: int = 0) -> None:
        """Fail if anything the learner allocated, mapped or opened is still live."""
        __tracebackhide__ = True
        c = self.counts()
        live = self.live()
        if len(live) <= allow_blocks:
            return
        total = sum(s for k, s, _ in live if k == "heap block")
        kinds = {}
        for k, s, w in live:
            kinds.setdefault(k, []).append((s, w))
        parts = []
        for k, items in kinds.items():
            parts.append(f"{len(items)} {k}{'s' if len(items) != 1 else ''}")
        verb = "are" if len(live) > 1 else "is"
        lines = [f"LEAK: after {after}, {', '.join(parts)} from your code {verb} still live"
                 + (f" ({total} byte{'s' if total != 1 else ''} on the heap)" if total else "") + ":"]
        shown = {}
        for k, s, w in live:
            shown.setdefault((k, w), []).append(s)
        for (k, w), sizes in list(shown.items())[:6]:
            if k.startswith("heap") or k.startswith("mapping"):
                size = (f"{sizes[0]} byte{'s' if sizes[0] != 1 else ''}" if len(sizes) == 1 else
                        f"{len(sizes)} x ({', '.join(map(str, sizes[:3]))}{'...' if len(sizes) > 3 else ''} bytes)")
                lines.append(f"  {k}, {size}, {'mapped' if k.startswith('mapping') else 'allocated'} at {w}: never "
                             f"{'unmapped' if k.startswith('mapping') else 'freed'}")
            else:
                lines.append(f"  {k}{'' if len(sizes) == 1 else f' x {len(sizes)}'}, opened at {w}: never closed")
        lines.append(f"  (counted: {c.allocs} allocation(s), {c.frees} free(s), {c.maps} mmap / {c.unmaps} munmap, "
                     f"{c.opens} open / {c.closes} close)")
        lines.append("  Every malloc needs its free, every mmap its munmap, every open its close: on the error "
                     "paths too.")
        raise LeakError("\n".join(lines))


def _relative(loc: str) -> str:
    if loc.startswith("/"):
        parts = Path(loc).parts
        for anchor in ("katas", "solutions"):
            if anchor in parts:
                return str(Path(*parts[parts.index(anchor):]))
    return loc


def counted_library(kata, cdef: str, sources: list[str] | None = None, flags: list[str] = (),
                    extra_sources: list[Path] = (), include_impl: bool = False) -> CountedLibrary:
    """Build the learner's sources with the counting wrapper (cached) and load them with cffi.

    `extra_sources`: test-side files linked in too (their allocations are counted as well).
    `include_impl`: put the implementation's folder first on the include path (a learner header)."""
    key = ("counted", cdef, tuple(sources or ()), tuple(flags), tuple(map(str, extra_sources)), include_impl)
    return kata.cached(key, lambda: _build_counted(kata, cdef, sources, flags, extra_sources, include_impl))


def _build_counted(kata, cdef, sources, flags, extra_sources, include_impl) -> CountedLibrary:
    files = [kata.file(s) for s in sources] if sources else learner_sources(kata)
    files += [Path(p) for p in extra_sources]
    cxx = any(p.suffix != ".c" for p in files)
    extra = [COUNT_C] + ([COUNT_CXX] if cxx else [])
    libs = ["-lm", "-Wl,--wrap=" + ",--wrap=".join(WRAPPED)] + (["-Wl,-Bsymbolic"] if cxx else [])
    incs = ([kata.impl] if include_impl else []) + kata.include_dirs
    built = build_library([*files, *extra], root=kata.root, include_dirs=incs, flags=list(flags), libs=libs)
    return kata.load_native(built.path, cdef + COUNT_CDEF, "counted")
