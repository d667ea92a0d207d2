"""System calls counted in learner C, deterministically (no strace: link-time interposition).

`syscall_library(kata, cdef)` builds the learner's sources like `native.sanitize.counted_library` (their
malloc/free/mmap/munmap/open/close counted, leaks named by line) and also wraps read, pread, write,
pwrite, lseek and the stdio readers with native/oskit/sys_count.c (-Wl,--wrap=...). Only the learner's
objects are redirected: Python's own I/O is never counted.

    from native import oskit
    lib = oskit.syscall_library(kata, CDEF)
    lib.reset_sys(); ...; s = lib.sys_counts()    # s.read, s.pread, s.lseek, s.stdio, s.read_bytes ...
    lib.read_limit(7)                              # every read()/pread() returns at most 7 bytes
    lib.counts(), lib.assert_no_leaks(after=...)   # as in native.sanitize
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from native.build import build_library
from native.ffi import NativeLibrary
from native.sanitize import COUNT_C, WRAPPED, CountedLibrary, learner_sources

SYS_C = Path(__file__).resolve().parent / "oskit" / "sys_count.c"
SYS_WRAPPED = ["read", "pread", "write", "pwrite", "lseek", "fread", "fgetc", "getc", "fgets", "getline"]

_SYS_CDEF = """
void kata_sys_counts(long *out);
void kata_sys_reset(void);
void kata_sys_read_limit(long n);
"""


@dataclass
class SysCounts:
    read: int
    pread: int
    write: int
    pwrite: int
    lseek: int
    stdio: int        # fread/fgetc/getc/fgets/getline calls
    read_bytes: int   # bytes that read() and pread() returned

    @property
    def reads(self) -> int:
        """read() + pread() calls."""
        return self.read + self.pread


class SyscallLibrary(CountedLibrary):
    def sys_counts(self) -> SysCounts:
        buf = self.ffi.new("long[7]")
        self.lib.kata_sys_counts(buf)
        return SysCounts(*[int(buf[i]) for i in range(7)])

    def reset_sys(self) -> None:
        self.lib.kata_sys_reset()

    def read_limit(self, n: int) -> None:
        """Every read()/pread() returns at most n bytes from now on (0: no limit)."""
        self.lib.kata_sys_read_limit(n)


def syscall_library(kata, cdef: str, flags: list[str] = (), extra_sources: list[Path] = ()) -> SyscallLibrary:
    key = ("oskit", cdef, tuple(flags), tuple(map(str, extra_sources)))
    cache = kata._loaded
    if key in cache:
        return cache[key]
    files = [*learner_sources(kata), *map(Path, extra_sources)]
    wrap = ",".join(f"--wrap={name}" for name in [*WRAPPED, *SYS_WRAPPED])
    built = build_library([*files, COUNT_C, SYS_C], root=kata.root, include_dirs=kata.include_dirs, flags=list(flags),
                          libs=["-lm", f"-Wl,{wrap}"])
    from native.sanitize import COUNT_CDEF
    lib = kata.load_native(built.path, cdef + COUNT_CDEF + _SYS_CDEF, "syscall")
    cache[key] = lib
    return lib


# ------------------------------------------------------------------------------ threads counted

THREAD_C = Path(__file__).resolve().parent / "oskit" / "thread_count.c"
_THREAD_CDEF = """
void kata_thread_counts(long *out);
void kata_thread_reset(void);
"""


@dataclass
class ThreadCounts:
    creates: int
    joins: int
    outstanding: int   # created and not yet joined, now
    peak: int          # the most created-and-not-yet-joined at once


class ThreadLibrary(NativeLibrary):
    def thread_counts(self) -> ThreadCounts:
        buf = self.ffi.new("long[4]")
        self.lib.kata_thread_counts(buf)
        return ThreadCounts(*[int(buf[i]) for i in range(4)])

    def reset_threads(self) -> None:
        self.lib.kata_thread_reset()


def threads_library(kata, cdef: str, flags: list[str] = (), extra_sources: list[Path] = ()) -> ThreadLibrary:
    """The learner's sources with pthread_create/pthread_join counted (native/oskit/thread_count.c)."""
    key = ("oskit-threads", cdef, tuple(flags), tuple(map(str, extra_sources)))
    cache = kata._loaded
    if key in cache:
        return cache[key]
    files = [*learner_sources(kata), *map(Path, extra_sources)]
    built = build_library([*files, THREAD_C], root=kata.root, include_dirs=kata.include_dirs, flags=list(flags),
                          libs=["-lm", "-pthread", "-Wl,--wrap=pthread_create,--wrap=pthread_join"])
    lib = kata.load_native(built.path, cdef + _THREAD_CDEF, "threads")
    cache[key] = lib
    return lib
