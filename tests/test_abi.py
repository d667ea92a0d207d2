"""Tests of the ABI checker (native/abi/abi_call.S and native/abi.py).

Tiny assembly functions, each breaking (or keeping) one rule of the System V AMD64 calling
convention, are built with the trampoline into one library; every call goes through native.abi.
Run: python -m pytest tests/test_abi.py -p no:cacheprovider
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from native import abi
from native.build import build_library
from native.ffi import NativeLibrary, NotImplementedYet

ROOT = Path(__file__).resolve().parents[1]

CALLEE_SAVED = abi.CALLEE_SAVED


def _func(name: str, body: str) -> str:
    return f"""
        .globl  {name}
        .type   {name}, @function
{name}:
{body}
        .size   {name}, .-{name}
"""


def _sources() -> str:
    parts = ["        .text"]
    for i, reg in enumerate(abi.ARG_REGS):
        parts.append(_func(f"arg{i}", f"        movq %{reg}, %rax\n        ret"))
    for reg in CALLEE_SAVED:
        parts.append(_func(f"clobber_{reg}", f"        movq $0x1234, %{reg}\n        movq %rdi, %rax\n        ret"))
        parts.append(_func(f"push_nopop_{reg}", f"        pushq %{reg}\n        movq %rdi, %rax\n        ret"))
    parts += [
        _func("clobber_two", "        xorl %ebx, %ebx\n        xorl %r12d, %r12d\n        ret"),
        _func("clobber_all", "\n".join(f"        movq $-1, %{r}" for r in CALLEE_SAVED) + "\n        ret"),
        _func("read_rcx", "        movq %rcx, %rax\n        ret"),
        _func("read_r9", "        movq %r9, %rax\n        ret"),
        # uses every callee-saved register, but saves and restores them: clean
        _func("saves_all", "\n".join(f"        pushq %{r}" for r in CALLEE_SAVED) + "\n"
              + "\n".join(f"        movq $7, %{r}" for r in CALLEE_SAVED) + "\n"
              + "        leaq (%rdi,%rsi), %rax\n"
              + "\n".join(f"        popq %{r}" for r in reversed(CALLEE_SAVED)) + "\n        ret"),
        _func("add2", "        leaq (%rdi,%rsi), %rax\n        ret"),
        _func("extra_pop", "        popq %rcx\n        ret"),
        _func("rsp_low", "        popq %r11\n        subq $8, %rsp\n        jmpq *%r11"),
        _func("rsp_high", "        popq %r11\n        addq $8, %rsp\n        jmpq *%r11"),
        _func("set_df", "        std\n        ret"),
        _func("set_mxcsr_rounding", "        stmxcsr -4(%rsp)\n        orl $0x6000, -4(%rsp)\n"
                                    "        ldmxcsr -4(%rsp)\n        ret"),
        _func("set_mxcsr_status", "        stmxcsr -4(%rsp)\n        orl $0x0001, -4(%rsp)\n"
                                  "        ldmxcsr -4(%rsp)\n        ret"),
        _func("set_x87cw", "        fnstcw -2(%rsp)\n        orw $0x0c00, -2(%rsp)\n        fldcw -2(%rsp)\n        ret"),
        _func("smash_frame", "        movq $0, 8(%rsp)\n        ret"),
        _func("use_red_zone", "        movq %rdi, -8(%rsp)\n        movq $0, -128(%rsp)\n"
                              "        movq -8(%rsp), %rax\n        ret"),
        _func("misalignment", "        leaq 8(%rsp), %rax\n        andq $15, %rax\n        ret"),
        _func("read_rax", "        ret"),
        _func("read_r10", "        movq %r10, %rax\n        ret"),
        _func("echo32", "        movl %edi, %eax\n        ret"),
        _func("widen_wrong", "        movq %rdi, %rax\n        ret"),
        _func("widen_right", "        movslq %edi, %rax\n        ret"),
        _func("neg32", "        movl %edi, %eax\n        negl %eax\n        ret"),
        _func("ret_ptr", "        leaq 8(%rdi), %rax\n        ret"),
        _func("stub", "        leaq .Lwhere(%rip), %rdi\n        jmp kata_todo@PLT"),
        _func("sum_arr", "        xorl %eax, %eax\n        xorl %ecx, %ecx\n        jmp 2f\n"
                         "1:      addq (%rdi,%rcx,8), %rax\n        incq %rcx\n"
                         "2:      cmpq %rsi, %rcx\n        jl 1b\n        ret"),
        _func("first_byte", "        movzbl (%rdi), %eax\n        ret"),
        # Calls kata_abi_call(fn, 0, ...) with known values in its own callee-saved registers and
        # returns 1 if they survived the call, whatever fn did to them.
        _func("caller_keeps_registers",
              "\n".join(f"        pushq %{r}" for r in CALLEE_SAVED) + "\n"
              "        subq $8, %rsp\n"
              + "\n".join(f"        movabsq ${0x1111111111111111 * (i + 1):#x}, %{r}" for i, r in enumerate(CALLEE_SAVED))
              + "\n        xorl %esi, %esi\n        xorl %edx, %edx\n        xorl %ecx, %ecx\n"
              "        xorl %r8d, %r8d\n        xorl %r9d, %r9d\n"
              "        subq $16, %rsp\n        movq $0, (%rsp)\n"
              "        call kata_abi_call@PLT\n"
              "        addq $16, %rsp\n        xorl %eax, %eax\n"
              + "\n".join(f"        movabsq ${0x1111111111111111 * (i + 1):#x}, %r11\n"
                          f"        cmpq %r11, %{r}\n        jne 9f" for i, r in enumerate(CALLEE_SAVED))
              + "\n        movl $1, %eax\n"
              "9:      addq $8, %rsp\n"
              + "\n".join(f"        popq %{r}" for r in reversed(CALLEE_SAVED)) + "\n        ret"),
        "        .section .rodata\n.Lwhere: .asciz \"planted.s: stub()\"",
        '        .section .note.GNU-stack,"",@progbits',
    ]
    return "\n".join(parts) + "\n"


CDEF = "\n".join(
    [f"long arg{i}(long, long, long, long, long, long);" for i in range(6)]
    + [f"long clobber_{r}(long); long push_nopop_{r}(long);" for r in CALLEE_SAVED]
    + """
