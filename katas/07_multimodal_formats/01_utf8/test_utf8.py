"""UTF-8, checked against Python's own codec: every valid string decodes to its code points; every
invalid byte string is refused at the same offset Python refuses it, with the error the README's table
gives; the classic stress cases one by one; the output capacity respected to the slot; and a run under
AddressSanitizer that cuts every input at every length."""
import pytest
from hypothesis import given, settings, strategies as st

from kata.toolkit import expect
from native import sanitize

CDEF = """
long utf8_validate(const uint8_t *s, size_t n, size_t *err_at);
long utf8_decode(const uint8_t *s, size_t n, uint32_t *out, size_t cap, size_t *err_at);
"""
TRUNCATED, BAD_BYTE, CONTINUATION, OVERLONG, SURROGATE, RANGE, SPACE = -1, -2, -3, -4, -5, -6, -7
NAMES = {-1: "UTF8_ERR_TRUNCATED", -2: "UTF8_ERR_BAD_BYTE", -3: "UTF8_ERR_CONTINUATION", -4: "UTF8_ERR_OVERLONG",
         -5: "UTF8_ERR_SURROGATE", -6: "UTF8_ERR_RANGE", -7: "UTF8_ERR_SPACE"}
POISON = 0xDEADBEEF


def name(rc):
    return NAMES.get(rc, f"{rc} code points" if rc >= 0 else str(rc))


def classify(b: bytes):
    """The README's table in Python: (count, None) if valid, else (error, offset of the bad sequence)."""
    i = count = 0
    while i < len(b):
        c = b[i]
        if c < 0x80:
            i, count = i + 1, count + 1
            continue
        if c < 0xC0 or c >= 0xF8:
            return BAD_BYTE, i
        if c < 0xC2:
            return OVERLONG, i
        if c >= 0xF5:
            return RANGE, i
        n = 2 if c < 0xE0 else 3 if c < 0xF0 else 4
        for k in range(1, n):
            if i + k >= len(b):
                return TRUNCATED, i
            t = b[i + k]
            if t & 0xC0 != 0x80:
                return CONTINUATION, i
            if k == 1:
                if (c == 0xE0 and t < 0xA0) or (c == 0xF0 and t < 0x90):
                    return OVERLONG, i
                if c == 0xED and t >= 0xA0:
                    return SURROGATE, i
                if c == 0xF4 and t >= 0x90:
                    return RANGE, i
        i, count = i + n, count + 1
    return count, None


def lib_of(kata):
    return kata.library(CDEF)


def validate(lib, b):
    at = lib.ffi.new("size_t *", 999999)
    rc = lib.utf8_validate(b, len(b), at)
    return rc, int(at[0])


def decode(lib, b, cap):
    out = lib.ffi.new("uint32_t[]", cap + 8)
    for k in range(cap + 8):
        out[k] = POISON
    at = lib.ffi.new("size_t *", 999999)
    rc = lib.utf8_decode(b, len(b), out, cap, at)
    tail = [int(out[k]) for k in range(cap, cap + 8)]
    expect(all(t == POISON for t in tail),
           f"utf8_decode on {b[:40]!r} with cap={cap} wrote past out[cap - 1]: out[cap..cap+7] = "
           f"{[hex(t) for t in tail]} (never write out[cap] or beyond)")
    return rc, int(at[0]), [int(out[k]) for k in range(max(rc, 0))]


def check_against_python(lib, b: bytes):
    want, where = classify(b)
    try:
        text = b.decode("utf-8")
        py_err = None
    except UnicodeDecodeError as e:
        text, py_err = None, e
    # the table and Python's codec agree (a guard on the test itself)
    assert (py_err is None) == (where is None) and (py_err is None or py_err.start == where), (b, want, py_err)
    assert py_err is None or (py_err.reason == "unexpected end of data") == (want == TRUNCATED), (b, want, py_err)

    rc, at = validate(lib, b)
    if py_err is None:
        expect(rc == len(text), f"utf8_validate({b[:60]!r}): returned {name(rc)}; Python decodes it to "
                                f"{len(text)} code points")
        rc2, _, cps = decode(lib, b, len(text))
        expect(rc2 == len(text), f"utf8_decode({b[:60]!r}, cap={len(text)}): returned {name(rc2)}, expected "
                                 f"{len(text)} code points")
        want_cps = [ord(ch) for ch in text]
        bad = next((k for k in range(len(cps)) if cps[k] != want_cps[k]), None)
        expect(bad is None, f"utf8_decode({b[:60]!r}): code point {bad} is U+{cps[bad]:04X}, Python says "
                            f"U+{want_cps[bad]:04X}" if bad is not None else "")
    else:
        expect(rc == want and at == where,
               f"utf8_validate({b[:60]!r}): returned {name(rc)} with err_at={at}; expected {name(want)} at byte "
               f"{where} (Python: {py_err.reason} at {py_err.start}: {b[where:where + 4].hex(' ')})")
        rc2, at2, _ = decode(lib, b, len(b))
        expect(rc2 == want and at2 == where,
               f"utf8_decode({b[:60]!r}): returned {name(rc2)} with err_at={at2}; expected {name(want)} at byte "
               f"{where} (utf8_validate gets it right)")


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40))
def test_valid_text_decodes_to_its_code_points(kata, text):
    check_against_python(lib_of(kata), text.encode("utf-8"))


