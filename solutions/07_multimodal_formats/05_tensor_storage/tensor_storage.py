"""safetensors files: a writer, and a reader that maps the file and returns views into the mapping
(reference)."""
import json
import mmap

import numpy as np


class FormatError(ValueError):
    """A file that is not valid safetensors: raise this (not another exception) for every malformed file."""


# safetensors dtype names and their numpy dtypes (little-endian)
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}
NAME_OF = {np.dtype(v): k for k, v in DTYPES.items()}


def save(path, tensors: dict, metadata: dict | None = None) -> None:
    arrays = {}
    for name, a in tensors.items():
        a = np.asarray(a)
        key = NAME_OF.get(a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype)
        if key is None:
            raise FormatError(f"tensor {name!r}: dtype {a.dtype} has no safetensors name")
        arrays[name] = (key, a.astype(DTYPES[key], order="C", copy=False))  # keeps 0-d arrays 0-d
    # largest items first: then every offset is a multiple of its own item size
    order = sorted(arrays, key=lambda n: (-arrays[n][1].itemsize, n))
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in order:
        key, a = arrays[name]
        header[name] = {"dtype": key, "shape": list(a.shape), "data_offsets": [offset, offset + a.nbytes]}
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for name in order:
            f.write(arrays[name][1].reshape(-1).view(np.uint8))


def _parse(raw: bytes, data_len: int) -> tuple[dict, dict]:
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"the header is not JSON: {e}") from None
    if not isinstance(header, dict):
        raise FormatError("the header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise FormatError("__metadata__ must map strings to strings")
    spans = []
    for name, e in header.items():
        if not isinstance(e, dict) or e.get("dtype") not in DTYPES:
            raise FormatError(f"tensor {name!r}: missing or unknown dtype")
        shape, offs = e.get("shape"), e.get("data_offsets")
        if (not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape)
                or not isinstance(offs, list) or len(offs) != 2 or not all(type(o) is int for o in offs)):
            raise FormatError(f"tensor {name!r}: bad shape or data_offsets")
        begin, end = offs
        nbytes = int(np.prod(shape, dtype=object)) * np.dtype(DTYPES[e["dtype"]]).itemsize
        if not 0 <= begin <= end <= data_len or end - begin != nbytes:
            raise FormatError(f"tensor {name!r}: data_offsets {offs} do not fit shape {shape} in {data_len} bytes")
        spans.append((begin, end, name))
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise FormatError(f"tensor {name!r} starts at {begin}, not at {pos}: gaps and overlaps are invalid")
        pos = end
    if pos != data_len:
        raise FormatError(f"the tensors cover {pos} of the {data_len} data bytes")
    return header, metadata


def load(path) -> tuple[dict, dict]:
    with open(path, "rb") as f:
        size = f.seek(0, 2)
        if size < 8:
            raise FormatError(f"{size} bytes: too short for the header length")
        f.seek(0)
        n = int.from_bytes(f.read(8), "little")
        if n > size - 8:
            raise FormatError(f"the header length {n} runs past the end of the {size}-byte file")
        header, metadata = _parse(f.read(n), size - 8 - n)
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    start = 8 + n
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        dt = np.dtype(DTYPES[e["dtype"]])
        tensors[name] = np.frombuffer(mm, dtype=dt, count=(end - begin) // dt.itemsize,
                                      offset=start + begin).reshape(e["shape"])
    return tensors, metadata