long clobber_two(void); long clobber_all(void); long saves_all(long, long); long add2(long, long);
long extra_pop(void); long rsp_low(void); long rsp_high(void); void set_df(void);
void set_mxcsr_rounding(void); void set_mxcsr_status(void); void set_x87cw(void); void smash_frame(void);
long read_rcx(long); long read_r9(long, long, long); long use_red_zone(long); long misalignment(void); long read_rax(void); long read_r10(void);
int echo32(int); long widen_wrong(int); long widen_right(int); int neg32(int); char *ret_ptr(char *);
long stub(long); long sum_arr(const long *, long); int first_byte(const char *);
long caller_keeps_registers(void *fn);
""".splitlines())


@pytest.fixture(scope="module")
def lib(tmp_path_factory) -> NativeLibrary:
    d = tmp_path_factory.mktemp("abi")
    src = d / "planted.s"
    src.write_text(_sources())
    built = build_library([src, abi.SOURCE], root=ROOT)
    return NativeLibrary(built.path, CDEF)


@pytest.fixture(scope="module")
def f(lib) -> abi.Checked:
    return abi.checked(lib)


def violation(f, name, *args) -> str:
    with pytest.raises(abi.AbiViolation) as e:
        getattr(f, name)(*args)
    return str(e.value)


# ------------------------------------------------------------------------------- clean functions


def test_arguments_arrive_in_order(f):
    args = (11, -22, 33, -44, 55, -66)
    for i in range(6):
        got = getattr(f, f"arg{i}")(*args)
        assert got == args[i], f"arg{i} returned {got}: argument {i + 1} should arrive in {abi.ARG_REGS[i]}"


def test_full_64_bit_values_pass_through(f):
    for v in (0, 1, -1, 2**63 - 1, -(2**63), 0x0123456789ABCDEF):
        assert f.arg5(0, 0, 0, 0, 0, v) == v  # the sixth argument goes through the stack of the trampoline
        assert f.arg0(v, 0, 0, 0, 0, 0) == v


def test_clean_function_passes(f):
    assert f.add2(2, 40) == 42
    assert f.add2(2**62, 2**62) == -(2**63)  # wraps like the hardware


def test_saving_and_restoring_every_register_passes(f):
    assert f.saves_all(5, 6) == 11


def test_red_zone_is_allowed(f):
    assert f.use_red_zone(99) == 99


def test_stack_is_16_byte_aligned_at_the_call(f):
    assert f.misalignment() == 0, "rsp + 8 on entry must be a multiple of 16"


def test_many_calls_stay_clean(f):
    for i in range(2000):
        assert f.add2(i, 1) == i + 1
    assert f.last_violations() == 0


def test_a_violation_does_not_stick(f):
    violation(f, "clobber_rbx", 1)
    assert f.add2(1, 2) == 3
    assert f.last_violations() == 0


# ------------------------------------------------------------------------------ callee-saved regs


@pytest.mark.parametrize("reg", CALLEE_SAVED)
def test_catches_each_clobbered_register(f, reg):
    msg = violation(f, f"clobber_{reg}", 5)
    first = msg.splitlines()[0]
    assert first == (f"ABI VIOLATION: clobber_{reg} changed {reg} (callee-saved) without restoring it: "
                     "push it in the prologue and pop it before ret"), msg
    others = [r for r in CALLEE_SAVED if r != reg]
    assert not any(re.search(rf"\b{r}\b", first) for r in others), f"blames other registers too: {first}"


def test_names_two_registers(f):
    first = violation(f, "clobber_two").splitlines()[0]
    assert first == ("ABI VIOLATION: clobber_two changed rbx and r12 (callee-saved) without restoring them: "
                     "push them in the prologue and pop them before ret")


def test_names_all_six(f):
    first = violation(f, "clobber_all").splitlines()[0]
    assert "changed rbx, rbp, r12, r13, r14 and r15 (callee-saved)" in first


def test_message_shows_the_call(f):
    msg = violation(f, "clobber_r13", 77)
    assert "clobber_r13(77)" in msg
    assert "rax, rcx, rdx, rsi, rdi, r8, r9, r10, r11" in msg  # what they could have used instead


def test_callers_registers_are_restored(lib):
    # kata_abi_call called from assembly that keeps values in rbx..r15 across the call: they survive
    # even though the callee destroyed all six.
    fn = lib.ffi.cast("void *", lib.ffi.addressof(lib.lib, "clobber_all"))
    assert lib.lib.caller_keeps_registers(fn) == 1
    fn = lib.ffi.cast("void *", lib.ffi.addressof(lib.lib, "push_nopop_r12"))
    assert lib.lib.caller_keeps_registers(fn) == 1


# ----------------------------------------------------------------------------------- the stack


@pytest.mark.parametrize("reg", CALLEE_SAVED)
def test_push_without_pop_is_reported_not_a_crash(f, reg):
    msg = violation(f, f"push_nopop_{reg}", 1)
    first = msg.splitlines()[0]
    assert "left its stack unbalanced" in first and f"the {reg} you pushed" in first, msg
    assert "8 bytes off" in first and f"pop {reg}" in first, msg


def test_extra_pop(f):
    msg = violation(f, "extra_pop")
    assert "popped more than it pushed" in msg.splitlines()[0], msg


@pytest.mark.parametrize("name,word", [("rsp_low", "lower"), ("rsp_high", "higher")])
def test_rsp_not_restored(f, name, word):
    msg = violation(f, name)
    assert f"rsp 8 bytes {word} than on entry" in msg, msg


def test_write_into_callers_frame(f):
    msg = violation(f, "smash_frame")
    assert "wrote into its caller's stack frame" in msg, msg


# ------------------------------------------------------------------------------ flags and control


def test_direction_flag(f):
    msg = violation(f, "set_df")
    assert "direction flag" in msg and "cld" in msg, msg
    f.add2(1, 1)
    assert bytes(bytearray(b"abc" * 1000)) == b"abc" * 1000  # memcpy still copies forwards: DF was cleared


def test_mxcsr_control_bits(f):
    msg = violation(f, "set_mxcsr_rounding")
    assert "MXCSR" in msg, msg
    # restored: round-to-nearest again (1/3 rounds differently toward zero)
    x = np.float32(1.0) / np.float32(3.0)
    assert x == np.float32(0.33333334), f"MXCSR was not restored: 1/3 = {x!r}"


def test_mxcsr_status_bits_are_free(f):
    f.set_mxcsr_status()  # status flags are caller-saved: no violation


def test_x87_control_word(f):
    msg = violation(f, "set_x87cw")
    assert "x87 control word" in msg, msg


# ------------------------------------------------------------------------------ junk on entry


def test_rax_and_r10_hold_junk(f):
    assert f.read_rax() & ((1 << 64) - 1) == abi.POISON_RAX
    assert f.read_r10() & ((1 << 64) - 1) == abi.POISON_R10


def test_unused_argument_registers_hold_junk(f):
    # rcx is the fourth argument register: a one-argument function finds junk there, not 0
    assert f.read_rcx(0) == abi.wrap(abi.entry_junk(1)["rcx"])
    assert f.read_r9(0, 0, 0) == abi.wrap(abi.entry_junk(3)["r9"])
    junk = abi.entry_junk(0)
    assert len(set(junk.values())) == len(junk) == 8
    assert all(v != 0 for v in junk.values())


def test_int_arguments_have_junk_upper_halves(f):
    assert f.echo32(-5) == -5
    assert f.neg32(7) == -7
    assert f.widen_right(-5) == -5
    wrong = f.widen_wrong(-5)
    assert wrong != -5 and wrong & 0xFFFFFFFF == (-5) & 0xFFFFFFFF, (
        f"widen_wrong(-5) returned {wrong:#x}: the upper half of a 32-bit argument should be junk")


def test_int_result_is_cut_to_32_bits(f):
    # echo32 leaves the junk upper half of rdi out of eax; the wrapper must read only eax anyway
    assert f.neg32(-(2**31) + 1) == 2**31 - 1


def test_out_of_range_int_is_refused(f):
    with pytest.raises(OverflowError):
        f.echo32(2**31)


# ------------------------------------------------------------------------------ pointers, stubs


def test_numpy_array_as_pointer(f):
    a = np.arange(1, 11, dtype=np.int64)
    assert f.sum_arr(a, len(a)) == 55
    assert f.sum_arr(a[3:], 7) == sum(range(4, 11))


def test_wrong_dtype_is_refused(f):
    with pytest.raises(TypeError, match="int32"):
        f.sum_arr(np.arange(4, dtype=np.int32), 4)


def test_non_contiguous_is_refused(f):
    with pytest.raises(TypeError, match="non-contiguous"):
        f.sum_arr(np.arange(8, dtype=np.int64)[::2], 4)


def test_bytes_and_addresses_as_pointers(f):
    assert f.first_byte(b"\xfeabc") == 0xFE
    buf = np.frombuffer(b"xyz\0", dtype=np.uint8)
    assert f.first_byte(buf) == ord("x")
    assert f.first_byte(buf.ctypes.data + 1) == ord("y")
    assert f.ret_ptr(buf.ctypes.data) == buf.ctypes.data + 8


def test_stub_raises_not_implemented(f):
    with pytest.raises(NotImplementedYet, match=r"not implemented yet: planted\.s: stub\(\)"):
        f.stub(1)
    assert f.add2(1, 1) == 2  # the mark was taken: the next call is clean


def test_wrong_argument_count(f):
    with pytest.raises(TypeError, match="takes 2 arguments"):
        f.add2(1)


def test_unknown_function(f):
    with pytest.raises(AttributeError, match="no function nope"):
        f.nope()


def test_library_without_trampoline(tmp_path):
    src = tmp_path / "plain.s"
    src.write_text(_func("add2", "        leaq (%rdi,%rsi), %rax\n        ret") +
                   '        .section .note.GNU-stack,"",@progbits\n')
    built = build_library([src], root=ROOT)
    plain = NativeLibrary(built.path, "long add2(long, long);")
    with pytest.raises(abi.TrampolineMissing, match="extra_sources"):
        abi.call(plain, "add2", 1, 2)


def test_violation_message_text():
    assert abi.violation_message("sum_i64", 0b101).splitlines()[0] == (
        "ABI VIOLATION: sum_i64 changed rbx and r12 (callee-saved) without restoring them: push them in the "
        "prologue and pop them before ret")
