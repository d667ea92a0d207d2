"""The data-only wire format between the judging process and the learner's process (kata.remote).

A message is a JSON header and a list of binary buffers. What it can carry: None, bools, numbers,
strings, bytes, tuples, lists, dicts, slices, numpy arrays and scalars, torch tensors, dtypes and
devices. Everything else is a *reference*: a callable of the judge's becomes a callback the learner's
process may ask the judge to run; an object of the learner's (a class instance, a kernel, a generator)
becomes a handle the judge may call methods on. Decoding never runs code: no pickle, no eval, no
import by a name the other side chose (types come from a fixed table).

    encode(value, refs) -> (tree, buffers)        refs: turns a non-data value into a reference
    decode(tree, buffers, resolve) -> value      resolve: turns a reference back into an object
    send(sock, header, buffers) / recv(sock) -> (header, buffers)
"""
from __future__ import annotations

import json
import struct
import sys
import time

import numpy as np

_LEN = struct.Struct("<Q")
MAX_MESSAGE = 8 << 30  # a learner's process cannot make the judge allocate more than this for one reply


# Buffers whose bytes around a view cross with it (kata.testing.Guarded's poisoned margins): id -> weakref.
# Only these: the bytes beside an arbitrary view may be the test's own answers.
_GUARDED: dict = {}


def guard_margins(full: np.ndarray) -> None:
    """Views into `full` cross the wire with the rest of `full` around them (at the same alignment mod 64),
    and what the other side wrote there comes back: an out-of-bounds write shows in `full`."""
    import weakref
    for k in [k for k, r in _GUARDED.items() if r() is None]:
        del _GUARDED[k]
    _GUARDED[id(full)] = weakref.ref(full)


def guarded_base(v) -> np.ndarray | None:
    """The registered buffer `v` is a contiguous view into, or None."""
    b = getattr(v, "base", None)
    if not isinstance(b, np.ndarray) or not v.flags.c_contiguous or not b.flags.c_contiguous:
        return None
    r = _GUARDED.get(id(b))
    return b if r is not None and r() is b else None


class WireError(Exception):
    """A message that breaks the format: from the learner's side, a reason to fail the test."""


def _torch():
    return sys.modules.get("torch")


# ------------------------------------------------------------------------------------------ encoding

def encode(value, refs, buffers: list | None = None):
    """(tree, buffers): `tree` is JSON-ready; arrays' bytes go to `buffers`."""
    buffers = [] if buffers is None else buffers
    return _enc(value, refs, buffers, 0), buffers


def _buf(buffers, data) -> int:
    buffers.append(data)
    return len(buffers) - 1


