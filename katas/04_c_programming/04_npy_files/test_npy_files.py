""".npy files: numpy must read what you write (byte-exact header rules included), you must read what
numpy writes (versions 1.0 to 3.0, C and Fortran order, any key order), without copying the data,
reject malformed files with the right error code, and leave nothing mapped or open."""
import io
import os
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from native import sanitize

CDEF = """
typedef struct {
    void *map; size_t map_len; const float *data; int ndim; long shape[8]; int fortran_order;
} npy_array_t;
int npy_save_f32(const char *path, const float *data, int ndim, const long *shape);
int npy_load_f32(const char *path, npy_array_t *out);
void npy_unload(npy_array_t *a);
"""
OK, ERR_IO, ERR_MAGIC, ERR_HEADER, ERR_DTYPE, ERR_TRUNCATED = 0, -1, -2, -3, -4, -5
NAMES = {0: "NPY_OK", -1: "NPY_ERR_IO", -2: "NPY_ERR_MAGIC", -3: "NPY_ERR_HEADER", -4: "NPY_ERR_DTYPE",
         -5: "NPY_ERR_TRUNCATED"}


def load(kata):
    return sanitize.counted_library(kata, CDEF)


def values(shape, seed=0):
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).standard_normal(n) * 100).astype(np.float32).reshape(shape)


def save(kata, lib, path, arr, old: bytes | None = None):
    """npy_save_f32 of arr, run by the probe in a folder of its own (over a file holding `old`, if
    given); the file it wrote is copied to `path` for the checks."""
    rc, raw = kata.probe("probes.py").save(lib, np.ascontiguousarray(arr).reshape(-1), list(arr.shape), old)
    assert rc == OK, f"npy_save_f32 of shape {arr.shape} returned {NAMES.get(rc, rc)}"
    assert raw is not None, f"npy_save_f32 of shape {arr.shape} returned NPY_OK but wrote no file"
    path.write_bytes(raw)


def check_written(path, arr):
    raw = path.read_bytes()
    assert raw[:6] == b"\x93NUMPY", f"the file starts with {raw[:6]!r}, not the magic b'\\x93NUMPY'"
    assert raw[6:8] == b"\x01\x00", f"version bytes {raw[6]}.{raw[7]}: write version 1.0"
    hlen = struct.unpack("<H", raw[8:10])[0]
    start = 10 + hlen
    assert start % 64 == 0, (f"the data starts at byte {start}, not a multiple of 64: pad the header with spaces "
                             "(before its final '\\n') so that 10 + header length is a multiple of 64")
    assert raw[start - 1:start] == b"\n", "the header must end with '\\n'"
    f = io.BytesIO(raw)
    np.lib.format.read_magic(f)
    header = np.lib.format.read_array_header_1_0(f)
    assert header == (arr.shape, False, np.dtype("<f4")), f"numpy reads your header as {header}"
    assert len(raw) == start + 4 * arr.size, f"the file is {len(raw)} bytes; header + data is {start + 4 * arr.size}"
    got = np.load(path)
    assert got.shape == arr.shape and got.dtype == np.float32 and np.array_equal(got, arr), \
        f"np.load reads back {got.shape} {got.dtype}, not the array written"


SHAPES = [(), (1,), (7,), (0,), (3, 0), (2, 3), (4, 5, 6), (1, 1, 1, 17), (2, 1, 2, 1, 2, 1, 2, 1), (1000, 37)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_numpy_reads_what_you_write(kata, tmp_path, shape):
    lib = load(kata)
    lib.reset_counts()
    arr = values(shape)
    path = tmp_path / "a.npy"
    save(kata, lib, path, arr, old=b"x" * 100000)  # over an older, longer file: it must be truncated
    check_written(path, arr)
    lib.assert_no_leaks(after=f"npy_save_f32 of shape {shape}")


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(0, 9), max_size=5))
def test_numpy_reads_any_shape(kata, tmp_path, shape):
    lib = load(kata)
    arr = values(tuple(shape))
    save(kata, lib, tmp_path / "h.npy", arr)
    check_written(tmp_path / "h.npy", arr)


def check_loaded(kata, lib, path, arr, what):
    """npy_load_f32 of the file at `path` (a copy of it, in the probe's folder), judged against arr."""
    out = kata.probe("probes.py").load(lib, path.read_bytes())
    rc = out["rc"]
    assert rc == OK, f"npy_load_f32 on {what}: returned {NAMES.get(rc, rc)}, expected NPY_OK"
    shape = out["shape"]
    assert shape == arr.shape, f"{what}: shape {shape}, expected {arr.shape}"
    fortran = arr.flags.f_contiguous and not arr.flags.c_contiguous
    assert out["fortran_order"] == int(fortran), f"{what}: fortran_order {out['fortran_order']}, expected {int(fortran)}"
    offset = np.load(path, mmap_mode="r").offset
    assert out["map_len"] == os.path.getsize(path), f"{what}: map_len {out['map_len']}, the file has {os.path.getsize(path)} bytes"
    assert out["data_offset"] == offset, (f"{what}: data is {out['data_offset']} bytes past map, but the data starts "
                                          f"at byte {offset} of the file: data must point into the mapping (no copy)")
    assert out["values"] is not None, f"{what}: the data does not lie inside the mapping"
    got = np.frombuffer(out["values"], dtype=np.float32).reshape(
        arr.shape, order="F" if out["fortran_order"] else "C")
    assert np.array_equal(got, arr), f"{what}: the values read differ from numpy's"
    assert out["after_unload"] == (0, 0), "npy_unload must set map and data to NULL"
    lib.assert_no_leaks(after=f"npy_load_f32 and npy_unload on {what}")


