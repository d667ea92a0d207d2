"""x86-64 basics: sum_i64, max_i64 and my_strlen in assembly.

Every call goes through native.abi's trampoline, which poisons the callee-saved registers first and
fails the test if the function hands any of them (or rsp, or the direction flag) back changed.
Arrays sit between guard words, at chosen alignments, so reading one element too many or too few
gives a recognisable answer; strings also end right at the edge of an unmapped page. Then a
deterministic instruction count (callgrind) asks for an unrolled sum.
"""
import mmap
import signal

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from native import abi
from native.ffi import NotImplementedYet
from native.measure import MeasureError, callgrind

CDEF = """
long sum_i64(const long *a, long n);
long max_i64(const long *a, long n);
long my_strlen(const char *s);
"""

I64_MIN, I64_MAX = -(2**63), 2**63 - 1
# Guard words on both sides of every array: large, positive and unlike any test value, so a read
# of a[-1] or a[n] shows up in the answer and can be named.
GUARD_BEFORE = 0x7EEE_EEEE_EEEE_0001
GUARD_AFTER = 0x7EEE_EEEE_EEEE_0002
MARGIN = 8


class Functions:
    """The implementation under test: the library, built with the ABI trampoline, and the kata's probe
    (support/probes.py), which lays out the inputs and makes every call through the trampoline where
    the learner's code runs, and returns what it saw for the checks here."""

    def __init__(self, kata):
        self.lib = kata.library(CDEF, extra_sources=[abi.SOURCE])
        self.probe = kata.probe("probes.py")


def functions(kata) -> Functions:
    return Functions(kata)


def raise_violation(r: dict) -> None:
    """The ABI checker's finding on the call, raised here as the checked call would have raised it."""
    __tracebackhide__ = True
    if "violation" in r:
        raise abi.AbiViolation(r["violation"])


def show_array(values, offset) -> str:
    n = len(values)
    vals = [int(v) for v in values]
    body = ", ".join(map(str, vals)) if n <= 8 else ", ".join(map(str, vals[:6])) + ", ..., " + \
        ", ".join(map(str, vals[-2:]))
    where = f", a starts {8 * offset} bytes past a 64-byte boundary" if offset else ""
    return f"a = [{body}] (n = {n}{where})"


def call_on_words(f: Functions, fn: str, values, offset: int = 0) -> dict:
    """fn(a, n) on int64 values laid out (by the probe) with guard words around them, a[0] at a chosen
    offset (in words) past a 64-byte boundary, so code that assumes aligned arrays meets an unaligned
    one. Returns the probe's observations: the result or the ABI checker's message, where a[0] sat in
    the block ("start") and the block (guards included) after the call."""
    return f.probe.words(f.lib, fn, values, offset, GUARD_BEFORE, GUARD_AFTER, MARGIN)


def check_untouched(r: dict, values: list[int], fn: str, on: str) -> None:
    """The block after the call against what was laid out before it: guards, values, guards."""
    start, after = r["start"], r["after"]
    before = np.full(len(values) + 2 * MARGIN + 8, GUARD_AFTER, dtype=np.int64)
    before[:start] = GUARD_BEFORE
    before[start:start + len(values)] = np.asarray(values, dtype=np.int64)
    assert after.shape == before.shape, f"the probe's block has {after.size} words, expected {before.size}"
    changed = np.flatnonzero(after != before)
    if changed.size:
        i = int(changed[0]) - r["start"]
        raise AssertionError(
            f"{fn} wrote to memory on {on}: the word at a[{i}] changed from {int(before[changed[0]])} "
            f"to {int(after[changed[0]])} ({changed.size} word(s) in all). The array is const: "
            "read it, never store into it (a mov with the operands the wrong way round? In AT&T syntax the "
            "destination comes last).")


def junk_register(diff: int, n_args: int) -> str | None:
    for reg, junk in abi.entry_junk(n_args).items():
        if abi.wrap(diff) == abi.wrap(junk):
            return reg
    return None


def looks_32bit(got: int, want: int) -> bool:
    low = want & 0xFFFFFFFF
    return got != want and got in (low, low - (1 << 32) if low >> 31 else low)


