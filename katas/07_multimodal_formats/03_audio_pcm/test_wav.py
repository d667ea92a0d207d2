"""WAV and PCM, against Python's `wave` and `soundfile` (libsndfile): you parse what they write (PCM16 from
wave, float32 from soundfile with its PEAK and fact chunks, hand-made files with LIST chunks of odd size),
they read what you write; int16/float32 conversion and mono mixdown exactly as numpy computes them,
linear resampling against a float64 reference; malformed files with the right error; and a run under
AddressSanitizer that cuts every file at many lengths."""
import io
import struct
import wave
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings, strategies as st

from kata.testing import assert_close
from kata.toolkit import expect
from native import sanitize

CDEF = """
typedef struct { int format; int channels; int sample_rate; int bits; const uint8_t *data; size_t frames; } wav_info_t;
int wav_parse(const uint8_t *buf, size_t n, wav_info_t *out);
void wav_to_float(const wav_info_t *w, float *out);
void mix_to_mono(const float *in, size_t frames, int channels, float *out);
size_t resample_count(size_t n, int src_rate, int dst_rate);
void resample_linear(const float *in, size_t n, int src_rate, int dst_rate, float *out);
void float_to_int16(const float *in, size_t n, int16_t *out);
size_t wav_write_pcm16(const int16_t *samples, size_t frames, int channels, int sample_rate, uint8_t *out, size_t cap);
"""
OK, MAGIC, FORMAT, TRUNCATED = 0, -1, -2, -3
NAMES = {0: "WAV_OK", -1: "WAV_ERR_MAGIC", -2: "WAV_ERR_FORMAT", -3: "WAV_ERR_TRUNCATED"}


def lib_of(kata):
    return kata.library(CDEF)


def pcm16(frames, channels, seed=0):
    return np.random.default_rng(seed).integers(-32768, 32767, (frames, channels), dtype=np.int16, endpoint=True)


def wave_bytes(x, rate):
    b = io.BytesIO()
    with wave.open(b, "wb") as w:
        w.setnchannels(x.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())
    return b.getvalue()


def sf_bytes(x, rate, subtype):
    b = io.BytesIO()
    sf.write(b, x, rate, format="WAV", subtype=subtype)
    return b.getvalue()


def parse(kata, raw, what):
    """wav_parse on raw (in a C buffer of its own): the return code and the wav_info_t's fields, data as an offset."""
    rc, fields = kata.probe("probes.py").parse(lib_of(kata), raw)
    return rc, SimpleNamespace(**fields)


def decode(kata, raw, what):
    # The probe parses raw in a C buffer and runs wav_to_float while that buffer lives: info.data points into it.
    rc, fields, out = kata.probe("probes.py").decode(lib_of(kata), raw, 4)
    expect(rc == OK, f"wav_parse on {what}: returned {NAMES.get(rc, rc)}, expected WAV_OK")
    info = SimpleNamespace(**fields)
    n = info.frames * info.channels
    expect(np.isnan(out[n:]).all(), f"wav_to_float on {what} wrote past frames * channels floats")
    return info, info.offset, out[:n].reshape(info.frames, info.channels)


def check_against_soundfile(kata, raw, what):
    want, rate = sf.read(io.BytesIO(raw), dtype="float32", always_2d=True)
    meta = sf.info(io.BytesIO(raw))
    info, offset, got = decode(kata, raw, what)
    expect((info.channels, info.sample_rate, info.frames) == (want.shape[1], rate, want.shape[0]),
           f"wav_parse on {what}: {info.channels} channels, {info.sample_rate} Hz, {info.frames} frames; soundfile "
           f"says {want.shape[1]}, {rate}, {want.shape[0]}")
    expect(8 <= offset <= len(raw), f"wav_parse on {what}: data is {offset} bytes past the buffer: it must point into it")
    expect(raw[offset - 8:offset - 4] == b"data", f"wav_parse on {what}: data points at byte {offset}, which does not "
                                                  "follow a 'data' chunk header")
    assert_close(got, want, rtol=0, atol=0, what=f"wav_to_float on {what} ({meta.subtype}; soundfile divides int16 by 32768)")


@pytest.mark.parametrize("channels,frames,rate", [(1, 1000, 16000), (2, 777, 44100), (6, 50, 48000), (1, 0, 8000)])
def test_reads_what_wave_writes(kata, channels, frames, rate):
    x = pcm16(frames, channels, channels)
    raw = wave_bytes(x, rate)
    check_against_soundfile(kata, raw, f"a {channels}-channel PCM16 file from `wave` ({frames} frames)")


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_reads_what_soundfile_writes(kata, subtype, channels):
    x = (np.random.default_rng(channels).random((1001, channels)) * 1.8 - 0.9).astype(np.float32)
    raw = sf_bytes(x, 22050, subtype)
    check_against_soundfile(kata, raw, f"a {channels}-channel {subtype} file from soundfile "
                                               f"(chunks {chunks(raw)})")


