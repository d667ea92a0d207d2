"""PPM and PNG decoding against Pillow: images Pillow writes (grey, RGB, RGBA; odd sizes) and PNGs the
test filters by hand so every row type (None, Sub, Up, Average, Paeth) appears, split over several IDAT
chunks, with ancillary chunks; each decoded byte for byte as Pillow decodes it. Malformed files return
the right error; the scratch memory is counted (no leak on any path); HWC uint8 to normalised CHW float;
and a run under AddressSanitizer that cuts every file at many lengths."""
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

from kata.testing import assert_close
from kata.toolkit import expect
from native import sanitize

CDEF = """
typedef struct { int width, height, channels; } img_info_t;
int ppm_decode(const uint8_t *buf, size_t n, uint8_t *out, size_t cap, img_info_t *info);
int png_decode(const uint8_t *buf, size_t n, uint8_t *out, size_t cap, img_info_t *info);
void hwc_to_chw(const uint8_t *in, int h, int w, int c, const float *mean, const float *std, float *out);
"""
OK, MAGIC, FORMAT, TRUNCATED, CRC, DATA, SPACE = 0, -1, -2, -3, -4, -5, -6
NAMES = {0: "IMG_OK", -1: "IMG_ERR_MAGIC", -2: "IMG_ERR_FORMAT", -3: "IMG_ERR_TRUNCATED", -4: "IMG_ERR_CRC",
         -5: "IMG_ERR_DATA", -6: "IMG_ERR_SPACE"}
MODES = {"L": 1, "RGB": 3, "RGBA": 4}


def lib_of(kata):
    return sanitize.counted_library(kata, CDEF, extra_sources=[kata.support("zinflate.c")])


def pixels(h, w, c, seed=0):
    r = np.random.default_rng(seed)
    base = np.linspace(0, 255, w)[None, :, None] + np.linspace(0, 120, h)[:, None, None]   # smooth, so filters help
    noise = r.integers(0, 40, (h, w, c))
    return ((base + noise) % 256).astype(np.uint8)


def decode(lib, fn, raw, cap=None):
    """fn(raw, len(raw), out, cap, &info): the return code, info as (width, height, channels), and out (cap + 16
    bytes, filled with 0xA5 beforehand). Everything passes as arrays, so it works wherever the library runs."""
    buf = np.frombuffer(raw or b"\0", dtype=np.uint8).copy()
    cap = 3 << 20 if cap is None else cap
    out = np.full(cap + 16, 0xA5, dtype=np.uint8)
    info = np.zeros(3, dtype=np.int32)  # img_info_t: int width, height, channels
    rc = getattr(lib, fn)(buf, len(raw), out, cap, info)
    return rc, tuple(int(v) for v in info), out


def check_decoded(lib, fn, raw, want, what):
    lib.reset_counts()
    h, w, c = want.shape
    rc, info, out = decode(lib, fn, raw, cap=h * w * c)
    expect(rc == OK, f"{fn} on {what}: returned {NAMES.get(rc, rc)}, expected IMG_OK")
    expect(info == (w, h, c), f"{fn} on {what}: {info[0]}x{info[1]}x{info[2]}, expected {w}x{h}x{c}")
    expect((out[h * w * c:] == 0xA5).all(), f"{fn} on {what}: wrote past the {h * w * c} bytes of the image")
    got = out[:h * w * c].reshape(h, w, c)
    if not np.array_equal(got, want):
        y, x, k = np.argwhere(got != want)[0]
        pytest.fail(f"{fn} on {what}: pixel (row {y}, col {x}) channel {k} is {got[y, x, k]}, Pillow says "
                    f"{want[y, x, k]}; {int((got != want).sum())} bytes differ", pytrace=False)
    lib.assert_no_leaks(after=f"{fn} on {what}")


def pil_png(a, **kw):
    b = io.BytesIO()
    Image.fromarray(a[..., 0] if a.shape[2] == 1 else a).save(b, format="PNG", **kw)
    return b.getvalue()


def pil_decode(raw):
    im = Image.open(io.BytesIO(raw))
    a = np.asarray(im)
    return a[..., None] if a.ndim == 2 else a


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("h,w", [(1, 1), (7, 13), (64, 48), (3, 200)])
def test_png_from_pillow(kata, mode, h, w):
    a = pixels(h, w, MODES[mode], h * w)
    raw = pil_png(a)
    want = pil_decode(raw)
    assert np.array_equal(want, a)
    check_decoded(lib_of(kata), "png_decode", raw, want, f"a {w}x{h} {mode} PNG from Pillow")


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def filtered(a, types):
    """The PNG filters by hand: row y uses filter types[y % len(types)]."""
    h, w, c = a.shape
    rows, prev = [], np.zeros(w * c, dtype=np.int32)
    for y in range(h):
        cur = a[y].reshape(-1).astype(np.int32)
        left = np.concatenate([np.zeros(c, np.int32), cur[:-c]])
        upleft = np.concatenate([np.zeros(c, np.int32), prev[:-c]])
        t = types[y % len(types)]
        if t == 0:
            pred = np.zeros_like(cur)
        elif t == 1:
            pred = left
        elif t == 2:
            pred = prev
        elif t == 3:
            pred = (left + prev) // 2
        else:
            p = left + prev - upleft
            pa, pb, pc = np.abs(p - left), np.abs(p - prev), np.abs(p - upleft)
            pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        rows.append(bytes([t]) + ((cur - pred) % 256).astype(np.uint8).tobytes())
        prev = cur
    return b"".join(rows)