# -------------------------------------------------------------------------------------------- sum


def explain(causes: list[str], fallback: str) -> str:
    """Every diagnosis that fits the wrong answer (an input can fit more than one), or the fallback."""
    if not causes:
        return fallback
    if len(causes) == 1:
        return causes[0]
    return "Either: " + "\n  Or: ".join(causes)


def explain_sum(got: int, want: int, values: list[int]) -> str:
    n = len(values)
    diff = abi.wrap(got - want)
    causes = []
    reg = junk_register(diff, 2)
    if reg:
        causes.append(f"The difference is exactly the junk that {reg} held on entry: an accumulator or counter "
                      "that was never set to zero (xorl %eax, %eax zeroes all of rax).")
    if diff == abi.wrap(GUARD_AFTER):
        causes.append("That is the right sum plus the word just past the end, a[n]: the loop runs once too "
                      "often (jle where jl belongs, or a bound of n + 1).")
    if diff == abi.wrap(GUARD_BEFORE):
        causes.append("That is the right sum plus the word before the array, a[-1]: the index starts at -1.")
    if n and got == abi.wrap(want - values[-1]):
        causes.append(f"That is the sum without the last element a[{n - 1}] = {values[-1]}: the loop stops one "
                      "early. It must run while i < n (compare with n itself, and jump back with jl, not when "
                      "i < n - 1).")
    if n > 1 and got == abi.wrap(want - values[0]):
        causes.append(f"That is the sum without the first element a[0] = {values[0]}: start at i = 0.")
    for k in (2, 4, 8, 16):
        if n > k and n % k and got == abi.wrap(sum(values[:n - n % k])):
            causes.append(f"That is the sum of the first {n - n % k} elements: the last {n % k} (what is left "
                          f"after whole blocks of {k}) were skipped. An unrolled loop needs a tail loop for the "
                          "leftovers.")
            break
    if looks_32bit(got, want):
        causes.append("That is the right sum cut to 32 bits: use the 64-bit registers and instructions "
                      "(%rax and addq, not %eax and addl).")
    if n == 0 and not causes:
        causes.append("With n = 0 the sum is 0 and no element may be read: test n before the first load (a "
                      "loop that checks its condition at the bottom runs once even when n = 0).")
    return explain(causes, "Compare with a sum you work out by hand for a small n (the README's hints walk "
                           "through the loop).")


def check_sum(f, values, offset=0):
    values = [int(v) for v in values]
    on = show_array(values, offset)
    r = call_on_words(f, "sum_i64", values, offset)
    raise_violation(r)
    check_untouched(r, values, "sum_i64", on)
    got = r["got"]
    want = abi.wrap(sum(values))
    if got != want:
        raise AssertionError(f"sum_i64 on {on}: returned {got}, expected {want}.\n  {explain_sum(got, want, values)}")


@pytest.mark.parametrize("values", [
    pytest.param([], id="empty"),
    pytest.param([7], id="one"),
    pytest.param([-7], id="one_negative"),
    pytest.param([1, 2], id="two"),
    pytest.param([1, 2, 3], id="three"),
    pytest.param([5, -3, 2, -4], id="mixed_signs"),
    pytest.param(list(range(1, 11)), id="1_to_10"),
    pytest.param([I64_MAX, 1], id="wraps_past_max"),
    pytest.param([I64_MIN, -1], id="wraps_past_min"),
    pytest.param([I64_MAX, I64_MAX, I64_MAX], id="wraps_three_times_max"),
    pytest.param([I64_MIN, I64_MAX], id="min_plus_max"),
    pytest.param([2**32, 2**32, -(2**33)], id="beyond_32_bits"),
    pytest.param([0xFFFFFFFF, 1], id="carry_out_of_32_bits"),
])
def test_sum_known(kata, values):
    check_sum(functions(kata), values)


@pytest.mark.parametrize("n", range(0, 40))
def test_sum_every_length(kata, n):
    # Lengths 0..39 at four alignments: whole blocks of 2, 4, 8, 16 plus every possible tail.
    f = functions(kata)
    values = [(i + 1) * (-1) ** i * 1000003 for i in range(n)]
    for offset in range(4):
        check_sum(f, values, offset)


