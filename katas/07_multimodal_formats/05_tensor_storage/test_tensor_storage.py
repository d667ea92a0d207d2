"""safetensors, both directions: the `safetensors` package loads what save() wrote (and the layout is
aligned), load() reads what the package wrote, and every array load() returns lies inside a read-only
mapping of the file (checked in /proc/self/maps, and by tracemalloc: no payload is copied). Malformed
files raise FormatError. Your save() and load() run on files in a folder of their own process
(support/probes.py, which hands back the bytes written and what load() returned, with where its arrays lie);
the checks and the safetensors package run here."""
import gc
import json
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from kata.toolkit import describe, expect

DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}


def sample(dtype, shape, seed=0):
    r = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return np.asarray(r.integers(0, 2, shape)).astype(bool)
    if dt.kind == "f":
        return np.asarray(r.standard_normal(shape) * 100).astype(dt)
    info = np.iinfo(dt)
    return np.asarray(r.integers(info.min, info.max, shape, dtype=dt.newbyteorder("="), endpoint=True)).astype(dt)


def save_there(probe, mod, tensors, *metadata, prefill=None, views=None):
    """The bytes your save() wrote (support/probes.py), told each array's shape: a 0-d array crosses to
    your process as shape (1,)."""
    shapes = {n: a.shape for n, a in tensors.items() if isinstance(a, np.ndarray)}
    return probe.save(mod, tensors, *metadata, prefill=prefill, views=views, shapes=shapes)


def check_loaded(seen, want, want_meta, what):
    """`seen`: what the probe's load() observed (the tensors and metadata load() returned, each array's
    (writeable, address, nbytes, shape) and the process's mappings of the file)."""
    got, meta = seen["got"], seen["meta"]
    expect(isinstance(got, dict) and isinstance(meta, dict),
           f"load() on {what} returned {type(got).__name__}, {type(meta).__name__}: expected (dict, dict)")
    expect(set(got) == set(want), f"load() on {what}: tensors {sorted(got)}, expected {sorted(want)}")
    expect(meta == want_meta, f"load() on {what}: metadata {meta}, expected {want_meta}")
    maps = seen["maps"]
    for name, a in want.items():
        g = got[name]
        expect(isinstance(g, np.ndarray), f"load() on {what}: {name!r} is {describe(g)}, not a numpy array")
        writeable, addr, nbytes, shape = seen["views"][name]
        g = g.reshape(shape)  # its shape where load() returned it (a 0-d array crosses as shape (1,))
        expect(g.dtype == a.dtype and g.shape == a.shape,
               f"load() on {what}: {name!r} is {describe(g)}, expected {describe(a)}")
        expect(np.array_equal(g, a), f"load() on {what}: the values of {name!r} differ from those saved")
        expect(not writeable, f"load() on {what}: {name!r} is writeable; map the file read-only "
                              "(mmap.ACCESS_READ) so no caller can scribble over it")
        if g.size:
            inside = [m for m in maps if m[0] <= addr and addr + nbytes <= m[1]]
            expect(inside, f"load() on {what}: {name!r} ({nbytes} bytes at {addr:#x}) is not inside a mapping of "
                           f"the file (mappings of it: {[(hex(lo), hex(hi)) for lo, hi, _ in maps] or 'none'}): "
                           "the arrays must be views of the mmap (np.frombuffer(mm, ...)), never copies")
            expect("w" not in inside[0][2], f"load() on {what}: the file is mapped writable ({inside[0][2]})")


CASES = {
    "one_f32": {"w": sample("<f4", (3, 4))},
    "every_dtype": {k.lower(): sample(v, (2, 3), i) for i, (k, v) in enumerate(DTYPES.items())},
    "mixed_sizes": {"a": sample("i1", (7,)), "b": sample("<f8", (3,)), "c": sample("<f2", (5,)), "d": sample("u1", (1,))},
    "scalar_and_empty": {"s": np.array(3.5, dtype="<f4"), "e": np.zeros((0, 4), dtype="<f4"), "x": sample("<i8", (2,))},
    "many_dims": {"t": sample("<f4", (1, 2, 1, 3, 1, 2))},
    "no_tensors": {},
}


