"""Load a built library with cffi in ABI mode and call it with numpy arrays.

`lib.transpose(src, dst, n)` passes numpy arrays (and torch tensors, by data_ptr) as pointers of the declared parameter type (checking
dtype size and contiguity, so a test's mistake is not mistaken for the learner's), and after every call
asks the kata runtime whether a KATA_TODO() ran: if so the call raises NotImplementedYet naming the
stub's file, line and function.
"""
from __future__ import annotations

from pathlib import Path

import cffi
import numpy as np

_RUNTIME_CDEF = "int kata_todo_take(char *buf, int size);"


class NotImplementedYet(NotImplementedError):
    """A stub function still marked KATA_TODO() was called."""


class NativeLibrary:
    def __init__(self, path: Path, cdef: str):
        from kata.trust import refuse_learner_code_here
        refuse_learner_code_here(f"the library {Path(path).name}")
        self.ffi = cffi.FFI()
        self.ffi.cdef(cdef)
        self.ffi.cdef(_RUNTIME_CDEF)
        self.path = Path(path)
        self.lib = self.ffi.dlopen(str(path))
        self._buf = self.ffi.new("char[512]")

    def _arg(self, value, ctype, fname, i):
        if isinstance(value, np.ndarray):
            if ctype.kind != "pointer":
                raise TypeError(f"{fname}: argument {i} is an array but the C parameter is {ctype.cname}")
            if not (value.flags.c_contiguous or value.flags.f_contiguous):
                raise TypeError(f"{fname}: argument {i} must be a contiguous array")
            item = ctype.item
            if item.kind == "primitive" and self.ffi.sizeof(item) != value.dtype.itemsize:
                raise TypeError(f"{fname}: argument {i} has dtype {value.dtype}, but the C parameter is {ctype.cname}")
            return self.ffi.cast(ctype, self.ffi.from_buffer(value, require_writable=False))
        if hasattr(value, "data_ptr") and ctype.kind == "pointer":  # a torch tensor (CPU or CUDA)
            return self.ffi.cast(ctype, value.data_ptr())
        return value

    def todo_taken(self) -> str | None:
        if self.lib.kata_todo_take(self._buf, 512):
            return self.ffi.string(self._buf).decode(errors="replace")
        return None

    def function(self, name: str):
        fn = getattr(self.lib, name)
        ctype = self.ffi.typeof(fn)

        def call(*args):
            if len(args) != len(ctype.args):
                raise TypeError(f"{name}() takes {len(ctype.args)} arguments, the test passed {len(args)}")
            cargs = [self._arg(a, t, name, i) for i, (a, t) in enumerate(zip(args, ctype.args))]
            result = fn(*cargs)
            where = self.todo_taken()
            if where:
                raise NotImplementedYet(f"not implemented yet: {where} (this function is still the stub: write it, see the kata's README)")
            return result

        call.__name__ = name
        return call

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.function(name)