@settings(max_examples=200)
@given(values=st.lists(st.integers(I64_MIN, I64_MAX), max_size=300), offset=st.integers(0, 7))
def test_sum_any(kata, values, offset):
    # The full int64 range: sums wrap around, as the hardware's addq does.
    check_sum(functions(kata), values, offset)


# -------------------------------------------------------------------------------------------- max


def explain_max(got: int, want: int, values: list[int]) -> str:
    n = len(values)
    causes = []
    if got == GUARD_AFTER:
        causes.append("That is the word just past the end, a[n]: the loop runs once too often (jle where jl "
                      "belongs).")
    if got == GUARD_BEFORE:
        causes.append("That is the word before the array, a[-1]: the index starts at -1.")
    reg = junk_register(got, 2)
    if reg:
        causes.append(f"That is the junk {reg} held on entry: it was returned without being set.")
    unsigned = max(values, key=lambda v: v & ((1 << 64) - 1))
    if got == unsigned:
        causes.append(f"{got} is the largest if the bits are read as unsigned numbers: the comparison is "
                      "unsigned (ja/jb/cmova/cmovb). For signed values use jg/jl/cmovg/cmovl.")
    if n > 1 and got == max(values[:-1]):
        causes.append(f"That is the largest of all but the last element; the last, a[{n - 1}] = {values[-1]}, "
                      "was never compared: the loop stops one early (it must run while i < n).")
    if n > 1 and got == max(values[1:]):
        causes.append("That ignores a[0]: start from max = a[0] (and loop from i = 1) or compare a[0] too.")
    if got == 0 and want < 0:
        causes.append("Every element here is negative, so a running maximum that starts at 0 never changes: "
                      "start from a[0].")
    if n > 1 and got == min(values):
        causes.append("That is the smallest element: the comparison (or the cmov) is the wrong way round.")
    if looks_32bit(got, want):
        causes.append("That is the right answer cut to 32 bits: use 64-bit registers and cmpq/movq.")
    return explain(causes, "Work it through by hand for this small input, one compare at a time.")


def check_max(f, values, offset=0):
    values = [int(v) for v in values]
    on = show_array(values, offset)
    r = call_on_words(f, "max_i64", values, offset)
    raise_violation(r)
    check_untouched(r, values, "max_i64", on)
    got = r["got"]
    want = max(values)
    if got != want:
        raise AssertionError(f"max_i64 on {on}: returned {got}, expected {want}.\n  {explain_max(got, want, values)}")


@pytest.mark.parametrize("values", [
    pytest.param([7], id="one"),
    pytest.param([-7], id="one_negative"),
    pytest.param([0], id="zero"),
    pytest.param([1, 2, 3], id="max_last"),
    pytest.param([3, 2, 1], id="max_first"),
    pytest.param([2, 3, 1], id="max_middle"),
    pytest.param([-3, -1, -2], id="all_negative"),
    pytest.param([-5, -5, -5], id="all_equal_negative"),
    pytest.param([-1, 1], id="minus_one_vs_one"),
    pytest.param([1, -1], id="one_vs_minus_one"),
    pytest.param([0, -1], id="zero_vs_minus_one"),
    pytest.param([I64_MIN], id="int64_min"),
    pytest.param([I64_MAX], id="int64_max"),
    pytest.param([I64_MIN, I64_MAX], id="min_then_max"),
    pytest.param([I64_MAX, I64_MIN], id="max_then_min"),
    pytest.param([-(2**32), -1, -(2**40)], id="negative_beyond_32_bits"),
    pytest.param([2**32, 1], id="beyond_32_bits"),
    pytest.param([I64_MIN, I64_MIN + 1], id="near_min"),
])
def test_max_known(kata, values):
    check_max(functions(kata), values)


@pytest.mark.parametrize("n", range(1, 20))
def test_max_at_every_position(kata, n):
    # The largest value at each position in turn, among negatives: catches a missed first or last
    # element, a tail skipped by an unrolled loop, and a maximum that starts from 0.
    f = functions(kata)
    for pos in range(n):
        values = [-1000 - 7 * i for i in range(n)]
        values[pos] = -3
        for offset in (0, 1):
            check_max(f, values, offset)


