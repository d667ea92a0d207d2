"""Call learner assembly through an ABI-checking trampoline (native/abi/abi_call.S).

    from native import abi

    lib = kata.library(CDEF, extra_sources=[abi.SOURCE])   # link the trampoline into the library
    checked = abi.checked(lib)
    checked.sum_i64(a, len(a))           # or: abi.call(lib, "sum_i64", a, len(a))

Each call goes through `kata_abi_call`, which poisons the callee-saved registers (rbx, rbp, r12-r15),
calls with rsp 16-byte aligned, and afterwards reports what the function broke. A broken rule raises
AbiViolation (an AssertionError) whose first line reads

    ABI VIOLATION: sum_i64 changed rbx and r12 (callee-saved) without restoring them: push them in
    the prologue and pop them before ret

A stub that still jumps to kata_todo raises native.ffi.NotImplementedYet instead.

Arguments: up to six integers or pointers, as the function's cdef declares them. numpy arrays, bytes
and bytearrays pass as pointers (numpy dtypes are checked against the pointee's size); a plain int
passed for a pointer is taken as an address. Argument registers the function does not take hold junk,
and so do the upper 32 bits of 32-bit parameters (the ABI leaves them undefined): code that reads a
register it was not given, or uses %rdi where it was given only %edi, gets junk back, as it would
from a real caller. The result is read from rax and cut to the declared return type.

The trampoline keeps its state in static storage: one call at a time per process.
"""
from __future__ import annotations

from pathlib import Path

import cffi
import numpy as np

from native.ffi import NativeLibrary, NotImplementedYet

SOURCE = Path(__file__).resolve().parent / "abi" / "abi_call.S"

CALLEE_SAVED = ("rbx", "rbp", "r12", "r13", "r14", "r15")
ARG_REGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
SCRATCH = ("rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11")

BIT_RSP, BIT_DF, BIT_MXCSR, BIT_X87CW, BIT_FRAME, BIT_LANDED = 6, 7, 8, 9, 10, 11

_CDEF = """
long kata_abi_call(void *fn, long a0, long a1, long a2, long a3, long a4, long a5);
int kata_abi_clobbered(void);
long kata_abi_info(int what);
"""

# What the trampoline leaves in rax and r10 at the call (abi_call.S), and what an unused argument
# register holds: a function that reads a register it never set gets one of these back.
POISON_RAX = 0x5A5A5A5A5A5A5A5A
POISON_R10 = 0x0BADC0DE0BADC0DE
# The upper bits of a narrower-than-64-bit argument are filled from _JUNK_HIGH.
_JUNK_ARGS = [0x4A554E4B00000000 | (i << 8) | 0xA1 for i in range(6)]  # "JUNK"
_JUNK_HIGH = 0xDEADBEEF5A5A5A5A


def entry_junk(n_args: int) -> dict[str, int]:
    """Register -> the junk it holds on entry to a function of n_args integer/pointer arguments."""
    out = {"rax": POISON_RAX, "r10": POISON_R10}
    out.update({r: _JUNK_ARGS[i] for i, r in enumerate(ARG_REGS) if i >= n_args})
    return out


_INT_TYPES = {  # cffi primitive name -> (bits, signed)
    "char": (8, True), "signed char": (8, True), "unsigned char": (8, False), "_Bool": (8, False),
    "short": (16, True), "unsigned short": (16, False), "int8_t": (8, True), "uint8_t": (8, False),
    "int16_t": (16, True), "uint16_t": (16, False),
    "int": (32, True), "unsigned int": (32, False), "int32_t": (32, True), "uint32_t": (32, False),
    "long": (64, True), "unsigned long": (64, False), "long long": (64, True),
    "unsigned long long": (64, False), "int64_t": (64, True), "uint64_t": (64, False),
    "size_t": (64, False), "ssize_t": (64, True), "intptr_t": (64, True), "uintptr_t": (64, False),
    "ptrdiff_t": (64, True),
}


class AbiViolation(AssertionError):
    """The function broke the System V AMD64 calling convention (see the message)."""

    learner_facing = True  # the harness shows the message alone, without a Python traceback


class TrampolineMissing(Exception):
    """The library was built without native/abi/abi_call.S: a mistake in the test, not the learner's."""


def wrap(v: int) -> int:
    """v as a signed 64-bit integer (two's complement), as a register holds it."""
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


def _from_bits(v: int, bits: int, signed: bool) -> int:
    v &= (1 << bits) - 1
    if signed and v >> (bits - 1):
        v -= 1 << bits
    return v