def _enc(v, refs, bufs, depth):
    if depth > 64:
        raise WireError("a value nested more than 64 deep")
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int) and type(v) in (int,):
        return v if -(1 << 62) < v < (1 << 62) else {"__int": str(v)}
    if type(v) is float:
        return {"__f": repr(v)} if v != v or v in (float("inf"), float("-inf")) else v
    if type(v) is complex:
        return {"__c": [repr(v.real), repr(v.imag)]}
    if isinstance(v, (bytes, bytearray)):
        return {"__b": _buf(bufs, bytes(v))}
    if isinstance(v, tuple) and hasattr(v, "_fields") and type(v) is not tuple:  # a namedtuple
        names = [str(f) for f in v._fields]
        if all(n.isidentifier() and not n.startswith("_") for n in names):
            return {"__nt": type(v).__name__[:80], "f": names, "v": [_enc(x, refs, bufs, depth + 1) for x in v]}
    if type(v) is tuple or isinstance(v, tuple):
        return {"__t": [_enc(x, refs, bufs, depth + 1) for x in v]}
    if type(v) is list:
        return [_enc(x, refs, bufs, depth + 1) for x in v]
    if type(v) is dict:
        return {"__d": [[_enc(k, refs, bufs, depth + 1), _enc(x, refs, bufs, depth + 1)] for k, x in v.items()]}
    if type(v) is slice:
        return {"__sl": [_enc(v.start, refs, bufs, depth), _enc(v.stop, refs, bufs, depth), _enc(v.step, refs, bufs, depth)]}
    if v is Ellipsis:
        return {"__el": 0}
    if isinstance(v, np.ndarray) and v.dtype != object and v.dtype.fields is None:
        a = v if v.flags.c_contiguous else v.copy(order="C")  # (ascontiguousarray makes a 0-d array 1-d)
        out = {"__nd": _buf(bufs, a.tobytes()), "dt": a.dtype.str, "sh": list(a.shape)}
        base = guarded_base(v)
        if base is not None:
            whole = base.reshape(-1).view(np.uint8)
            off = v.ctypes.data - base.ctypes.data
            out.update(lo=_buf(bufs, whole[:off].tobytes()), hi=_buf(bufs, whole[off + v.nbytes:].tobytes()),
                       al=v.ctypes.data % 64)
        return out
    if isinstance(v, np.generic) and not isinstance(v, np.object_):
        return {"__ns": _buf(bufs, np.asarray(v).tobytes()), "dt": np.asarray(v).dtype.str}
    if isinstance(v, np.dtype):
        return {"__npdt": v.str}
    if isinstance(v, Record):
        return refs(v)
    if type(v) is Table:
        return {"__tab": [_enc(x, refs, bufs, depth + 1) for x in v.values]}
    if _is_dataclass_instance(v):  # fields as data, and a handle on the object itself
        fields = [(f.name, getattr(v, f.name)) for f in __import__("dataclasses").fields(v)]
        return {"__rec": type(v).__name__[:80], "f": [[n, _enc(x, refs, bufs, depth + 1)] for n, x in fields],
                "ref": refs(v)}
    if type(v).__name__ == "Fraction" and type(v).__module__ == "fractions":
        return {"__fr": [str(v.numerator), str(v.denominator)]}
    torch = _torch()
    if torch is not None:
        if isinstance(v, torch.Tensor) and type(v) in (torch.Tensor, torch.nn.Parameter) and v.layout == torch.strided:
            t = v.detach()
            out = {"__tt": _buf(bufs, span_bytes(t)), "dt": str(t.dtype).replace("torch.", ""), "sh": list(t.shape),
                   "dev": str(t.device), "rg": bool(v.requires_grad), "par": isinstance(v, torch.nn.Parameter)}
            if not t.is_contiguous():  # the same strides on the other side: a strided input stays strided
                out["st"] = list(t.stride())
            return out
        if isinstance(v, torch.dtype):
            return {"__tdt": str(v).replace("torch.", "")}
        if isinstance(v, torch.device):
            return {"__dev": str(v)}
        if isinstance(v, torch.Size):
            return {"__t": [int(x) for x in v]}
    return refs(v)


def span_bytes(t) -> bytes:
    """The bytes of the memory a tensor's elements cover, from its first element to its last (all of
    them for a contiguous tensor; for a strided view, the span its strides reach)."""
    torch = _torch()
    if t.numel() == 0:
        return b""
    if t.is_contiguous():  # (a tensor of one element along a dimension may still carry any stride there)
        c = t.cpu().contiguous()
        return c.as_strided((c.numel(),), (1,)).view(torch.uint8).numpy().tobytes()
    span = 1 + sum((n - 1) * s for n, s in zip(t.shape, t.stride()))
    flat = t.as_strided((span,), (1,), t.storage_offset())
    return flat.cpu().contiguous().view(torch.uint8).numpy().tobytes()


def _is_dataclass_instance(v) -> bool:
    return hasattr(type(v), "__dataclass_fields__") and not isinstance(v, type)