@settings(max_examples=200)
@given(values=st.lists(st.integers(I64_MIN, I64_MAX), min_size=1, max_size=300), offset=st.integers(0, 7))
def test_max_any(kata, values, offset):
    check_max(functions(kata), values, offset)


# ----------------------------------------------------------------------------------------- strlen


def explain_strlen(got: int, want: int) -> str:
    if got == want + 1:
        return "One too many: the terminating 0 byte was counted too."
    if got == want - 1:
        return "One short: the last byte before the 0 was not counted (or counting started at -1)."
    reg = junk_register(got, 1)
    if reg:
        return f"That is the junk {reg} held on entry: the counter was never set (to 0, or to s)."
    if got > want:
        return ("The count ran past the terminator: the 0 byte was not seen (compare a single byte, "
                "cmpb $0, (%rdi), and stop there).")
    return "The count stopped before the terminator: stop only at a byte that is 0."


FILL = 0x5A  # 'Z': the bytes after the terminator are not 0, so missing it shows


def check_strlen(f, s: bytes, offset: int = 0, tail: int = 48):
    """s at `offset` bytes past a 64-byte boundary, then its 0 byte, then `tail` non-zero bytes and
    a final 0 (so a strlen that misses the terminator gives a wrong number instead of crashing)."""
    assert b"\0" not in s
    r = f.probe.strlen(f.lib, s, offset, tail, FILL)  # the buffer is laid out, and the call made, there
    raise_violation(r)
    got = r["got"]
    shown = repr(s) if len(s) <= 40 else repr(s[:32]) + f"... ({len(s)} bytes)"
    on = f"s = {shown}" + (f" starting {offset} bytes past a 64-byte boundary" if offset else "")
    before = np.full(len(s) + tail + 192, FILL, dtype=np.uint8)  # as the probe laid it out, from s's start
    start = r["start"]
    before[start:start + len(s)] = np.frombuffer(s, dtype=np.uint8)
    before[start + len(s)] = 0
    before[start + len(s) + 1 + tail:] = 0
    if r["after"] != before.tobytes():
        raise AssertionError(f"my_strlen wrote to the string on {on}: it is const, only read it.")
    if got != len(s):
        raise AssertionError(f"my_strlen on {on}: returned {got}, expected {len(s)}.\n  "
                             f"{explain_strlen(got, len(s))}")


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 4097])
def test_strlen_lengths(kata, n):
    # Every length around 8, 16, 32 and 64 at every offset in a 16-byte block: wide (8, 16, 32-byte)
    # loads meet both aligned and unaligned starts and terminators in every lane.
    f = functions(kata)
    s = bytes(b"abcdefghijklmnopqrstuvwxyz"[i % 26] for i in range(n))
    for offset in range(16):
        check_strlen(f, s, offset)


@pytest.mark.parametrize("byte", [0x01, 0x7F, 0x80, 0xFF])
def test_strlen_any_byte_value(kata, byte):
    # Bytes 0x80..0xFF are negative as signed chars; only 0 ends a string.
    f = functions(kata)
    for n in (1, 7, 16, 33):
        check_strlen(f, bytes([byte]) * n, offset=3)


@settings(max_examples=150)
@given(s=st.binary(max_size=300).map(lambda b: b.replace(b"\0", b"\x01")), offset=st.integers(0, 63))
def test_strlen_any(kata, s, offset):
    check_strlen(functions(kata), s, offset)


# A page of readable memory between two that are not mapped: a string that ends on the page's last
# byte, or starts on its first, lets a load that reaches one byte outside fault. Calls run in a
# forked child, so a fault becomes a message naming the string instead of a dead test.
PAGE = mmap.PAGESIZE
_EDGE_LENGTHS = list(range(0, 66)) + [127, 128, 129, 255, 256, 257, 1000]


def _edge_cases():
    """(what, start, n): an n-byte string at offset `start` in three pages whose first and last are
    not mapped."""
    cases = []
    for n in _EDGE_LENGTHS:
        cases.append(("whose terminating 0 is the last byte before an unmapped page", PAGE + PAGE - 1 - n, n))
    for n in range(0, 66):
        cases.append(("that starts on the first byte after an unmapped page", PAGE, n))
    return cases


