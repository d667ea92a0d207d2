"""What the WAV tests do beside the learner's library: parse a file held in a C buffer, read the
wav_info_t it fills (its data pointer as an offset into that buffer) and convert the samples while the
buffer is still alive. Each function returns data for the test to judge; under `kata grade` this file
runs in the learner's process (kata.probe), the checks do not."""
import numpy as np


def _parse(lib, raw):
    buf = lib.ffi.new("uint8_t[]", raw or b"\0")
    info = lib.ffi.new("wav_info_t *")
    rc = lib.wav_parse(buf, len(raw), info)
    return rc, info, buf


def _fields(lib, info, buf):
    offset = int(lib.ffi.cast("uintptr_t", info.data)) - int(lib.ffi.cast("uintptr_t", buf))
    return {"format": info.format, "channels": info.channels, "sample_rate": info.sample_rate, "bits": info.bits,
            "frames": info.frames, "offset": offset}


def parse(lib, raw):
    """wav_parse(raw): its return code and the wav_info_t it filled (data as its offset from the buffer's start)."""
    rc, info, buf = _parse(lib, raw)
    return rc, _fields(lib, info, buf)


def decode(lib, raw, pad=4):
    """wav_parse(raw), then, if it returned 0, wav_to_float into frames * channels + pad floats filled with NaN
    beforehand. Returns the return code, the wav_info_t's fields (as parse) and those floats (None if not run)."""
    rc, info, buf = _parse(lib, raw)
    fields = _fields(lib, info, buf)
    if rc != 0:
        return rc, fields, None
    out = np.full(info.frames * info.channels + pad, np.nan, dtype=np.float32)
    lib.wav_to_float(info, out)
    return rc, fields, out