def chunks(raw):
    out, pos = [], 12
    while pos + 8 <= len(raw):
        cid, size = raw[pos:pos + 4], struct.unpack("<I", raw[pos + 4:pos + 8])[0]
        out.append(f"{cid.decode('latin1')}:{size}")
        pos += 8 + size + (size & 1)
    return " ".join(out)


def handmade(fmt_fields=(1, 2, 16000, 64000, 4, 16), data=b"", extra_before=(), extra_after=(), fmt_extra=b"",
             data_size=None, riff=b"RIFF", wave_id=b"WAVE", fmt_first=True):
    def chunk(cid, body, size=None):
        size = len(body) if size is None else size
        return cid + struct.pack("<I", size) + body + (b"\0" if len(body) % 2 else b"")
    fmt = chunk(b"fmt ", struct.pack("<HHIIHH", *fmt_fields) + fmt_extra)
    body = b"".join(chunk(c, b) for c, b in extra_before)
    dat = chunk(b"data", data, data_size)
    body = (fmt + body + dat) if fmt_first else (body + dat + fmt)
    body += b"".join(chunk(c, b) for c, b in extra_after)
    return riff + struct.pack("<I", 4 + len(body)) + wave_id + body


def test_extra_chunks_and_pad_bytes(kata):
    x = pcm16(100, 2, 5)
    for name, raw in {
        "a LIST chunk of odd size (a pad byte follows it) before data":
            handmade(data=x.tobytes(), extra_before=[(b"LIST", b"INFOISFT\x05\0\0\0Lavf\0")]),
        "three odd-sized chunks before data": handmade(data=x.tobytes(), extra_before=[(b"junk", b"a"), (b"bext", b"abc"),
                                                                                       (b"id3 ", b"12345")]),
        "an 18-byte fmt chunk (cbSize = 0)": handmade(fmt_extra=b"\0\0", data=x.tobytes()),
        "a chunk after data": handmade(data=x.tobytes(), extra_after=[(b"LIST", b"xyz")]),
        "a partial last frame": handmade(data=x.tobytes() + b"\x01\x02"),
    }.items():
        check_against_soundfile(kata, raw, f"a file with {name}")


BAD = {
    "empty": (MAGIC, b""),
    "eleven_bytes": (MAGIC, b"RIFF\0\0\0\0WAV"),
    "rifx_big_endian": (MAGIC, handmade(riff=b"RIFX")),
    "not_wave": (MAGIC, handmade(wave_id=b"AVI ")),
    "adpcm": (FORMAT, handmade(fmt_fields=(2, 1, 8000, 4000, 256, 4), data=b"\0" * 512)),
    "pcm24": (FORMAT, handmade(fmt_fields=(1, 1, 8000, 24000, 3, 24), data=b"\0" * 30)),
    "float64": (FORMAT, handmade(fmt_fields=(3, 1, 8000, 64000, 8, 64), data=b"\0" * 32)),
    "zero_channels": (FORMAT, handmade(fmt_fields=(1, 0, 8000, 0, 0, 16), data=b"\0" * 8)),
    "zero_rate": (FORMAT, handmade(fmt_fields=(1, 1, 0, 0, 2, 16), data=b"\0" * 8)),
    "wrong_block_align": (FORMAT, handmade(fmt_fields=(1, 2, 8000, 32000, 2, 16), data=b"\0" * 8)),
    "data_before_fmt": (FORMAT, handmade(data=b"\0" * 8, fmt_first=False)),
    "fmt_too_short": (FORMAT, b"RIFF\x24\0\0\0WAVEfmt \x0c\0\0\0" + b"\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0"
                      + b"data\x04\0\0\0\0\0\0\0"),
    "no_data_chunk": (TRUNCATED, handmade(data=b"")[:-8]),
    "data_size_lies": (TRUNCATED, handmade(data=b"\0" * 64, data_size=1 << 20)),
    "data_size_ffffffff": (TRUNCATED, handmade(data=b"\0" * 64, data_size=0xFFFFFFFF)),
    "chunk_size_lies": (TRUNCATED, handmade(data=b"\0" * 8, extra_before=[(b"LIST", b"abcd")]).replace(
        b"LIST\x04\0\0\0", b"LIST\xf0\xff\xff\xff")),
    "cut_in_chunk_header": (TRUNCATED, handmade(data=b"\0" * 8)[:40]),
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_files(kata, case):
    want, raw = BAD[case]
    rc, _ = parse(kata, raw, case)
    expect(rc == want, f"wav_parse on a file with {case.replace('_', ' ')} ({len(raw)} bytes): returned "
                       f"{NAMES.get(rc, rc)}, expected {NAMES[want]}")


@settings(max_examples=40, deadline=None)
@given(frames=st.integers(0, 300), channels=st.integers(1, 8), seed=st.integers(0, 99))
def test_mono_mixdown(kata, frames, channels, seed):
    lib = lib_of(kata)
    x = (np.random.default_rng(seed).standard_normal((frames, channels))).astype(np.float32)
    out = np.full(frames + 4, np.nan, dtype=np.float32)
    lib.mix_to_mono(x, frames, channels, out)
    expect(np.isnan(out[frames:]).all(), f"mix_to_mono of {frames} frames wrote past out[{frames - 1}]")
    assert_close(out[:frames], x.astype(np.float64).mean(axis=1), rtol=1e-6, atol=1e-6,
                 what=f"mix_to_mono of {frames} frames x {channels} channels (the mean of each frame)")


def resample_ref(x, src, dst):
    n = len(x)
    m = 0 if n == 0 else (n - 1) * dst // src + 1
    t = np.arange(m, dtype=np.float64) * src / dst
    return np.interp(t, np.arange(n), x.astype(np.float64)) if m else np.zeros(0)


@pytest.mark.parametrize("src,dst", [(44100, 16000), (16000, 44100), (48000, 48000), (22050, 8000), (8000, 48000),
                                     (96000, 44100)])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 441, 1000])