def test_strlen_at_page_edges(kata):
    # The probe runs every case in a forked child where the learner's code is, reporting progress line
    # by line: a fault names the string it happened on.
    f = functions(kata)
    cases = _edge_cases()
    ran = f.probe.strlen_at_page_edges(f.lib, [(start, n) for _, start, n in cases])
    lines = ran["lines"]
    started, results = None, {}
    for m in lines:
        if "todo" in m:
            raise NotImplementedYet(m["todo"])
        if "assert" in m:
            raise AssertionError(m["assert"])
        if "error" in m:
            raise RuntimeError(f"the page-edge test could not run: {m['error']}")
        if "start" in m:
            started = m["start"]
        if "done" in m:
            results[m["done"]] = m["got"]
    if ran["signal"] is not None:
        what, _, n = cases[started]
        raise AssertionError(
            f"my_strlen crashed with {signal.Signals(ran['signal']).name} on a {n}-byte string {what}.\n  It read memory outside the string and its terminator. Loads of 8, 16 or 32 bytes "
            "from an arbitrary address can cross into the next page: a byte-at-a-time loop never does, and "
            "a wide load is safe only when aligned to its own width (an aligned 16-byte block never straddles "
            "two pages), with the bytes before s masked off. Never read before s's page, either.")
    for i, (what, _, n) in enumerate(cases):
        got = results.get(i)
        if got != n:
            raise AssertionError(f"my_strlen on a {n}-byte string {what}: returned {got}, expected {n}."
                                 f"\n  {explain_strlen(got, n) if got is not None else ''}")


# ------------------------------------------------------------------------------------------ the ABI


@pytest.mark.parametrize("fn", ["sum_i64", "max_i64", "my_strlen"])
def test_calling_convention(kata, fn):
    # Each function on an input long enough for unrolled and tail code to run. The trampoline fails
    # the call if rbx, rbp, r12-r15 or rsp come back changed, the stack is unbalanced, or DF is set.
    f = functions(kata)
    if fn == "my_strlen":
        check_strlen(f, b"the System V AMD64 calling convention" * 3, offset=5)
    else:
        values = [(-1) ** i * (i * 37 + 11) for i in range(37)]
        (check_sum if fn == "sum_i64" else check_max)(f, values, offset=1)


# ------------------------------------------------------------------- performance (instruction count)
# callgrind counts the instructions executed inside sum_i64() on N elements, in a small C driver
# (measure_sum.c). A loop that adds one element per iteration also pays for its increment, compare
# and branch every time: 4 instructions per element (3 with the tightest indexing trick). Adding 4
# elements per iteration shares that cost: the reference lands at 1.75.
N = 100_003  # not a multiple of 2, 4 or 8: the tail code runs too
GATE = 2.25


@pytest.mark.perf
def test_sum_instructions_per_element(kata):
    prog = kata.program("measure_sum.c")
    try:
        counts = callgrind(prog, [N], "sum_i64")
    except MeasureError as e:
        text = str(e)
        if "not implemented yet" in text:
            where = text.split("not implemented yet:", 1)[1].strip().splitlines()[0]
            raise NotImplementedYet(f"not implemented yet: {where}") from None
        raise AssertionError(f"the measured run of sum_i64 on {N:,} elements (measure_sum.c under callgrind) "
                             f"failed:\n  {text}\n  Make the correctness tests pass first.") from None
    per = counts.instructions / N
    kata.record(instructions=counts.instructions, elements=N, instructions_per_element=round(per, 3))
    if per > GATE:
        raise AssertionError(
            f"sum_i64 on {N:,} elements executed {counts.instructions:,} instructions: {per:.2f} per element; "
            f"the gate is {GATE}.\n"
            "  A loop that adds one element per iteration pays for its loop control (increment, compare, "
            "branch) on every element: about 4 instructions each. Add 4 (or 8) elements per iteration, into "
            "separate accumulators, and finish the last n % 4 in a short tail loop (README hints 5 and 6). "
            "Count the instructions in your loop body and divide by the elements it handles.")