@pytest.mark.parametrize("version", [(1, 0), (2, 0), (3, 0)])
@pytest.mark.parametrize("shape", [(), (5,), (0, 3), (3, 4), (2, 3, 5)], ids=str)
def test_you_read_what_numpy_writes(kata, tmp_path, version, shape):
    lib = load(kata)
    lib.reset_counts()
    for order in "CF":
        arr = np.asarray(values(shape, 1), order=order)
        path = tmp_path / f"{order}.npy"
        with open(path, "wb") as f:
            np.lib.format.write_array(f, arr, version=version)
        check_loaded(kata, lib, path, arr, f"a {order}-order {shape} array saved by numpy as version {version[0]}.0")


def handmade(path, header: str, data: bytes = b"", version=1, pad=True, hlen=None):
    body = header.encode("latin1")
    pre = 10 if version == 1 else 12
    if pad:
        body += b" " * ((-(pre + len(body) + 1)) % 64) + b"\n"
    n = len(body) if hlen is None else hlen
    size = struct.pack("<H", n) if version == 1 else struct.pack("<I", n)
    path.write_bytes(b"\x93NUMPY" + bytes([version, 0]) + size + body + data)
    return path


@pytest.mark.parametrize("header,shape", [
    ("{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}", (2, 3)),
    ("{'fortran_order': False, 'descr': '<f4', 'shape': (6,)}", (6,)),
    ("{'descr':'<f4','fortran_order':False,'shape':(3,2)}", (3, 2)),
    ("{ 'descr' : \"<f4\" , 'fortran_order' : False , 'shape' : ( 1 , 6 , ) }", (1, 6)),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", ()),
])
def test_headers_in_any_key_order_and_spacing(kata, tmp_path, header, shape):
    lib = load(kata)
    arr = values(shape, 2)
    path = handmade(tmp_path / "h.npy", header, arr.tobytes())
    check_loaded(kata, lib, path, arr, f"a file whose header is {header!r}")


F4 = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }"
BAD = {
    "no_such_file": (ERR_IO, None),
    "empty_file": (ERR_MAGIC, lambda p: p.write_bytes(b"")),
    "five_bytes": (ERR_MAGIC, lambda p: p.write_bytes(b"\x93NUMP")),
    "bad_magic": (ERR_MAGIC, lambda p: p.write_bytes(b"\x93NUMPZ\x01\x00" + b"\x00" * 200)),
    "version_4": (ERR_MAGIC, lambda p: handmade(p, F4, b"\0" * 16, version=4)),
    "float64": (ERR_DTYPE, lambda p: handmade(p, F4.replace("<f4", "<f8"), b"\0" * 32)),
    "big_endian": (ERR_DTYPE, lambda p: handmade(p, F4.replace("<f4", ">f4"), b"\0" * 16)),
    "int32": (ERR_DTYPE, lambda p: handmade(p, F4.replace("<f4", "<i4"), b"\0" * 16)),
    "no_shape": (ERR_HEADER, lambda p: handmade(p, "{'descr': '<f4', 'fortran_order': False}", b"\0" * 16)),
    "garbage_shape": (ERR_HEADER, lambda p: handmade(p, F4.replace("(4,)", "(4, x)"), b"\0" * 16)),
    "nine_dims": (ERR_HEADER, lambda p: handmade(p, F4.replace("(4,)", "(1,1,1,1,1,1,1,1,4)"), b"\0" * 16)),
    "data_truncated": (ERR_TRUNCATED, lambda p: handmade(p, F4.replace("(4,)", "(1000, 1000)"), b"\0" * 64)),
    "one_float_short": (ERR_TRUNCATED, lambda p: handmade(p, F4, b"\0" * 12)),
    "header_past_eof": (ERR_TRUNCATED, lambda p: handmade(p, F4, b"", pad=False, hlen=60000)),
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_files_fail_cleanly(kata, tmp_path, case):
    lib = load(kata)
    lib.reset_counts()
    want, make = BAD[case]
    path = tmp_path / "bad.npy"
    if make:
        make(path)
    rc = kata.probe("probes.py").load(lib, path.read_bytes() if path.exists() else None)["rc"]
    assert rc == want, f"npy_load_f32 on a file with {case.replace('_', ' ')}: returned {NAMES.get(rc, rc)}, expected {NAMES[want]}"
    lib.assert_no_leaks(after=f"npy_load_f32 failed on a file with {case.replace('_', ' ')}")


def test_no_memory_errors_under_asan(kata, tmp_path):
    paths = []
    for case, (_, make) in BAD.items():
        if make:
            p = tmp_path / f"{case}.npy"
            make(p)
            paths.append(p)
    sanitize.check_program(kata, "sanitize_npy.c", [tmp_path, *paths])