def test_linear_resampling(kata, src, dst, n):
    lib = lib_of(kata)
    x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    want = resample_ref(x, src, dst)
    m = lib.resample_count(n, src, dst)
    expect(m == len(want), f"resample_count({n}, {src}, {dst}) = {m}, expected {len(want)} (output j sits at input "
                           "position j * src / dst, and the last one must not pass input n - 1)")
    out = np.full(m + 4, np.nan, dtype=np.float32)
    lib.resample_linear(x, n, src, dst, out)
    expect(np.isnan(out[m:]).all(), f"resample_linear({n} samples, {src} -> {dst}) wrote past out[{m - 1}]")
    assert_close(out[:m], want, rtol=1e-6, atol=1e-6, what=f"resample_linear of {n} samples from {src} to {dst} Hz")


def test_float_to_int16(kata):
    lib = lib_of(kata)
    x = np.concatenate([np.random.default_rng(1).uniform(-1.2, 1.2, 5000),
                        [0.0, -0.0, 1.0, -1.0, 0.99999, -1.00001, 1e9, -1e9, 0.5 / 32768, 1.5 / 32768, -0.5 / 32768,
                         2.5 / 32768, 32767.5 / 32768]]).astype(np.float32)
    want = np.clip(np.rint(x.astype(np.float64) * 32768), -32768, 32767).astype(np.int16)
    out = np.full(len(x) + 4, 12345, dtype=np.int16)
    lib.float_to_int16(x, len(x), out)
    expect((out[len(x):] == 12345).all(), "float_to_int16 wrote past out[n - 1]")
    bad = np.nonzero(out[:len(x)] != want)[0]
    expect(not len(bad), f"float_to_int16: {len(bad)} wrong values, first x={x[bad[0]]!r} gave {out[bad[0]]}, expected "
                         f"{want[bad[0]]} (x * 32768, rounded half to even, clipped to [-32768, 32767])"
           if len(bad) else "")


@pytest.mark.parametrize("channels,frames", [(1, 1000), (2, 333), (5, 1), (1, 0)])
def test_wave_and_soundfile_read_what_you_write(kata, channels, frames):
    lib = lib_of(kata)
    x = pcm16(frames, channels, 9)
    total = 44 + x.nbytes
    out = np.zeros(total + 16, dtype=np.uint8)
    expect(lib.wav_write_pcm16(x, frames, channels, 32000, out, total - 1) == 0,
           f"wav_write_pcm16 with cap = {total - 1} (one byte short) must return 0")
    n = lib.wav_write_pcm16(x, frames, channels, 32000, out, total + 16)
    expect(n == total, f"wav_write_pcm16 of {frames} frames x {channels} channels returned {n}, expected {total}")
    raw = out[:n].tobytes()
    with wave.open(io.BytesIO(raw)) as w:
        got = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).reshape(-1, channels)
        expect((w.getnchannels(), w.getframerate(), w.getsampwidth()) == (channels, 32000, 2),
               f"`wave` reads {w.getnchannels()} channels, {w.getframerate()} Hz, {w.getsampwidth()} bytes per sample")
    expect(np.array_equal(got, x), "`wave` reads other samples than those written")
    y, rate = sf.read(io.BytesIO(raw), dtype="int16", always_2d=True)
    expect(rate == 32000 and np.array_equal(y, x), "soundfile reads other samples than those written")
    expect(struct.unpack("<I", raw[4:8])[0] == len(raw) - 8, "the RIFF size must be the file size minus 8")


def test_no_memory_errors_under_asan(kata, tmp_path):
    files = {"wave": wave_bytes(pcm16(40, 2), 16000), "float": sf_bytes(np.zeros((30, 1), np.float32), 8000, "FLOAT"),
             "list": handmade(data=pcm16(20, 2).tobytes(), extra_before=[(b"LIST", b"odd")])}
    files.update({k: raw for k, (_, raw) in BAD.items()})
    paths = []
    for k, raw in files.items():
        p = tmp_path / f"{k}.wav"
        p.write_bytes(raw)
        paths.append(p)
    sanitize.check_program(kata, "sanitize_wav.c", paths)