@pytest.mark.parametrize("meta", [None, {"format": "np", "note": "ünïcode ✓"}])
@pytest.mark.parametrize("case", list(CASES))
def test_safetensors_reads_what_you_write(kata, tmp_path, case, meta):
    mod, probe = kata.module(), kata.probe("probes.py")
    path = tmp_path / "yours.safetensors"
    raw = save_there(probe, mod, CASES[case], meta, prefill=b"x" * 5000)  # over an older, longer file: replace it
    path.write_bytes(raw)
    n = int.from_bytes(raw[:8], "little")
    expect((8 + n) % 8 == 0, f"save() of {case}: the data starts at byte {8 + n}, not a multiple of 8: pad the "
                             "header with spaces")
    header = json.loads(raw[8:8 + n])
    for name, e in header.items():
        if name != "__metadata__":
            size = np.dtype(DTYPES[e["dtype"]]).itemsize
            expect(e["data_offsets"][0] % size == 0,
                   f"save() of {case}: {name!r} ({e['dtype']}) starts {e['data_offsets'][0]} bytes into the data, "
                   f"not a multiple of {size}: a reader's view of it would be misaligned (order the tensors by item "
                   "size, largest first)")
    try:
        got = load_file(str(path))
        with safe_open(str(path), framework="np") as f:
            got_meta = f.metadata()
    except Exception as e:  # the package's own complaint is the message
        pytest.fail(f"safetensors could not load the file save() wrote for {case}: {type(e).__name__}: {e}",
                    pytrace=False)
    expect(set(got) == set(CASES[case]), f"safetensors reads tensors {sorted(got)}, expected {sorted(CASES[case])}")
    for name, a in CASES[case].items():
        expect(got[name].dtype == a.dtype and got[name].shape == a.shape and np.array_equal(got[name], a),
               f"safetensors reads {name!r} as {describe(got[name])} with other values; saved {describe(a)}")
    expect((got_meta or None) == meta, f"safetensors reads the metadata as {got_meta}, saved {meta}")


def test_non_contiguous_and_big_endian_inputs(kata, tmp_path):
    mod, probe = kata.module(), kata.probe("probes.py")
    base = sample("<f4", (6, 8))
    tensors = {"t": base.T, "s": base[::2, 1::3], "be": sample(">i4", (5,))}
    # the strided views are made beside your code, of the same array (they would cross as copies)
    views = {"t": (base, True, ()), "s": (base, False, (slice(None, None, 2), slice(1, None, 3)))}
    raw = save_there(probe, mod, {"t": None, "s": None, "be": tensors["be"]}, views=views)
    (tmp_path / "v.safetensors").write_bytes(raw)
    got = load_file(str(tmp_path / "v.safetensors"))
    for name, a in tensors.items():
        expect(got[name].shape == a.shape and np.array_equal(got[name], a),
               f"save() of {describe(a)} as {name!r}: safetensors reads {describe(got[name])} with other values "
               "(write the elements in C order and little-endian: a.astype(dtype, order='C'))")


@pytest.mark.parametrize("meta", [None, {"k": "v"}])
@pytest.mark.parametrize("case", list(CASES))
def test_you_read_what_safetensors_writes(kata, tmp_path, case, meta):
    mod, probe = kata.module(), kata.probe("probes.py")
    path = tmp_path / "theirs.safetensors"
    save_file(CASES[case], str(path), metadata=meta)
    seen = probe.load(mod, path.read_bytes())
    check_loaded(seen, CASES[case], meta or {}, f"a file safetensors wrote ({case})")


@settings(max_examples=30, deadline=None)
@given(spec=st.dictionaries(st.text("abcxyz._", min_size=1, max_size=6),
                            st.tuples(st.sampled_from(sorted(DTYPES)), st.lists(st.integers(0, 5), max_size=3)),
                            max_size=5))
def test_round_trip_both_ways(kata, tmp_path, spec):
    mod, probe = kata.module(), kata.probe("probes.py")
    tensors = {n: sample(DTYPES[d], tuple(s), i) for i, (n, (d, s)) in enumerate(spec.items())}
    (tmp_path / "a.safetensors").write_bytes(save_there(probe, mod, tensors))
    got = load_file(str(tmp_path / "a.safetensors"))
    expect(all(np.array_equal(got[n], a) and got[n].dtype == a.dtype for n, a in tensors.items()) and
           set(got) == set(tensors), f"safetensors does not read back what save() wrote for {spec}")
    save_file(tensors, str(tmp_path / "b.safetensors"))
    seen = probe.load(mod, (tmp_path / "b.safetensors").read_bytes())
    check_loaded(seen, tensors, {}, f"a file safetensors wrote for {spec}")