def handmade(a, types=(0, 1, 2, 3, 4), idat_parts=3, extra=(), ctype=None, raw_override=None, ihdr=None):
    h, w, c = a.shape
    ctype = {1: 0, 3: 2, 4: 6}[c] if ctype is None else ctype
    z = zlib.compress(filtered(a, types) if raw_override is None else raw_override, 6)
    cut = [len(z) * k // idat_parts for k in range(idat_parts + 1)]
    body = chunk(b"IHDR", ihdr or struct.pack(">IIBBBBB", w, h, 8, ctype, 0, 0, 0))
    body += b"".join(chunk(k, d) for k, d in extra)
    body += b"".join(chunk(b"IDAT", z[cut[k]:cut[k + 1]]) for k in range(idat_parts))
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IEND", b"")


@pytest.mark.parametrize("ftype", [0, 1, 2, 3, 4], ids=["none", "sub", "up", "average", "paeth"])
@pytest.mark.parametrize("mode", list(MODES))
def test_every_filter_type(kata, ftype, mode):
    a = pixels(9, 11, MODES[mode], ftype)
    raw = handmade(a, types=(ftype,))
    want = pil_decode(raw)
    assert np.array_equal(want, a)  # Pillow agrees with the test's filtering
    check_decoded(lib_of(kata), "png_decode", raw, want, f"an 11x9 {mode} PNG whose every row uses filter {ftype}")


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 20), w=st.integers(1, 20), mode=st.sampled_from(list(MODES)),
       types=st.lists(st.integers(0, 4), min_size=1, max_size=6), parts=st.integers(1, 4), seed=st.integers(0, 9))
def test_mixed_filters_and_chunks(kata, h, w, mode, types, parts, seed):
    a = pixels(h, w, MODES[mode], seed)
    raw = handmade(a, types=tuple(types), idat_parts=parts,
                   extra=[(b"tEXt", b"Comment\0made by the test"), (b"gAMA", struct.pack(">I", 45455))])
    check_decoded(lib_of(kata), "png_decode", raw, pil_decode(raw),
                  f"a {w}x{h} {mode} PNG with row filters {types} over {parts} IDAT chunks and tEXt/gAMA chunks")


def ppm(a, header=None):
    h, w, _ = a.shape
    return (header or f"P6\n{w} {h}\n255\n".encode()) + a.tobytes()


@pytest.mark.parametrize("h,w", [(1, 1), (5, 9), (40, 31)])
def test_ppm_from_pillow(kata, h, w):
    a = pixels(h, w, 3, 7)
    b = io.BytesIO()
    Image.fromarray(a).save(b, format="PPM")
    check_decoded(lib_of(kata), "ppm_decode", b.getvalue(), pil_decode(b.getvalue()), f"a {w}x{h} PPM from Pillow")
    raw = ppm(a, f"P6 # a comment\n# another\n{w}\t{h}\r\n255 ".encode())
    check_decoded(lib_of(kata), "ppm_decode", raw, pil_decode(raw), f"a {w}x{h} PPM with comments and odd whitespace")


GOOD = pixels(6, 5, 3, 1)
GOOD_PNG = handmade(GOOD)
RAW = filtered(GOOD, (0, 1, 2, 3, 4))


def corrupt_crc(raw, at):
    raw = bytearray(raw)
    raw[at] ^= 0x40
    return bytes(raw)