class Table:
    """A function of 0..n-1 given as its n values: Table(v)(i) is v[i]. A test hands one to learner code
    in place of a lambda when the learner calls it many times: it crosses to the learner's process as
    data, where a lambda would be a callback costing a round trip per call."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = tuple(values)

    def __call__(self, i):
        if isinstance(i, bool) or not hasattr(i, "__index__") or not 0 <= int(i) < len(self.values):
            raise IndexError(f"this function is defined for 0..{len(self.values) - 1} only, called with {i!r}")
        return self.values[int(i)]

    def __len__(self):
        return len(self.values)

    def __repr__(self):
        return f"Table({list(self.values[:8])}{'...' if len(self.values) > 8 else ''})"


class Record:
    """A dataclass instance from the other process, as data: its fields read as attributes, compared by
    value; sent back, it stands for the original object (`ref`)."""

    def __init__(self, name: str, fields: dict, ref=None):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "_ref", ref)

    def __getattr__(self, name):
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(f"{self._name} has no attribute {name!r}") from None

    def __setattr__(self, name, value):
        raise AttributeError(f"{self._name} from the learner's process is read-only here")

    def __eq__(self, other):
        if isinstance(other, Record):
            return self._fields == other._fields
        if _is_dataclass_instance(other):
            import dataclasses
            return self._fields == {f.name: getattr(other, f.name) for f in dataclasses.fields(other)}
        return NotImplemented

    def __hash__(self):
        return hash(tuple(self._fields))

    def __repr__(self):
        return f"{self._name}({', '.join(f'{k}={v!r}' for k, v in self._fields.items())})"


# ------------------------------------------------------------------------------------------ decoding

def _np_dtype(s):
    if not isinstance(s, str) or len(s) > 16:
        raise WireError(f"bad dtype {s!r}")
    dt = np.dtype(s)
    if dt == object or dt.fields is not None:
        raise WireError(f"dtype {s!r} is not data")
    return dt


def _torch_dtype(name):
    torch = _torch()
    dt = getattr(torch, name, None) if isinstance(name, str) and name.isidentifier() else None
    if not isinstance(dt, torch.dtype):
        raise WireError(f"bad torch dtype {name!r}")
    return dt


def decode(tree, bufs, resolve, on_array=None, path=()):
    """The value `tree` stands for. `resolve(ref)` gives the object behind a reference; `on_array(path,
    value, raw)` is told of every array and tensor (the learner's side keeps them to see what changed)."""
    return _dec(tree, bufs, resolve, on_array, path, 0)


def _get(bufs, i):
    if type(i) is not int or not 0 <= i < len(bufs):
        raise WireError("a buffer index out of range")
    return bufs[i]


def _dec(t, bufs, resolve, on_array, path, depth):
    if depth > 64:
        raise WireError("a value nested more than 64 deep")
    if t is None or type(t) in (bool, int, float, str):
        return t
    if type(t) is list:
        return [_dec(x, bufs, resolve, on_array, (*path, i), depth + 1) for i, x in enumerate(t)]
    if type(t) is not dict or len(t) == 0:
        raise WireError(f"not a wire value: {type(t).__name__}")
    tag = next(iter(t))
    if tag == "__t":
        return tuple(_dec(x, bufs, resolve, on_array, (*path, i), depth + 1) for i, x in enumerate(t["__t"]))
    if tag == "__d":
        out = {}
        for i, (k, x) in enumerate(t["__d"]):
            key = _dec(k, bufs, resolve, None, path, depth + 1)
            out[key] = _dec(x, bufs, resolve, on_array, (*path, ("k", i)), depth + 1)
        return out
    if tag == "__nt":
        import collections
        names = [str(n) for n in t["f"]]
        if not all(n.isidentifier() and not n.startswith("_") for n in names) or not str(t["__nt"]).isidentifier():
            raise WireError("a namedtuple with bad names")
        cls = collections.namedtuple(str(t["__nt"]), names)
        return cls(*(_dec(x, bufs, resolve, on_array, (*path, i), depth + 1) for i, x in enumerate(t["v"])))
    if tag == "__rec":
        fields = {str(n): _dec(x, bufs, resolve, None, path, depth + 1) for n, x in t["f"]}
        ref = resolve(t["ref"]) if isinstance(t.get("ref"), dict) else None
        return Record(str(t["__rec"]), fields, ref)
    if tag == "__int":
        return int(t["__int"])
    if tag == "__f":
        return float(t["__f"])
    if tag == "__c":
        return complex(float(t["__c"][0]), float(t["__c"][1]))
    if tag == "__b":
        return bytes(_get(bufs, t["__b"]))
    if tag == "__sl":
        a, b, c = (_dec(x, bufs, resolve, None, path, depth + 1) for x in t["__sl"])
        return slice(a, b, c)
    if tag == "__el":
        return Ellipsis
    if tag == "__nd":
        dt, raw = _np_dtype(t["dt"]), _get(bufs, t["__nd"])
        shape = tuple(int(s) for s in t["sh"])
        if int(np.prod(shape, dtype=np.int64)) * dt.itemsize != len(raw):
            raise WireError("an array's bytes do not match its shape")
        if "lo" in t:  # a view with its margins (guard_margins): rebuilt inside a buffer holding them too
            lo, hi = bytes(_get(bufs, t["lo"])), bytes(_get(bufs, t["hi"]))
            al = t.get("al")
            if type(al) is not int or not 0 <= al < 64 or len(lo) + len(raw) + len(hi) > MAX_MESSAGE:
                raise WireError("a guarded view with a bad layout")
            room = np.zeros(len(lo) + len(raw) + len(hi) + 64, np.uint8)
            start = (al - (room.ctypes.data + len(lo))) % 64
            whole = room[start:start + len(lo) + len(raw) + len(hi)]
            whole[:] = np.frombuffer(lo + bytes(raw) + hi, np.uint8)
            a = whole[len(lo):len(lo) + len(raw)].view(dt).reshape(shape)
            if on_array:
                on_array(path, a, raw, (whole[:len(lo)], lo, whole[len(lo) + len(raw):], hi))
            return a
        a = np.frombuffer(bytearray(raw), dtype=dt).reshape(shape)
        if on_array:
            on_array(path, a, raw)
        return a
    if tag == "__ns":
        return np.frombuffer(bytes(_get(bufs, t["__ns"])), dtype=_np_dtype(t["dt"]))[0]
    if tag == "__tab":
        return Table(_dec(x, bufs, resolve, None, path, depth + 1) for x in t["__tab"])
    if tag == "__fr":
        from fractions import Fraction
        return Fraction(int(t["__fr"][0]), int(t["__fr"][1]))
    if tag == "__npdt":
        return _np_dtype(t["__npdt"])
    if tag == "__tt":
        torch = _torch()
        if torch is None:
            import torch  # noqa: F811 - the judge sent a tensor: the learner's side needs torch too
        dt, raw = _torch_dtype(t["dt"]), _get(bufs, t["__tt"])
        shape = tuple(int(s) for s in t["sh"])
        n = int(np.prod(shape, dtype=np.int64))
        size = torch.empty((), dtype=dt).element_size()
        strides = t.get("st")
        if strides is not None:
            strides = tuple(int(s) for s in strides)
            if len(strides) != len(shape) or any(s < 0 for s in strides):
                raise WireError("bad strides")
            span = 1 + sum((k - 1) * s for k, s in zip(shape, strides)) if n else 0
        else:
            span = n
        if span * size != len(raw):
            raise WireError("a tensor's bytes do not match its shape")
        flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dt) if span else torch.empty(0, dtype=dt)
        x = flat.as_strided(shape, strides) if strides is not None else flat.reshape(shape)
        dev = str(t.get("dev", "cpu"))
        if dev != "cpu":
            x = x.to(torch.device(dev))
        if t.get("par"):
            x = torch.nn.Parameter(x, requires_grad=bool(t.get("rg")))
        elif t.get("rg"):
            x.requires_grad_(True)
        if on_array:
            on_array(path, x, raw)
        return x
    if tag == "__tdt":
        return _torch_dtype(t["__tdt"])
    if tag == "__dev":
        torch = _torch()
        return torch.device(str(t["__dev"]))
    if tag in ("__h", "__cb", "__arg", "__argview"):
        return resolve(t)
    raise WireError(f"unknown wire tag {tag!r}")