def _regs_phrase(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class _Trampoline:
    """The trampoline's three entry points, looked up in the learner's (already loaded) library."""

    _cache: dict[str, "_Trampoline"] = {}

    def __init__(self, path: Path):
        from kata.trust import refuse_learner_code_here
        refuse_learner_code_here(f"the library {path.name} (for the ABI checker)")
        self.ffi = cffi.FFI()
        self.ffi.cdef(_CDEF)
        self.lib = self.ffi.dlopen(str(path))  # the same path: the same loaded copy, the same state
        try:
            self.call = self.lib.kata_abi_call
            self.clobbered = self.lib.kata_abi_clobbered
            self.info = self.lib.kata_abi_info
        except AttributeError:
            raise TrampolineMissing(
                f"{path} has no kata_abi_call: build the library with "
                "kata.library(CDEF, extra_sources=[native.abi.SOURCE]) to check calls through it") from None

    @classmethod
    def of(cls, lib: NativeLibrary) -> "_Trampoline":
        key = str(lib.path)
        if key not in cls._cache:
            cls._cache[key] = cls(lib.path)
        return cls._cache[key]


class Checked:
    """Attribute access to a library's functions, each call going through the ABI trampoline."""

    def __init__(self, lib: NativeLibrary):
        self._lib = lib
        self._tramp = _Trampoline.of(lib)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def fn(*args):
            __tracebackhide__ = True  # pytest: show the test's line, not this wrapper
            return call(self._lib, name, *args)

        fn.__name__ = name
        return fn

    def last_violations(self) -> int:
        """The raw bit mask of the last call (bits 0-5: rbx rbp r12 r13 r14 r15, then BIT_*)."""
        return int(self._tramp.clobbered())


def checked(lib: NativeLibrary) -> Checked:
    """`checked(lib).fn(args)`: call lib's functions through the ABI trampoline."""
    return Checked(lib)


def _describe(value, ctype) -> str:
    if ctype.kind == "pointer" and isinstance(value, (int, np.integer)):
        return hex(int(value) & ((1 << 64) - 1))
    if isinstance(value, np.ndarray):
        return f"<{value.dtype} array of {value.size}>"
    if isinstance(value, (bytes, bytearray)):
        s = bytes(value)
        return repr(s if len(s) <= 40 else s[:37] + b"...")
    return repr(value)


def _convert(lib: NativeLibrary, name: str, i: int, value, ctype, keep: list) -> int:
    """One argument as the 64-bit value its register will hold."""
    ffi = lib.ffi
    where = f"{name}(): argument {i + 1} ({ctype.cname})"
    if ctype.kind == "pointer":
        if value is None:
            return 0
        if isinstance(value, np.ndarray):
            if not value.flags.c_contiguous:
                raise TypeError(f"{where}: the test passed a non-contiguous array")
            item = ctype.item
            if item.kind == "primitive" and ffi.sizeof(item) != value.dtype.itemsize:
                raise TypeError(f"{where}: the test passed a {value.dtype} array ({value.dtype.itemsize}-byte "
                                f"elements) for a pointer to {ffi.sizeof(item)}-byte {item.cname}")
            buf = ffi.from_buffer(value, require_writable=False)
            keep.append(buf)
            return int(ffi.cast("intptr_t", buf))
        if isinstance(value, (bytes, bytearray, memoryview)):
            buf = ffi.from_buffer(value, require_writable=False)
            keep.append(buf)
            return int(ffi.cast("intptr_t", buf))
        if isinstance(value, ffi.CData):
            keep.append(value)
            return int(ffi.cast("intptr_t", value))
        if isinstance(value, (int, np.integer)):
            return wrap(int(value))  # an address
        raise TypeError(f"{where}: cannot pass a {type(value).__name__} as a pointer")
    if ctype.kind != "primitive" or ctype.cname not in _INT_TYPES:
        raise TypeError(f"{where}: the ABI trampoline passes integers and pointers only (rdi..r9), "
                        f"not {ctype.cname}")
    if not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: expected an int, the test passed {type(value).__name__}")
    bits, signed = _INT_TYPES[ctype.cname]
    v = int(value)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not lo <= v <= hi:
        raise OverflowError(f"{where}: {v} does not fit")
    if bits == 64:
        return wrap(v)
    # The ABI defines only the low `bits` of the register: fill the rest with junk.
    low = (1 << bits) - 1
    return wrap((_JUNK_HIGH & ~low) | (v & low))


def call(lib: NativeLibrary, name: str, *args):
    """Call lib's function `name` through the ABI trampoline; raise AbiViolation on a broken rule."""
    __tracebackhide__ = True
    tramp = _Trampoline.of(lib)
    ffi = lib.ffi
    try:
        fn = getattr(lib.lib, name)
    except AttributeError:
        raise AttributeError(f"the library has no function {name}() (is it declared .globl and spelled "
                             "as in the README?)") from None
    ftype = ffi.typeof(fn)
    if len(args) != len(ftype.args):
        raise TypeError(f"{name}() takes {len(ftype.args)} arguments, the test passed {len(args)}")
    if len(args) > 6:
        raise TypeError(f"{name}(): the ABI trampoline passes at most six arguments (registers only)")
    keep: list = []
    regs = [_convert(lib, name, i, a, t, keep) for i, (a, t) in enumerate(zip(args, ftype.args))]
    regs += _JUNK_ARGS[len(regs):]
    lib.todo_taken()  # clear a stale mark
    addr = ffi.cast("intptr_t", ffi.addressof(lib.lib, name))
    raw = tramp.call(tramp.ffi.cast("void *", int(addr)), *[tramp.ffi.cast("long", r) for r in regs])
    mask = int(tramp.clobbered())
    rsp_delta = int(tramp.info(1))
    landed = int(tramp.info(2))
    del keep

    where = lib.todo_taken()
    if where:
        raise NotImplementedYet(f"not implemented yet: {where} (replace the stub's `lea`/`jmp kata_todo` "
                                "lines with your code)")
    if mask:
        shown = ", ".join(_describe(a, t) for a, t in zip(args, ftype.args))
        raise AbiViolation(violation_message(name, mask, rsp_delta, landed, f"{name}({shown})"))
    return _result(ftype.result, int(raw))


def _result(rtype, raw: int):
    if rtype.kind == "void":
        return None
    if rtype.kind == "pointer":
        return raw & ((1 << 64) - 1)
    if rtype.kind == "primitive" and rtype.cname in _INT_TYPES:
        bits, signed = _INT_TYPES[rtype.cname]
        return _from_bits(raw, bits, signed)
    raise TypeError(f"the ABI trampoline returns integers and pointers only (rax), not {rtype.cname}")


def violation_message(name: str, mask: int, rsp_delta: int = 0, landed: int = -1, call_text: str = "") -> str:
    """The learner-facing explanation of a violation mask from kata_abi_clobbered()."""
    regs = [r for i, r in enumerate(CALLEE_SAVED) if mask >> i & 1]
    lines: list[str] = []
    if mask >> BIT_LANDED & 1:
        if 0 <= landed < len(CALLEE_SAVED):
            r = CALLEE_SAVED[landed]
            first = (f"ABI VIOLATION: {name} left its stack unbalanced: its `ret` used the {r} you pushed as the "
                     f"return address (rsp was {abs(rsp_delta)} bytes off). Every "
                     f"push needs a matching pop before ret: pop {r} (pops in the reverse order of the pushes)")
        else:
            first = (f"ABI VIOLATION: {name} popped more than it pushed: its `ret` took a word from its caller's "
                     "stack frame as the return address. Pop exactly what you pushed, no more")
        lines.append(first)
        if regs:
            lines.append(f"  It also left {_regs_phrase(regs)} (callee-saved) changed.")
    elif regs:
        it = "them" if len(regs) > 1 else "it"
        lines.append(f"ABI VIOLATION: {name} changed {_regs_phrase(regs)} (callee-saved) without restoring "
                     f"{it}: push {it} in the prologue and pop {it} before ret")
    else:
        lines.append(f"ABI VIOLATION: {name} broke the System V AMD64 calling convention")
    if mask >> BIT_RSP & 1 and not mask >> BIT_LANDED & 1:
        lines.append(f"  It returned with rsp {abs(rsp_delta)} bytes {'lower' if rsp_delta < 0 else 'higher'} "
                     "than on entry: undo every sub/push on rsp before ret.")
    if mask >> BIT_FRAME & 1:
        lines.append("  It wrote into its caller's stack frame (above its own return address): your locals "
                     "live below rsp (sub $N, %rsp first) or in the 128-byte red zone below it, never at "
                     "8(%rsp) and up on entry.")
    if mask >> BIT_DF & 1:
        lines.append("  It returned with the direction flag set: after `std`, run `cld` before ret.")
    if mask >> BIT_MXCSR & 1:
        lines.append("  It changed the MXCSR control bits (rounding mode, exception masks) and did not put them "
                     "back: save them with stmxcsr and restore them with ldmxcsr before ret.")
    if mask >> BIT_X87CW & 1:
        lines.append("  It changed the x87 control word and did not restore it (fnstcw / fldcw).")
    if regs:
        lines.append(f"  The System V AMD64 ABI: rbx, rbp, r12, r13, r14, r15 (and rsp) must hold the caller's "
                     f"values again when you ret; {', '.join(SCRATCH)} are yours to overwrite. Using a scratch "
                     f"register instead needs no push at all.")
    if call_text:
        lines.append(f"  (the call: {call_text})")
    return "\n".join(lines)