@settings(max_examples=200, deadline=None)
@given(b=st.binary(max_size=24))
def test_any_bytes_agree_with_python(kata, b):
    check_against_python(lib_of(kata), b)


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(min_codepoint=0x80, exclude_categories=["Cs"]), min_size=1, max_size=8),
       cut=st.integers(0, 64), flip=st.integers(0, 64), byte=st.integers(0, 255))
def test_damaged_text_agrees_with_python(kata, text, cut, flip, byte):
    """Valid multi-byte text with one byte replaced and the end cut off: errors near real sequences."""
    b = bytearray(text.encode("utf-8"))
    b[flip % len(b)] = byte
    check_against_python(lib_of(kata), bytes(b[:len(b) - cut % 4]))


STRESS = {
    # Markus Kuhn's UTF-8 decoder capability and stress test, and the Unicode standard's table 3-7
    "first_of_each_length": (b"\x00\x7f\xc2\x80\xe0\xa0\x80\xf0\x90\x80\x80", None),
    "last_of_each_length": (b"\x7f\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", None),
    "around_surrogates": (b"\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd", None),
    "lone_continuation": (b"ab\x80", (BAD_BYTE, 2)),
    "continuation_bf": (b"\xbf", (BAD_BYTE, 0)),
    "byte_fe": (b"a\xfe", (BAD_BYTE, 1)),
    "byte_ff": (b"\xff", (BAD_BYTE, 0)),
    "five_byte_form": (b"\xf8\x88\x80\x80\x80", (BAD_BYTE, 0)),
    "overlong_nul_2": (b"\xc0\x80", (OVERLONG, 0)),
    "overlong_slash_2": (b"\xc0\xaf", (OVERLONG, 0)),
    "overlong_c1": (b"x\xc1\xbf", (OVERLONG, 1)),
    "overlong_slash_3": (b"\xe0\x80\xaf", (OVERLONG, 0)),
    "overlong_max_3": (b"\xe0\x9f\xbf", (OVERLONG, 0)),
    "overlong_slash_4": (b"\xf0\x80\x80\xaf", (OVERLONG, 0)),
    "overlong_max_4": (b"\xf0\x8f\xbf\xbf", (OVERLONG, 0)),
    "surrogate_d800": (b"\xed\xa0\x80", (SURROGATE, 0)),
    "surrogate_dfff": (b"\xed\xbf\xbf", (SURROGATE, 0)),
    "surrogate_pair_cesu8": (b"ok\xed\xa0\xbd\xed\xb8\x80", (SURROGATE, 2)),
    "above_10ffff": (b"\xf4\x90\x80\x80", (RANGE, 0)),
    "lead_f5": (b"\xf5\x80\x80\x80", (RANGE, 0)),
    "lead_f7": (b"\xf7\xbf\xbf\xbf", (RANGE, 0)),
    "truncated_2": (b"abc\xc3", (TRUNCATED, 3)),
    "truncated_3_of_3": (b"\xe2\x82", (TRUNCATED, 0)),
    "truncated_4_of_4": (b"\xf0\x9f\x98", (TRUNCATED, 0)),
    "lead_then_ascii": (b"\xe2\x82A", (CONTINUATION, 0)),
    "lead_then_lead": (b"\xc3\xc3\xa9", (CONTINUATION, 0)),
    "error_after_emoji": (b"\xf0\x9f\x98\x80\xe2\x28\xa1", (CONTINUATION, 4)),
}


@pytest.mark.parametrize("case", list(STRESS))
def test_stress_cases(kata, case):
    b, want = STRESS[case]
    assert classify(b) == (want if want else classify(b)), case  # the table agrees with the expectation
    check_against_python(lib_of(kata), b)


@pytest.mark.parametrize("cp", [0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFD, 0xFFFF, 0x10000, 0x10FFFF])
def test_boundary_code_points(kata, cp):
    check_against_python(lib_of(kata), ("a" + chr(cp) + "z").encode("utf-8"))


def test_output_capacity(kata):
    lib = lib_of(kata)
    b = "añ€😀b".encode("utf-8")
    for cap in range(0, 5):
        rc, _, _ = decode(lib, b, cap)
        expect(rc == SPACE, f"utf8_decode({b!r}) (5 code points) with cap={cap}: returned {name(rc)}, expected "
                            "UTF8_ERR_SPACE")
    rc, _, cps = decode(lib, b, 5)
    expect(rc == 5 and cps == [ord(c) for c in "añ€😀b"], f"utf8_decode({b!r}) with cap=5: returned {name(rc)}")
    rc, at, _ = decode(lib, b"ab\xc0\x80cd", 1)
    expect(rc == OVERLONG and at == 2, f"utf8_decode(b'ab\\xc0\\x80cd', cap=1): returned {name(rc)} at {at}; an "
                                       "invalid input is reported as invalid (UTF8_ERR_OVERLONG at 2) even when it "
                                       "would not fit")
    rc, _, _ = decode(lib, b"", 0)
    expect(rc == 0, f"utf8_decode of the empty string: returned {name(rc)}, expected 0")


def test_no_memory_errors_under_asan(kata, tmp_path):
    paths = []
    for k, (b, _) in enumerate(STRESS.values()):
        p = tmp_path / f"s{k}.bin"
        p.write_bytes(b)
        paths.append(p)
    p = tmp_path / "text.bin"
    p.write_bytes("héllo wörld, ünïcödé 😀 𝄞 €".encode("utf-8"))
    paths.append(p)
    sanitize.check_program(kata, "sanitize_utf8.c", paths)