# ------------------------------------------------------------------------------------------- framing

def send(sock, header: dict, buffers: list) -> None:
    head = json.dumps(header, allow_nan=False).encode()
    parts = [_LEN.pack(len(head)), _LEN.pack(len(buffers)), head]
    for b in buffers:
        parts += [_LEN.pack(len(b)), b]
    if sum(len(p) for p in parts) < (1 << 20):
        sock.sendall(b"".join(parts))  # one system call for a small message
    else:
        for p in parts:  # large arrays: no joined copy of them
            sock.sendall(p)


class Reader:
    """Buffered reads from a socket: a whole small message in one system call, not one per field."""

    def __init__(self, sock):
        self.sock, self.buf = sock, bytearray()

    def exact(self, n: int) -> bytes:
        if n > MAX_MESSAGE:
            raise WireError(f"a message of {n} bytes: over the limit")
        while len(self.buf) < n:
            chunk = _spin_recv(self.sock, max(65536, min(n - len(self.buf), 1 << 24)))
            if not chunk:
                raise EOFError("the other process closed the connection")
            self.buf += chunk
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out


_READERS: dict = {}
SPIN_S = 0.0003  # poll this long before sleeping: waking a process costs more than a short call takes


def _spin_recv(sock, size: int) -> bytes:
    """recv, but first poll for a moment: the other side usually answers within microseconds, and a
    process put to sleep and woken again costs tens of them on a busy or virtual machine."""
    import socket
    deadline = time.perf_counter() + SPIN_S
    while True:
        try:
            return sock.recv(size, socket.MSG_DONTWAIT)
        except BlockingIOError:
            if time.perf_counter() > deadline:
                return sock.recv(size)


def _exact(sock, n: int) -> bytes:
    reader = _READERS.get(sock.fileno())
    if reader is None or reader.sock is not sock:
        reader = _READERS[sock.fileno()] = Reader(sock)
    return reader.exact(n)


def recv(sock) -> tuple[dict, list]:
    hlen, = _LEN.unpack(_exact(sock, 8))
    nbuf, = _LEN.unpack(_exact(sock, 8))
    if hlen > (64 << 20) or nbuf > (1 << 20):
        raise WireError("a message header over the limit")
    header = json.loads(_exact(sock, hlen))
    if type(header) is not dict:
        raise WireError("a message that is not a JSON object")
    bufs = []
    for _ in range(nbuf):
        n, = _LEN.unpack(_exact(sock, 8))
        bufs.append(_exact(sock, n))
    return header, bufs
