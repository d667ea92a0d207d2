"""safetensors files: a writer, and a reader that maps the file and returns views into the mapping.
See README.md for the format and the rules."""
import json
import mmap

import numpy as np


class FormatError(ValueError):
    """A file that is not valid safetensors: raise this (not another exception) for every malformed file."""


# safetensors dtype names and their numpy dtypes (little-endian)
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}


def save(path, tensors: dict, metadata: dict | None = None) -> None:
    """Write `tensors` (name -> numpy array of a dtype in DTYPES, any strides) and the optional
    string-to-string `metadata` to `path` in the safetensors format: the header padded with spaces so the
    data starts at a multiple of 8, every tensor at a multiple of its item size."""
    raise NotImplementedError("tensor_storage.py: save()")


def load(path) -> tuple[dict, dict]:
    """Map `path` read-only and return (tensors, metadata): each tensor a read-only numpy array whose
    data lies inside the mapping (no copy), metadata the header's "__metadata__" ({} if absent).
    Raise FormatError for any malformed file."""
    raise NotImplementedError("tensor_storage.py: load()")
