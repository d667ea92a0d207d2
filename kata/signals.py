"""What a signal that killed a process means, in words a learner can act on.

Pure standard library (no pytest, no native code): shared by the test isolation (kata.isolation),
the grader (kata.grade) and the sanitizer runs (native.sanitize).
"""
from __future__ import annotations

import signal

SIGNAL_HINTS = {
    "SIGSEGV": "segmentation fault: the code touched memory it does not own (an index past the end, a "
               "wrong stride, a bad pointer)",
    "SIGBUS": "bus error: a misaligned or unmapped access (mmap past the end of a file?)",
    "SIGFPE": "arithmetic exception: integer division by zero or overflow",
    "SIGILL": "illegal instruction: an instruction this CPU (or valgrind) cannot run, e.g. AVX-512",
    "SIGABRT": "abort: a failed assert(), or the C library found a corrupted heap (double free, overflow)",
    "SIGKILL": "killed from outside: out of memory?",
}

# Where to look first, by the kata's language, for a segmentation fault.
SEGV_HINTS = {
    "triton": "in a Triton kernel this is an out-of-bounds store: check that every tl.store has a mask "
              "that is false past the end of the tensor",
    "asm": "in assembly: a wrong address computation (scale or displacement), a read past the end, or "
           "an unbalanced push/pop before ret",
    "c": "in C: check loop bounds (< n, not <= n), index arithmetic (row * stride + col) and pointer sizes",
    "cpp": "in C++: a use after move or free, an index past the end, or a dangling reference",
}


def describe_signal(signum: int, language: str | None = None) -> str:
    """"SIGSEGV (segmentation fault: ...)": the signal's name and what it usually means."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    hint = SIGNAL_HINTS.get(name, "")
    if name == "SIGSEGV" and language in SEGV_HINTS:
        hint += "; " + SEGV_HINTS[language]
    return f"{name}" + (f" ({hint})" if hint else "")