def test_no_payload_is_copied(kata, tmp_path):
    mod, probe = kata.module(), kata.probe("probes.py")
    big = {"emb": np.arange(8 << 20, dtype="<f4").reshape(2048, 4096), "bias": np.ones(4096, dtype="<f2")}
    path = tmp_path / "big.safetensors"
    save_file(big, str(path))
    del big
    gc.collect()
    # load() under tracemalloc, where it runs; then "emb" is read again after the dict was dropped
    seen = probe.load(mod, path.read_bytes(), trace=True, keep="emb")
    peak = seen["peak"]
    kata.record(payload_bytes=os.path.getsize(path), python_peak_bytes=peak)
    expect(peak < (1 << 20), f"load() of a {os.path.getsize(path) >> 20} MiB file allocated {peak >> 10} KiB at its "
                             "peak (tracemalloc): the payload was copied (f.read(), bytes(), .copy()?). Map the file "
                             "and return views.")
    seen["meta"] = {}  # (as before: only the tensors are judged here)
    check_loaded(seen, {"emb": np.arange(8 << 20, dtype="<f4").reshape(2048, 4096),
                        "bias": np.ones(4096, dtype="<f2")}, {}, "a 32 MiB file")
    expect(seen["kept_last"] == (8 << 20) - 1, "a tensor kept after the dict is dropped must stay readable "
                                               f"(its last element read {seen['kept_last']!r}, expected {(8 << 20) - 1})")


def header_file(path, header, data=b"", n=None):
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes((len(text) if n is None else n).to_bytes(8, "little") + text + data)


def F32(shape, offs):
    return {"t": {"dtype": "F32", "shape": shape, "data_offsets": offs}}


BAD = {
    "empty_file": lambda p: p.write_bytes(b""),
    "seven_bytes": lambda p: p.write_bytes(b"\x10\0\0\0\0\0\0"),
    "header_past_eof": lambda p: header_file(p, F32([2], [0, 8]), b"\0" * 8, n=1 << 40),
    "header_one_past_eof": lambda p: header_file(p, F32([2], [0, 8]), n=len(json.dumps(F32([2], [0, 8]))) + 1),
    "not_json": lambda p: header_file(p, b"{'t': nope}", b"\0" * 8),
    "not_utf8": lambda p: header_file(p, b'{"\xff": 1}', b"\0" * 8),
    "json_list": lambda p: header_file(p, [1, 2, 3]),
    "unknown_dtype": lambda p: header_file(p, {"t": {"dtype": "Q8", "shape": [2], "data_offsets": [0, 2]}}, b"\0" * 2),
    "no_offsets": lambda p: header_file(p, {"t": {"dtype": "F32", "shape": [2]}}, b"\0" * 8),
    "negative_shape": lambda p: header_file(p, F32([-2], [0, 8]), b"\0" * 8),
    "string_shape": lambda p: header_file(p, F32(["2"], [0, 8]), b"\0" * 8),
    "data_truncated": lambda p: header_file(p, F32([4], [0, 16]), b"\0" * 12),
    "offsets_past_data": lambda p: header_file(p, F32([4], [16, 32]), b"\0" * 16),
    "span_not_shape": lambda p: header_file(p, F32([3], [0, 16]), b"\0" * 16),
    "end_before_begin": lambda p: header_file(p, F32([0], [8, 0]), b"\0" * 8),
    "overlap": lambda p: header_file(p, {**F32([2], [0, 8]), "u": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}},
                                     b"\0" * 12),
    "gap": lambda p: header_file(p, {**F32([1], [0, 4]), "u": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}},
                                 b"\0" * 12),
    "metadata_not_strings": lambda p: header_file(p, {"__metadata__": {"n": 3}, **F32([1], [0, 4])}, b"\0" * 4),
}


@pytest.mark.parametrize("case", list(BAD))
def test_malformed_files_raise_format_error(kata, tmp_path, case):
    mod, probe = kata.module(), kata.probe("probes.py")
    path = tmp_path / "bad.safetensors"
    BAD[case](path)
    with pytest.raises(Exception):  # the package refuses it too (a guard on the test itself)
        load_file(str(path))
    raised = probe.load_error(mod, path.read_bytes())  # (type name, is a FormatError, message) or None
    if raised is not None:
        name, is_format_error, msg = raised
        if is_format_error:
            return
        pytest.fail(f"load() on a file with {case.replace('_', ' ')} raised {name}: {msg}; raise "
                    "FormatError for every malformed file (check each field before using it)", pytrace=False)
    pytest.fail(f"load() accepted a file with {case.replace('_', ' ')}: raise FormatError", pytrace=False)