BAD_PNG = {
    "empty": (MAGIC, b""),
    "bad_signature": (MAGIC, b"\x89PNG\r\n\x1a\x0a"[:7] + b"\x00" + GOOD_PNG[8:]),
    "ihdr_not_first": (FORMAT, GOOD_PNG[:8] + chunk(b"tEXt", b"a\0b") + GOOD_PNG[8:]),
    "ihdr_12_bytes": (FORMAT, handmade(GOOD, ihdr=struct.pack(">IIBBBB", 5, 6, 8, 2, 0, 0))),
    "depth_16": (FORMAT, handmade(GOOD, ihdr=struct.pack(">IIBBBBB", 5, 6, 16, 2, 0, 0, 0))),
    "palette": (FORMAT, handmade(GOOD, ihdr=struct.pack(">IIBBBBB", 5, 6, 8, 3, 0, 0, 0))),
    "interlaced": (FORMAT, handmade(GOOD, ihdr=struct.pack(">IIBBBBB", 5, 6, 8, 2, 0, 0, 1))),
    "width_0": (FORMAT, handmade(GOOD, ihdr=struct.pack(">IIBBBBB", 0, 6, 8, 2, 0, 0, 0))),
    "huge_width": (FORMAT, handmade(GOOD, ihdr=struct.pack(">IIBBBBB", 1 << 31, 6, 8, 2, 0, 0, 0))),
    "bad_crc_ihdr": (CRC, corrupt_crc(GOOD_PNG, 8 + 8 + 13)),
    "bad_crc_idat_data": (CRC, corrupt_crc(GOOD_PNG, 8 + 25 + 9)),
    "cut_in_idat": (TRUNCATED, GOOD_PNG[:8 + 25 + 10]),
    "no_iend": (TRUNCATED, GOOD_PNG[:-12]),
    "length_lies": (TRUNCATED, GOOD_PNG[:8 + 25] + struct.pack(">I", 0x7FFFFFF0) + GOOD_PNG[8 + 25 + 4:]),
    "one_row_short": (DATA, handmade(GOOD, raw_override=RAW[:-(1 + 15)])),
    "one_byte_long": (DATA, handmade(GOOD, raw_override=RAW + b"\0")),
    "filter_type_5": (DATA, handmade(GOOD, raw_override=RAW[:16] + b"\x05" + RAW[17:])),
    "not_zlib": (DATA, GOOD_PNG[:8 + 25] + chunk(b"IDAT", b"definitely not deflate") + chunk(b"IEND", b"")),
}
BAD_PPM = {
    "p3_ascii": (MAGIC, b"P3\n1 1\n255\n0 0 0\n"),
    "maxval_65535": (FORMAT, b"P6\n1 1\n65535\n" + b"\0" * 6),
    "width_0": (FORMAT, b"P6\n0 1\n255\n"),
    "garbage_height": (FORMAT, b"P6\n2 x\n255\n" + b"\0" * 12),
    "huge": (FORMAT, b"P6\n99999999999999999999 1\n255\n"),
    "pixels_short": (TRUNCATED, ppm(GOOD)[:-1]),
    "header_cut": (TRUNCATED, b"P6\n5 6"),
}


@pytest.mark.parametrize("case", list(BAD_PNG) + [f"ppm_{k}" for k in BAD_PPM])
def test_malformed_files(kata, case):
    lib = lib_of(kata)
    lib.reset_counts()
    fn = "ppm_decode" if case.startswith("ppm_") else "png_decode"
    want, raw = BAD_PPM[case[4:]] if case.startswith("ppm_") else BAD_PNG[case]
    rc, _, out = decode(lib, fn, raw, cap=4096)
    expect(rc == want, f"{fn} on a file with {case.replace('_', ' ')}: returned {NAMES.get(rc, rc)}, expected "
                       f"{NAMES[want]}")
    expect((out[4096:] == 0xA5).all(), f"{fn} on a file with {case.replace('_', ' ')} wrote past cap")
    lib.assert_no_leaks(after=f"{fn} failed on a file with {case.replace('_', ' ')}")


def test_no_room_is_an_error(kata):
    lib = lib_of(kata)
    for fn, raw in (("png_decode", GOOD_PNG), ("ppm_decode", ppm(GOOD))):
        rc, _, out = decode(lib, fn, raw, cap=GOOD.size - 1)
        expect(rc == SPACE, f"{fn} with cap one byte short of {GOOD.size}: returned {NAMES.get(rc, rc)}, expected "
                            "IMG_ERR_SPACE")
        expect((out[GOOD.size - 1:] == 0xA5).all(), f"{fn} with too small a cap wrote past it")


@pytest.mark.parametrize("c", [1, 3, 4])
def test_hwc_to_chw(kata, c):
    lib = lib_of(kata)
    h, w = 17, 23
    a = pixels(h, w, c, c)
    mean = np.array([0.485, 0.456, 0.406, 0.5][:c], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225, 0.25][:c], dtype=np.float32)
    out = np.full(c * h * w + 8, np.nan, dtype=np.float32)
    lib.hwc_to_chw(a, h, w, c, mean, std, out)
    expect(np.isnan(out[c * h * w:]).all(), "hwc_to_chw wrote past c * h * w floats")
    want = (a.astype(np.float64).transpose(2, 0, 1) / 255 - mean[:, None, None]) / std[:, None, None]
    assert_close(out[:c * h * w].reshape(c, h, w), want, atol=1e-5, rtol=1e-5,
                 what=f"hwc_to_chw of a {h}x{w}x{c} image ((x / 255 - mean) / std, channels first)")


def test_no_memory_errors_under_asan(kata, tmp_path):
    files = {"good": GOOD_PNG, "pil_rgba": pil_png(pixels(4, 7, 4)), "ppm": ppm(GOOD)}
    files.update({k: raw for k, (_, raw) in BAD_PNG.items()})
    files.update({f"ppm_{k}": raw for k, (_, raw) in BAD_PPM.items()})
    paths = []
    for k, raw in files.items():
        p = tmp_path / f"{k}.img"
        p.write_bytes(raw)
        paths.append(p)
    sanitize.check_program(kata, "sanitize_image.c", paths)
