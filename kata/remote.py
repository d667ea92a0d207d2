"""Learner code in its own process; the test, and so the verdict, in the judging process.

Under `--kata-judge=separate` (what `kata grade` runs), `kata.module()` and `kata.library()` do not
load the learner's file into the test's process. They start a *worker* (forked by kata.sandbox's
zygote: another user when grading as root, no network, resource limits, the instructor's files out
of sight), load the file there, and hand the test a proxy. Calling through the proxy sends the
arguments as data (kata.wire), runs the learner's function in the worker and brings back the result
as data, with any argument the function changed in place copied back into the test's own array.
Objects that are not data (a learner's class instance, a Triton kernel, an iterator) stay in the
worker; the test gets a handle whose calls go the same way. A callable the test passes (a grid
lambda, a callback) stays in the judge; the worker may ask the judge to run it, with data.

The harness's measuring blocks (kata.tritonkit's count_bytes, forbid_torch_compute and
guard_allocations) are *mirrored*: entered in the judge, they are also entered in the worker around
each call made inside them, and what the worker measured is added to the judge's object. Those
figures are measured where learner code runs: admission (kata.admission) keeps the learner's files
from reaching them, and the judge checks they are plausible (kata.remote.floor) but cannot re-derive
them. Everything else the test computes (the oracle, the comparisons, the report) happens in the
judge, which never imports, loads or calls learner code.

    REMOTE.enabled(config)        is this run separating the judge from learner code?
    load_module(path, files, display)  -> RemoteObject
    load_library(so_path, cdef)        -> RemoteObject
"""
from __future__ import annotations

import builtins
import contextlib
import itertools
import os
import socket
import sys
import traceback
from pathlib import Path

from kata import wire
from kata.trust import NotSeparable  # noqa: F401 - raised here, and by name from the worker

# ------------------------------------------------------------------------------------ exceptions

# The harness's classes around a learner's shared library, by name (the worker builds the one asked for).
LIBRARY_KINDS = {"plain": ("native.ffi", "NativeLibrary"), "counted": ("native.sanitize", "CountedLibrary"),
                 "syscall": ("native.oskit", "SyscallLibrary"), "threads": ("native.oskit", "ThreadLibrary")}


def library_class(kind: str):
    if kind not in LIBRARY_KINDS:
        raise ValueError(f"unknown kind of library {kind!r} (one of {', '.join(LIBRARY_KINDS)})")
    import importlib
    module, name = LIBRARY_KINDS[kind]
    return getattr(importlib.import_module(module), name)


class RemoteError(RuntimeError):
    """The learner's code raised an exception of a type the judge does not rebuild by name."""

    learner_facing = True


class LearnerProcessDied(RuntimeError):
    """The learner's process died or hung up in the middle of a call."""

    learner_facing = True


_BUILTIN_EXC = {n: c for n, c in vars(builtins).items()
                if isinstance(c, type) and issubclass(c, Exception) and not n.startswith("_")}


def _rebuild_exception(header: dict) -> BaseException:
    """The judge's copy of an exception raised in the worker: a builtin or harness type by name, else
    RemoteError. Only the type's name and message cross: nothing is unpickled."""
    name, msg = str(header.get("type", "Exception")), str(header.get("msg", ""))
    where = str(header.get("where", ""))
    text = msg + (f"\n{where}" if where else "")
    if name == "NotImplementedYet":
        from native.ffi import NotImplementedYet
        return NotImplementedYet(msg)
    if name == "LearnerImportError":
        from kata.context import LearnerImportError
        return LearnerImportError(msg)
    if name == "TritonKitError":
        from kata.tritonkit import TritonKitError
        return TritonKitError(msg)
    if name == "NotSeparable":
        return NotSeparable(msg)
    if name in ("LeakError", "SanitizerError", "ProgramFailed"):  # native.sanitize's findings, as raised
        import native.sanitize as sanitize
        return getattr(sanitize, name)(msg)
    if name == "AssertionError":
        return AssertionError(msg)
    if name == "NotImplementedError":  # a stub: kata.failures says NOT IMPLEMENTED YET, with where it was raised
        import re
        places = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', where)
        at = f"\n  raised at {places[-1][0]}:{places[-1][1]} in {places[-1][2]}()" if places else ""
        return NotImplementedError(msg + at)
    cls = _BUILTIN_EXC.get(name)
    if cls is not None and name not in ("SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        try:
            e = cls(text) if name not in ("KeyError",) else cls(msg)
            e.learner_facing = True  # type: ignore[attr-defined]
            return e
        except Exception:  # noqa: BLE001 - a constructor wanting other arguments
            pass
    return RemoteError(f"{name}: {text}")


# ----------------------------------------------------------------------------------- mirrors

# Measuring blocks open in the judge, outermost first: (kind, kwargs, the judge's object).
_MIRRORS: list[tuple[str, dict, object]] = []


@contextlib.contextmanager
def mirrored(kind: str, obj, **kwargs):
    """Called by a measuring block (kata.tritonkit) as it is entered: calls through a proxy inside it
    enter the same block in the worker, and what it measured there is added to `obj`."""
    _MIRRORS.append((kind, kwargs, obj))
    try:
        yield obj
    finally:
        _MIRRORS.remove(next(m for m in _MIRRORS if m[2] is obj))


_NO_VALUE = object()


def returned_tensors(value, depth=0) -> list:
    """The plain tensors of a call's result (itself, or inside tuples and lists), in order: both sides
    list them alike, so a store's place in one can be named by its index."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return [value]
    if depth < 2 and type(value) in (tuple, list):
        return [t for v in value for t in returned_tensors(v, depth + 1)]
    return []


def rebased_stores(addresses: list[int], value) -> list[list[int]]:
    """The worker's side: each store address inside a returned tensor as [its index, byte offset]."""
    spans = []
    for i, t in enumerate(returned_tensors(value)):
        if t.numel() and t.device.type == "cpu":
            nbytes = (1 + sum((n - 1) * st for n, st in zip(t.shape, t.stride()))) * t.element_size()
            spans.append((t.data_ptr(), nbytes, i))
    out = []
    for a in addresses:
        hit = next(((i, a - base) for base, nbytes, i in spans if base <= a < base + nbytes), None)
        if hit is not None:
            out.append(list(hit))
    return out


def _merge(kind: str, obj, data: dict, value=_NO_VALUE) -> None:
    if kind == "count_bytes":
        for k in ("loaded", "stored", "atomic", "launches", "programs", "torch_bytes"):
            setattr(obj, k, getattr(obj, k) + int(data.get(k, 0)))
        obj.torch_ops.extend(str(s) for s in data.get("torch_ops", [])[:100])
        obj.widest_load = max(obj.widest_load, int(data.get("widest_load", 0)))
        # stores into the returned tensors, as (which tensor, byte offset): at the judge's own addresses
        bases = [t.data_ptr() for t in returned_tensors(value)] if value is not _NO_VALUE else []
        for pair in (data.get("store_starts") or [])[:100_000] if bases else ():
            i, off = (int(n) for n in pair)
            if 0 <= i < len(bases):
                obj.store_starts.append(bases[i] + off)
    elif kind == "forbid_torch_compute":
        import kata.tritonkit as tk
        tk._launch_count += int(data.get("launches", 0))
    elif kind == "gpu_peak":
        obj.extra, obj.remote = max(obj.extra, int(data.get("peak", 0))), True
    elif kind == "op_census":
        obj.ops.extend(str(s) for s in (data.get("ops") or [])[:100_000])
        if int(data.get("largest", 0)) > obj.largest:
            obj.largest, obj.largest_op = int(data["largest"]), str(data.get("largest_op", ""))
        for key, n in (data.get("made") or {}).items():
            obj.made[str(key)] = obj.made.get(str(key), 0) + int(n)
        obj.read += int(data.get("read", 0))


def _worker_block(kind: str, kwargs: dict, ak: dict):
    if kind == "op_census":
        from kata.toolkit import OpCensus
        return OpCensus(watch=[walk_path(ak, p) for p in kwargs.get("watch") or ()])
    import kata.tritonkit as tk
    if kind == "count_bytes":
        return tk.count_bytes()
    if kind == "forbid_torch_compute":
        return tk.forbid_torch_compute()
    if kind == "gpu_peak":
        return tk.gpu_peak_memory()
    if kind == "guard_allocations":
        return tk.guard_allocations(**{k: int(v) for k, v in kwargs.items() if k == "margin_bytes"})
    raise wire.WireError(f"unknown measuring block {kind!r}")


def block_data(kind: str, obj) -> dict:
    if kind == "count_bytes":
        return {k: getattr(obj, k) for k in ("loaded", "stored", "atomic", "launches", "programs", "torch_bytes",
                                             "widest_load")} | \
               {"torch_ops": list(obj.torch_ops)[:100], "store_starts": list(obj.store_starts)}
    if kind == "forbid_torch_compute":
        return {"launches": obj.launches}
    if kind == "gpu_peak":
        return {"peak": obj.extra}
    if kind == "op_census":
        return {"ops": list(obj.ops)[:100_000], "largest": obj.largest, "largest_op": obj.largest_op or "",
                "made": dict(obj.made), "read": obj.read}
    return {}


def _block_kwargs(kind: str, kw: dict, ak: dict) -> dict:
    """A measuring block's settings as data for the worker: a census's watched tensors become the
    paths, among this call's arguments, of the arguments that are those tensors."""
    out = {k: v for k, v in kw.items() if type(v) in (int, float, str, bool)}
    if kind == "op_census" and kw.get("watch"):
        out["watch"] = [p for w in kw["watch"] for p in _paths_of(ak, w)]
    return out


def _paths_of(node, target, path=()):
    if node is target:
        return [list(path)]
    if isinstance(node, dict):
        return [p for key, v in node.items() for p in _paths_of(v, target, (*path, key))]
    if isinstance(node, (list, tuple)):
        return [p for i, v in enumerate(node) for p in _paths_of(v, target, (*path, i))]
    return []


# Timed runs open in the judge (kata.timing): a call through a proxy inside one counts the time the
# worker measured around the learner's function, not the judge's time spent moving data.
_TIMERS: list["Timer"] = []
_CLOCKS = {"cpu": __import__("time").process_time, "wall": __import__("time").perf_counter}


class Timer:
    def __init__(self, clock: str):
        self.clock, self.adjust = clock, 0.0


@contextlib.contextmanager
def timing(clock: str):
    """Around one timed run of kata.timing: yields a Timer whose `adjust` (seconds) the timed duration
    must add, so a proxied call counts the worker's time for the learner's function alone."""
    t = Timer(clock)
    _TIMERS.append(t)
    try:
        yield t
    finally:
        _TIMERS.remove(t)


# GPU timings open in the judge (kata.timing.gpu_ms under a separate judge): a call through a proxy inside
# one is timed apart from the judge. A call into the learner's Python is timed by the grader's replayer, which
# re-runs the call's kernels and torch ops from its tape (kata.replay) where no learner Python runs; a call
# into a learner's native library (CUDA) is timed in the worker by the harness's own loop, which the
# library cannot reach (kata.admission refuses the symbols it would need).
_GPU_TIMERS: list[dict] = []


@contextlib.contextmanager
def gpu_timing(warmup: int, rep: int):
    """Around kata.timing.gpu_ms's first call of its function: yields {"ms": [...]}, one figure per proxied
    call made inside, each the median of triton.testing.do_bench(warmup, rep) of that call."""
    t = {"warmup": int(warmup), "rep": int(rep), "ms": []}
    _GPU_TIMERS.append(t)
    try:
        yield t
    finally:
        _GPU_TIMERS.remove(t)


def _quiet():
    """The judge's own tensor work while moving data (decoding, copying back) is not the learner's:
    keep it out of the judge's measuring blocks."""
    tk = sys.modules.get("kata.tritonkit")
    return tk.kit_ops() if tk is not None else contextlib.nullcontext()


# ---------------------------------------------------------------------------- the connection

class Peer:
    """One end of a connection. Either side may ask the other to do something while it waits for an
    answer (the judge runs a callback; the worker runs a call), so every wait also serves requests."""

    def __init__(self, sock: socket.socket, serve):
        self.sock, self._serve = sock, serve

    def ask(self, header: dict, buffers: list):
        wire.send(self.sock, header, buffers)
        while True:
            reply, bufs = wire.recv(self.sock)
            if reply.get("op") in ("ok", "err"):
                return reply, bufs
            self._answer(reply, bufs)

    def _answer(self, header, bufs):
        try:
            out_header, out_bufs = self._serve(header, bufs)
        except BaseException as e:  # noqa: BLE001 - the other side gets the error as data
            out_header, out_bufs = _error_reply(e), []
        wire.send(self.sock, out_header, out_bufs)

    def serve_forever(self):
        while True:
            try:
                header, bufs = wire.recv(self.sock)
            except (EOFError, ConnectionError, OSError):
                return
            self._answer(header, bufs)


def _error_reply(e: BaseException) -> dict:
    blocks, shown = None, {}
    if isinstance(e, _WithBlocks):  # what the measuring blocks saw before the call raised
        e, blocks = e.inner, e.blocks
    if isinstance(e, _Shown):
        e, shown = e.inner, e.shown
    frames = [f for f in traceback.extract_tb(e.__traceback__)
              if not any(s in f.filename for s in (f"{os.sep}kata{os.sep}", f"{os.sep}native{os.sep}"))]
    where = "".join(traceback.format_list(frames[-6:])) if frames else ""
    for copy, known in shown.items():
        where = where.replace(copy, known)
    reply = {"op": "err", "type": type(e).__name__, "msg": str(e)[:20000], "where": where[:8000]}
    if blocks is not None:
        reply["blocks"] = blocks
    return reply


# ------------------------------------------------------------------------------- the judge

class _ArgRef:
    def __init__(self, path):
        self.path = path


class _ArgView:
    """A tensor the learner's code returned that is a view of one of the call's tensor arguments: the
    judge rebuilds it as the same view of its own argument (same storage, as the test expects)."""

    def __init__(self, path, view, arg):
        self.path = path
        self.size, self.stride = list(view.shape), list(view.stride())
        self.offset = int(view.storage_offset()) - int(arg.storage_offset())


class RemoteObject:
    """The judge's handle on an object that lives in the learner's process."""

    __slots__ = ("_judge", "_h", "_label", "_attrs")

    def __init__(self, judge: "Judge", h: int, label: str):
        object.__setattr__(self, "_judge", judge)
        object.__setattr__(self, "_h", h)
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_attrs", {})

    def _do(self, op, *args, **kwargs):
        return self._judge.invoke(self._h, op, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in ("__name__", "__qualname__", "__doc__"):
            raise AttributeError(name)
        if name in self._attrs:
            return self._attrs[name]
        value = self._judge.invoke(self._h, "getattr", (name,), {})
        if isinstance(value, RemoteObject):
            self._attrs[name] = value  # a function or class: the same object on every look-up
        return value

    def __setattr__(self, name, value):
        self._attrs.pop(name, None)
        self._do("setattr", name, value)

    def __call__(self, *args, **kwargs):
        return self._judge.invoke(self._h, "call", args, kwargs)

    def __getitem__(self, key):
        return self._do("getitem", key)

    def __setitem__(self, key, value):
        self._do("setitem", key, value)

    def __len__(self):
        return self._do("len")

    def __iter__(self):
        return self._do("iter")

    def __next__(self):
        return self._do("next")

    def __contains__(self, item):
        return self._do("contains", item)

    def __bool__(self):
        return self._do("bool")

    def __repr__(self):
        try:
            return f"<in the learner's process: {self._do('repr')}>"
        except Exception:  # noqa: BLE001
            return f"<in the learner's process: {self._label}>"

    def __eq__(self, other):
        if other is self or (isinstance(other, RemoteObject) and other._judge is self._judge and other._h == self._h):
            return True
        if isinstance(other, RemoteObject):
            # Two handles are two objects of the learner's process (cffi pointers, say): whether they
            # are equal is a question for that process. Identity here would answer silently wrong.
            raise NotSeparable(f"the test compared two objects of the learner's process ({self._label}, "
                               f"{other._label}); compare them where they live: in a probe (kata.probe), "
                               "returning the answer as data")
        return NotImplemented

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = object.__hash__

    def __enter__(self):
        return self._do("enter")

    def __exit__(self, *exc):
        return self._do("exit")


# faulthandler's first line ("Fatal Python error: Segmentation fault") -> the signal
_FATAL = {"Segmentation fault": 11, "Bus error": 7, "Floating-point exception": 8, "Floating point exception": 8,
          "Aborted": 6, "Illegal instruction": 4}


def cpu_snapshot(pid: int) -> tuple[int, int] | None:
    """The CPU time process `pid` has run, as the kernel counts it: (ns of its live threads, from
    /proc/PID/task/*/schedstat; clock ticks of all its threads, ended ones included, from /proc/PID/stat).
    The learner's process cannot change either. None where /proc does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        live = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                live += int((task / "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # a thread that just ended: the ticks hold it
        return live, ticks
    except (OSError, ValueError, IndexError):
        return None


_TICK = 1 / os.sysconf("SC_CLK_TCK")


def settle(pid: int, wait: float = 0.002) -> bool:
    """Wait (at most `wait` seconds) until process `pid`'s main thread is off the CPU, waiting for the
    judge's answer. The kernel brings a thread's CPU count up to date when it leaves the CPU; while it
    runs, the count can lag by a scheduler tick. False: it was still running when the wait ran out."""
    deadline = _CLOCKS["wall"]() + wait
    while True:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        if stat[stat.rindex(")") + 2:stat.rindex(")") + 3] != "R":
            return True
        if _CLOCKS["wall"]() > deadline:
            return False


def check_reported_time(clocks: list[str], took: dict, marks: list) -> None:
    """A timed call's figures from the learner's process (`took`: seconds by clock) against the judge's own
    view of the same window: at the two marks the worker sends just before and just after the learner's
    function, the judge read the kernel's count of the worker's CPU time (all its threads) and its own
    clock. The worker's clocks cover a little less (the marks' own messages), so the allowances are
    small but generous; a time reported below them was not measured, it was made up: TAMPERED."""
    if len(marks) != 2 or any(c not in took for c in clocks):
        raise Tampered("TAMPERED: the learner's process did not mark where its timed call started and stopped; "
                       "this test scores 0")
    (before, t0, settled0), (after, t1, settled1) = marks
    if "cpu" in took and before is not None and after is not None:
        kernel = max((after[0] - before[0]) * 1e-9, (after[1] - before[1] - 2) * _TICK)
        lag = 0.0 if settled0 and settled1 else 0.010  # a count read while the thread ran may lag a tick
        if took["cpu"] < 0.85 * kernel - 1e-3 - lag:
            raise Tampered(f"TAMPERED: the learner's process reported {took['cpu'] * 1e3:.3f} ms of CPU time for a "
                           f"call the kernel counted {kernel * 1e3:.3f} ms of its CPU time for: the code under test "
                           "changed how its time is measured; this test scores 0")
    if "wall" in took and took["wall"] < 0.5 * (t1 - t0) - 5e-3:
        raise Tampered(f"TAMPERED: the learner's process reported {took['wall'] * 1e3:.3f} ms for a call that took "
                       f"{(t1 - t0) * 1e3:.3f} ms between its marks, as the judge saw them: the code under test changed "
                       "how its time is measured; this test scores 0")


class Judge:
    """The test process's side of one worker."""

    def __init__(self, sock: socket.socket, pid: int, crash_fd: int = -1):
        self.peer = Peer(sock, self._serve)
        self.pid, self.crash_fd = pid, crash_fd
        self._callbacks: dict[int, object] = {}
        self._ids = itertools.count(1)
        self.sources: dict[str, str] = {}  # the learner's Python files: kernels a replay runs (kata.replay)
        self._marks: list | None = None  # a timed call's two marks: (cpu_snapshot, wall clock, settled) at start and stop
        self.native: set[int] = set()  # handles of a learner's library and of what came from it: no Python of the learner's

    # values the judge sends
    def _refs(self, v):
        if isinstance(v, wire.Record):
            v = v._ref
            if v is None:
                raise NotSeparable("a record with no object behind it")
        if isinstance(v, RemoteObject):
            if v._judge is not self:
                raise wire.WireError("a handle from another learner process")
            return {"__h": v._h}
        if callable(v):
            i = next(self._ids)
            self._callbacks[i] = v
            return {"__cb": i, "name": getattr(v, "__name__", "callback")[:80]}
        raise NotSeparable(f"the test passed a {type(v).__name__} to the learner's code, which cannot cross to "
                           "the learner's process as data")

    def _resolve_reply(self, ref, args_kwargs=None, native: bool = False):
        if "__h" in ref:
            if native:
                self.native.add(int(ref["__h"]))
            return RemoteObject(self, int(ref["__h"]), str(ref.get("label", "object"))[:200])
        if "__arg" in ref and args_kwargs is not None:
            return walk_path(args_kwargs, ref["__arg"])
        if "__argview" in ref and args_kwargs is not None:
            base = walk_path(args_kwargs, ref["__argview"])
            size, stride = [int(n) for n in ref["size"]], [int(n) for n in ref["stride"]]
            offset = base.storage_offset() + int(ref["off"])
            if len(size) != len(stride) or offset < 0:
                raise wire.WireError("a view with an impossible layout")
            return base.as_strided(size, stride, offset)  # torch refuses a view past the storage's end
        raise wire.WireError("a reference the judge did not hand out")

    def invoke(self, h: int, op: str, args: tuple, kwargs: dict):
        timers = list(_TIMERS)
        clocks = sorted({t.clock for t in timers})
        mine = {c: _CLOCKS[c]() for c in clocks}
        took: dict = {}
        outer, self._marks = self._marks, ([] if clocks or _GPU_TIMERS else None)
        try:
            value = self._invoke(h, op, args, kwargs, clocks, took)
            if clocks:
                check_reported_time(clocks, took, self._marks)
            return value
        finally:
            self._marks = outer
            # What the judge spent on this call (moving data both ways), replaced by the time the
            # learner's function took in its own process.
            for t in timers:
                t.adjust += max(0.0, float(took.get(t.clock, 0.0))) - (_CLOCKS[t.clock]() - mine[t.clock])

    def _invoke(self, h, op, args, kwargs, clocks, took):
        _not_watching_here()
        mirrors = list(_MIRRORS)
        with _quiet():
            tree, bufs = wire.encode({"a": tuple(args), "k": dict(kwargs)}, self._refs)
        header = {"op": op, "h": h, "args": tree,
                  "blocks": [[kind, _block_kwargs(kind, kw, {"a": tuple(args), "k": dict(kwargs)})]
                             for kind, kw, _ in mirrors]}
        if clocks:
            header["clocks"] = clocks
        gpu = _GPU_TIMERS[-1] if _GPU_TIMERS and op == "call" else None  # not the look-up of the function
        if gpu is not None:  # timed by the replayer from the call's tape, or by the worker's loop for a library
            header["gpu_time"] = {"warmup": gpu["warmup"], "rep": gpu["rep"], "how": "bench" if h in self.native else "tape"}
        before = None
        if any(kind in REPLAYED for kind, _, _ in mirrors) or (gpu is not None and h not in self.native):
            with _quiet():  # the test's own measuring blocks do not count the judge's copy
                before = _inputs_copy({"a": tuple(args), "k": dict(kwargs)})
        try:
            reply, rbufs = self.peer.ask(header, bufs)
        except (EOFError, ConnectionError, OSError) as e:
            crashed = self._fatal_signal()
            if crashed:
                raise LearnerProcessDied(f"CRASH: the learner's process died with {crashed} in the middle of a call") from None
            raise LearnerProcessDied(
                f"the learner's process ended in the middle of a call ({self._how_it_ended() or e}): the code "
                "under test crashed, called exit(), or ran out of memory or time") from None
        if isinstance(reply.get("took"), dict):
            took.update({c: v for c, v in reply["took"].items() if c in clocks and type(v) in (int, float)})
        with _quiet():
            blocks = [(kind, obj, data) for (kind, _, obj), data in zip(mirrors, reply.get("blocks") or [])
                      if isinstance(data, dict)]
            if reply["op"] == "err":
                for kind, obj, data in blocks:
                    _merge(kind, obj, data)
                raise _rebuild_exception(reply)
            ak = {"a": args, "k": kwargs}
            for path, lo, hi in reply.get("around") or []:  # margins first: the outputs proper win
                _copy_margins(walk_path(ak, path), wire._get(rbufs, lo), wire._get(rbufs, hi))
            for path, tree_m in reply.get("changed") or []:
                target = walk_path(ak, path)
                new = wire.decode(tree_m, rbufs, lambda r: self._resolve_reply(r, ak))
                _copy_into(target, new)
            value = wire.decode(reply["value"], rbufs, lambda r: self._resolve_reply(r, ak, h in self.native))
        replayed = None
        if gpu is not None and h in self.native:
            gpu["ms"].append(self._bench_figure(reply))
        timed = gpu is not None and h not in self.native  # learner Python, timed by the replay of its tape
        if timed or any(kind in REPLAYED for kind, _, _ in blocks):
            with _quiet():  # the comparisons' own copies are the judge's, not the call's
                tape = wire.decode(reply["tape"], rbufs, lambda r: None) if isinstance(reply.get("tape"), dict) else None
                censuses = [_block_kwargs(kind, kw, ak).get("watch") or [] for kind, kw, _ in mirrors
                            if kind == "op_census"]
                replayed = self._replayed(tape, value, ak, before, bool(reply.get("changed")), censuses,
                                          bench={"warmup": gpu["warmup"], "rep": gpu["rep"]} if timed else None)
            if timed:
                gpu["ms"].append(float(replayed[0]["ms"]))
        census = itertools.count()
        for kind, obj, data in blocks:
            if replayed is not None and kind in REPLAYED:
                data = _rederived(kind, data, *replayed, next(census) if kind == "op_census" else -1)
            with _quiet():
                _merge(kind, obj, data, value)
        return value

    def _bench_figure(self, reply) -> float:
        """A learner library's call timed in the worker (do_bench's median, ms), checked against the judge's
        clock between the marks the worker sent around its loop: `runs` calls of that median cannot have
        taken more than the wall time between them (a figure too small is not caught: docs/grading.md)."""
        ms, runs = reply.get("gpu_ms"), reply.get("gpu_runs")
        marks = self._marks or []
        if type(ms) not in (int, float) or type(runs) is not int or runs < 1 or len(marks) != 2 or not ms > 0:
            raise Tampered("TAMPERED: the learner's process did not time the call as the grader asked; this test scores 0")
        wall = (marks[1][1] - marks[0][1]) * 1e3
        if ms * runs > 1.5 * wall + 5:
            raise Tampered(f"TAMPERED: the learner's process reported {runs} runs of {ms:.4f} ms in {wall:.1f} ms of "
                           "wall time; this test scores 0")
        return float(ms)

    def _replayed(self, tape, value, ak: dict, before, changed: bool, censuses: list,
                  bench: dict | None = None) -> tuple[dict, dict]:
        """A replay of the call's tape in a process of the judge's (kata.replay), its outputs found equal to
        the call's: (the replay's findings, the tape). What count_bytes, forbid_torch_compute,
        guard_allocations and OpCensus then report comes from these, never from the learner's process."""
        from kata import judging
        from kata.replay import ReplayError, same_bits
        if not isinstance(tape, dict):
            raise ReplayError("REPLAY: the learner's process sent no record of the call to re-check its kernels "
                              "(the grader's recorder was switched off in it)")
        if not tape.get("events") and not returned_tensors(value) and not changed:
            if bench:
                raise ReplayError("REPLAY: the call ran no kernel and no torch op: there is nothing on the GPU to time")
            return {"counts": {}, "margins": [], "census": []}, tape  # nothing ran, nothing came back
        rep = judging.replayer()
        with _quiet():
            tree, bufs = wire.encode({"tape": tape, "files": self.sources, "inputs": before, "censuses": censuses,
                                      "bench": bench}, rep._refs)
        try:
            reply, rbufs = rep.peer.ask({"op": "replay", "msg": tree}, bufs)
        except (EOFError, ConnectionError, OSError):
            raise ReplayError("REPLAY: the grader's process that re-runs your kernels died "
                              f"({rep._fatal_signal() or rep._how_it_ended() or 'no reason given'})") from None
        if reply["op"] == "err":
            e = _rebuild_exception(reply)
            raise ReplayError(f"REPLAY: the grader re-runs your call apart from your Python to check what this test "
                              f"measures (bytes, torch ops, out-of-bounds writes), and could not: {e}") from None
        with _quiet():
            got = wire.decode(reply["value"], rbufs, lambda r: None)
        mine = returned_tensors(value)
        for i, (t, r) in enumerate(zip(mine, got["outs"])):
            if r is None:
                raise ReplayError(f"REPLAY: the tensor your function returned{_nth(i, mine)} was not made by a torch op "
                                  "or a kernel during the call (numpy? a tensor kept from an earlier call? an op hidden "
                                  "from torch's dispatch?): what made it cannot be checked")
            if not same_bits(t, r):
                raise ReplayError(f"REPLAY MISMATCH: the tensor your function returned{_nth(i, mine)} is not what your "
                                  "kernels and torch ops produce when the grader re-runs them from the test's inputs. "
                                  "The output must come from the kernels the call launched; or a kernel reads memory it "
                                  "does not own (an unmasked tl.load past the end reads different bytes each run).")
        for path, r in got["args"]:
            t = walk_path(ak, path)
            if not same_bits(t, r):
                raise ReplayError(f"REPLAY MISMATCH: argument {_path_text(path)} as your call left it is not what your "
                                  "kernels and torch ops leave there when the grader re-runs them")
        return got, tape

    def _how_it_ended(self) -> str:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return ""
        if pid and os.WIFSIGNALED(status):
            from kata.signals import describe_signal
            return describe_signal(os.WTERMSIG(status), None)
        if pid and os.WIFEXITED(status):
            return f"exit status {os.WEXITSTATUS(status)}"
        return ""

    def _fatal_signal(self) -> str:
        """The fatal signal the worker's faulthandler reported ("" if none): its first line names it."""
        if self.crash_fd < 0:
            return ""
        import select

        from kata.signals import describe_signal
        text = b""
        if select.select([self.crash_fd], [], [], 0.5)[0]:  # it writes as the signal arrives
            try:
                text = os.read(self.crash_fd, 4096)
            except OSError:
                pass
        first = text.decode(errors="replace").strip().splitlines()[:1]
        for name, signum in _FATAL.items():
            if first and first[0].endswith(name):
                return describe_signal(signum)
        return ""

    # requests the worker sends: run a callback of the test's
    def _serve(self, header, bufs):
        if header.get("op") == "mark" and self._marks is not None and len(self._marks) < 2:
            wall = _CLOCKS["wall"]()
            settled = settle(self.pid)
            self._marks.append((cpu_snapshot(self.pid), wall, settled))
            return {"op": "ok", "value": None}, []
        if header.get("op") != "callback":
            raise wire.WireError(f"the learner's process asked for {header.get('op')!r}")
        fn = self._callbacks.get(header.get("cb"))
        if fn is None:
            raise wire.WireError("a callback the judge never handed out")
        with _quiet():
            ak = wire.decode(header["args"], bufs, lambda r: self._resolve_reply(r))
        out = fn(*ak["a"], **ak["k"])
        with _quiet():
            tree, obufs = wire.encode(out, self._refs)
        return {"op": "ok", "value": tree}, obufs

    # loading learner code
    def load_module(self, path: Path, files: dict[str, bytes], display: str):
        self.sources.update({n: b.decode(errors="replace") for n, b in files.items() if n.endswith(".py")})
        names = sorted(files)
        return self._load({"op": "load_module", "main": path.name, "display": display, "files": names},
                          [files[n] for n in names])

    def load_probe(self, path: Path):
        """An instructor's probe module (KataContext.probe), loaded in the worker beside the learner's code."""
        return self._load({"op": "load_probe", "name": path.name}, [path.read_bytes()])

    def load_library(self, so: Path, cdef: str, kind: str = "plain"):
        library_class(kind)  # an unknown kind is the harness's mistake: say so here
        lib = self._load({"op": "load_library", "name": so.name, "cdef": cdef, "kind": kind}, [so.read_bytes()])
        self.native.add(lib._h)  # and what comes from it (kata.timing.gpu_ms times its calls in the worker)
        return lib

    def _load(self, header, bufs):
        try:
            reply, rbufs = self.peer.ask(header, bufs)
        except (EOFError, ConnectionError, OSError) as e:
            crashed = self._fatal_signal()
            if crashed:
                raise LearnerProcessDied(f"CRASH: the learner's process died with {crashed} while loading your code") from None
            raise LearnerProcessDied(f"the learner's process ended while loading your code ({self._how_it_ended() or e}): "
                                     "its top level crashed or called exit()") from None
        if reply["op"] == "err":
            raise _rebuild_exception(reply)
        return wire.decode(reply["value"], rbufs, lambda r: self._resolve_reply(r))

    # a program built with the learner's code (native.launch), run by a worker of its own
    def run_program(self, argv: list[str], *, timeout: float, env: dict, fetch: str | None, memory_limit: bool):
        import subprocess

        from native import launch
        ship, bufs = launch.pack(argv)
        header = {"op": "run_program", "argv": argv, "ship": ship, "env": {str(k): str(v) for k, v in env.items()},
                  "timeout": float(timeout), "fetch": fetch or "", "memory_limit": bool(memory_limit)}
        try:
            reply, rbufs = self.peer.ask(header, bufs)
        except (EOFError, ConnectionError, OSError) as e:
            raise LearnerProcessDied(f"the sandbox's process that runs programs ended ({self._how_it_ended() or e})") from None
        if reply["op"] == "err":
            raise _rebuild_exception(reply)
        if reply.get("timeout"):
            raise subprocess.TimeoutExpired(argv, timeout)
        names = [str(n) for n in reply.get("files") or []]
        return launch.Ran(int(reply["rc"]), str(reply["stdout"]), str(reply["stderr"]), dict(zip(names, rbufs)))

    def close(self):
        try:
            self.peer.sock.close()
        except OSError:
            pass


REPLAYED = ("count_bytes", "forbid_torch_compute", "guard_allocations", "op_census", "gpu_peak")  # what a replay re-derives


def _rederived(kind: str, data: dict, got: dict, tape: dict, census: int) -> dict:
    """What measuring block `kind` reports for a replayed call: from the replay and the tape it
    reproduced. `data` (what the learner's process measured) must agree, or the call fails. `census`:
    which of the call's OpCensus blocks this is."""
    from kata.replay import ReplayError
    if kind == "op_census":
        found = got.get("census") or []
        seen = found[census] if census < len(found) else {"ops": [], "largest": 0, "largest_op": "", "made": {}, "read": 0}
        for k in ("ops", "largest", "made", "read"):
            if data.get(k) != seen.get(k):
                mine, theirs = (str(d.get(k))[:300] for d in (data, seen))
                raise ReplayError(f"REPLAY MISMATCH: the torch ops your process reported for the call are not the ones "
                                  f"the grader's replay of the same call runs ({k}: yours {mine}, the replay's "
                                  f"{theirs}): the census was changed in your process")
        return dict(seen)
    from kata.tritonkit import ALLOWED_OPS, compute_message
    if kind == "gpu_peak":  # the replay's figure, whatever the learner's process measured
        return {"peak": int(got.get("peak", 0))}
    if kind == "count_bytes":
        counts = got["counts"]
        keys = ("loaded", "stored", "atomic", "launches", "programs", "torch_bytes")
        own, theirs = ({k: int(d.get(k) or 0) for k in keys} for d in (data, counts))
        if own != theirs:
            raise ReplayError(f"REPLAY MISMATCH: your process counted {own}, the grader's replay of the same call "
                              f"{theirs}: the counts were changed in your process")
        return dict(counts)
    if kind == "forbid_torch_compute":
        for ev in tape.get("events") or ():
            if ev[0] == "op" and str(ev[1]).split(".")[1:2] and str(ev[1]).split(".")[1] not in ALLOWED_OPS:
                raise AssertionError(compute_message(str(ev[1]), str(ev[5])))
        return {"launches": sum(1 for ev in tape.get("events") or () if ev[0] == "launch")}
    if got.get("margins"):  # guard_allocations
        raise AssertionError(got["margins"][0])
    return data


def _inputs_copy(node, depth=0):
    """The call's tensor arguments, copied before the call (the replay starts from them); other values None."""
    torch = sys.modules.get("torch")
    if torch is not None and type(node) is torch.Tensor:
        return node.detach().clone()
    if depth < 4 and isinstance(node, (tuple, list)):
        return [_inputs_copy(v, depth + 1) for v in node]
    if depth < 4 and isinstance(node, dict):
        return {k: _inputs_copy(v, depth + 1) for k, v in node.items()}
    return None


def _nth(i: int, tensors: list) -> str:
    return f" (number {i + 1} of {len(tensors)})" if len(tensors) > 1 else ""


def _path_text(path) -> str:
    where = "args" if path[:1] == ["a"] else "kwargs"
    return where + "".join(f"[{p!r}]" for p in path[1:])


def _not_watching_here() -> None:
    """A test that watches the learner's code from inside its own process (a TorchDispatchMode of its own,
    sys.setprofile, sys.settrace, tracemalloc) would see nothing of a call that runs in the worker, and
    a naive answer could pass: refuse, so the watching moves into a probe (kata.probe)."""
    why = None
    if sys.getprofile() is not None:
        why = "sys.setprofile"
    elif sys.gettrace() is not None and "pydevd" not in repr(sys.gettrace()) and "coverage" not in repr(sys.gettrace()):
        why = "sys.settrace"
    elif "tracemalloc" in sys.modules and sys.modules["tracemalloc"].is_tracing():
        why = "tracemalloc"
    elif "torch" in sys.modules:
        try:
            from torch.utils._python_dispatch import _get_current_dispatch_mode_stack
            own = ("ForbidTorchCompute", "GuardAllocations", "CountTorchCopies", "OpCensus")
            modes = [type(m).__name__ for m in _get_current_dispatch_mode_stack() if type(m).__name__ not in own]
            if modes:
                why = f"a TorchDispatchMode ({modes[0]})"
        except ImportError:
            pass
    if why:
        raise NotSeparable(f"the test watches the learner's code with {why} in its own process, but that code runs "
                           "in the learner's worker: watch it there, in a probe (kata.probe) that returns what it saw")


def walk_path(root, path):
    node = root
    for step in path:
        if isinstance(step, list) and len(step) == 2 and step[0] == "k":  # the i-th item of a dict
            node = list(node.values())[int(step[1])]
        elif isinstance(node, dict):
            node = node[step]
        else:
            node = node[int(step)]
    return node


def _copy_margins(view, lo: bytes, hi: bytes) -> None:
    """What the learner's function wrote beside a guarded view (past its ends), written into the judge's
    buffer around it, where the test's margin check looks."""
    import numpy as np
    base = wire.guarded_base(view) if isinstance(view, np.ndarray) else None
    if base is None or not base.flags.writeable:
        raise wire.WireError("margins for an argument that has none")
    whole = base.reshape(-1).view(np.uint8)
    off = view.ctypes.data - base.ctypes.data
    if len(lo) != off or len(hi) != base.nbytes - off - view.nbytes:
        raise wire.WireError("margins of the wrong size")
    whole[:off] = np.frombuffer(bytes(lo), np.uint8)
    whole[off + view.nbytes:] = np.frombuffer(bytes(hi), np.uint8)


def _copy_into(target, new) -> None:
    """What the learner's function wrote into an argument, written into the judge's own argument."""
    import numpy as np
    if isinstance(target, np.ndarray) and isinstance(new, np.ndarray):
        if target.flags.writeable and target.shape == new.shape:
            np.copyto(target, new, casting="no")
        return
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(target, torch.Tensor) and isinstance(new, torch.Tensor):
        if target.shape == new.shape and target.dtype == new.dtype:
            with torch.no_grad():
                target.copy_(new.to(target.device))


# ------------------------------------------------------------------------------- the worker

# What the worker's measuring relies on: the harness modules it uses, the Triton and torch entry points
# they wrap, the clocks. Taken before the learner's code loads; compared after every call.
_INSTRUMENTED_MODULES = ("kata.tritonkit", "kata.remote", "kata.wire", "kata.timing", "kata.toolkit", "native.ffi", "time",
                         "triton.testing")
_INSTRUMENTED_CLASSES = (("triton.runtime.interpreter", "InterpreterBuilder"), ("triton.runtime.interpreter", "GridExecutor"),
                         ("triton.runtime.interpreter", "InterpretedFunction"), ("triton.runtime.jit", "JITFunction"),
                         ("triton.runtime.autotuner", "Autotuner"), ("torch.utils._python_dispatch", "TorchDispatchMode"),
                         ("kata.remote", "Worker"), ("kata.remote", "Peer"), ("native.ffi", "NativeLibrary"),
                         ("native.sanitize", "CountedLibrary"), ("native.oskit", "SyscallLibrary"),
                         ("native.oskit", "ThreadLibrary"),
                         ("kata.toolkit", "OpCensus"))


class Tampered(Exception):
    """The learner's code changed one of the grader's instruments in its process."""


def _instruments() -> list:
    """(namespace, name, object) for every instrument: compared by identity after each call."""
    snap = []
    for name in _INSTRUMENTED_MODULES:
        mod = sys.modules.get(name)
        if mod is None:
            continue
        ns = vars(mod)
        snap += [(ns, k, v) for k, v in list(ns.items()) if callable(v) or isinstance(v, (frozenset, type))]
    for modname, cls in _INSTRUMENTED_CLASSES:
        # (from the module's namespace: a module __getattr__, kata.toolkit's, would define, and import torch)
        owner = vars(sys.modules[modname]).get(cls) if modname in sys.modules else None
        if isinstance(owner, type):
            ns = owner.__dict__
            snap += [(ns, k, v) for k, v in list(ns.items())]
    return snap


def _tampering(snap: list) -> str | None:
    for ns, k, v in snap:
        if ns.get(k) is not v:
            return f"{getattr(ns.get('__name__'), 'strip', lambda: '')() or 'a harness class'}.{k}"
    return None


class Worker:
    """The learner's process: it holds the learner's objects and runs what the judge asks."""

    def __init__(self, sock: socket.socket, home: Path):
        self.peer = Peer(sock, self._checked)
        self.home = home
        self.objects: dict[int, object] = {}
        self._ids = itertools.count(1)
        self._snap = _instruments()
        self.shown: dict[str, str] = {}  # the worker's copy of a learner file -> the path the learner knows

    def _checked(self, header, bufs):
        """Every request, then a look at the instruments: changed ones fail the call."""
        check, snap = _tampering, self._snap
        try:
            reply = self._serve(header, bufs)
        finally:
            changed = check(snap)
            if changed:
                raise Tampered(f"TAMPERED: the code under test replaced the grader's {changed} in its process; "
                               "this test scores 0")
        return reply

    def _handle(self, obj) -> dict:
        i = next(self._ids)
        self.objects[i] = obj
        label = getattr(obj, "__name__", None) or type(obj).__name__
        return {"__h": i, "label": str(label)[:200]}

    def _refs(self, v):
        if isinstance(v, _ArgRef):
            return {"__arg": v.path}
        if isinstance(v, _ArgView):
            return {"__argview": v.path, "size": v.size, "stride": v.stride, "off": v.offset}
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(v, torch.Tensor):
            raise NotSeparable(f"the learner's code returned a {type(v).__name__} (a tensor subclass or layout the "
                               "judge cannot rebuild as data)")
        return self._handle(v)

    def _resolve(self, ref):
        if "__h" in ref:
            obj = self.objects.get(ref["__h"])
            if obj is None and ref["__h"] not in self.objects:
                raise wire.WireError("a handle this process never handed out")
            return obj
        if "__cb" in ref:
            return _Callback(self, int(ref["__cb"]), str(ref.get("name", "callback")))
        raise wire.WireError("a reference this process cannot resolve")

    def _serve(self, header, bufs):
        try:
            return self._serve_op(header, bufs)
        except BaseException as e:
            if self.shown and not isinstance(e, _WithBlocks):
                raise _Shown(e, self.shown) from None
            if self.shown:
                e.inner = _Shown(e.inner, self.shown)
            raise

    def _serve_op(self, header, bufs):
        op = header.get("op")
        if op == "load_module":
            return self._load_module(header, bufs)
        if op == "run_program":
            return self._run_program(header, bufs)
        if op == "load_probe":
            return self._load_probe(header, bufs)
        if op == "replay":
            return self._replay(header, bufs)
        if op == "load_library":
            so = self.home / Path(str(header["name"])).name
            so.write_bytes(bufs[0])
            lib = library_class(str(header.get("kind", "plain")))(so, str(header["cdef"]))
            return {"op": "ok", "value": self._handle(lib)}, []
        obj = self.objects[int(header["h"])]
        seen: list = []
        margins: list = []  # guarded views' margins (wire.guard_margins): what was sent, to see writes there

        def on_array(p, a, raw, around=None):
            seen.append((p, a, raw))
            if around is not None:
                margins.append((p, *around))
        args = wire.decode(header["args"], bufs, self._resolve, on_array=on_array)
        a, k = args["a"], args["k"]
        blocks, measured = header.get("blocks") or [], []
        tape = None
        gpu = header.get("gpu_time") if isinstance(header.get("gpu_time"), dict) else None
        with contextlib.ExitStack() as stack:
            for kind, kw in blocks:
                cm = _worker_block(kind, kw, args)
                measured.append((kind, stack.enter_context(cm)))
            if any(kind in REPLAYED for kind, _ in blocks) or (gpu and gpu.get("how") == "tape"):
                # last: it sees each op before the blocks do
                import kata.tritonkit as tk
                from kata.replay import Tape
                with tk.kit_ops():
                    tape = Tape(args)
                stack.enter_context(tk.taping(tape))
            clocks = [c for c in header.get("clocks") or () if c in _CLOCKS]
            if clocks:  # the judge reads the kernel's count of this process's CPU time here and at "stop"
                self.peer.ask({"op": "mark", "at": "start"}, [])
            started = {c: _CLOCKS[c]() for c in clocks}
            try:
                value = _run(obj, op, a, k)
            except BaseException as e:  # noqa: BLE001 - reported with what the blocks measured so far
                stack.close()
                raise _WithBlocks(e, [block_data(kd, o) for kd, o in measured]) from e
            took = {c: _CLOCKS[c]() - started[c] for c in clocks}
            if clocks:
                self.peer.ask({"op": "mark", "at": "stop"}, [])
        figures = [block_data(kd, o) for kd, o in measured]
        taped = None
        if tape is not None:
            import kata.tritonkit as tk
            with tk.kit_ops():
                taped = tape.finish(value)
        for d, (kd, o) in zip(figures, measured):
            if "store_starts" in d:
                d["store_starts"] = rebased_stores(d["store_starts"], value)
        _check_not_autograd(value)
        ids = {id(x): p for p, x, _ in seen}
        value = _swap_args(value, ids, _tensor_storages(seen))
        out_bufs: list = []
        changed = []
        for p, x, raw in seen:
            if _bytes_of(x) != raw:
                t, _ = wire.encode(x, self._refs, out_bufs)
                changed.append([list(p), t])
        around = []
        for p, lo, lo_raw, hi, hi_raw in margins:
            if lo.tobytes() != lo_raw or hi.tobytes() != hi_raw:
                around.append([list(p), len(out_bufs), len(out_bufs) + 1])
                out_bufs += [lo.tobytes(), hi.tobytes()]
        tree, _ = wire.encode(value, self._refs, out_bufs)
        bench = {}
        if gpu and gpu.get("how") == "bench":  # a library's call: timed here, between two marks the judge clocks,
            # after what the call wrote was taken (the judge gets the first call's outputs, not the hundredth's)
            bench = _bench(lambda: _run(obj, op, a, k), int(gpu.get("warmup", 25)), int(gpu.get("rep", 100)), self.peer)
        reply = {"op": "ok", "value": tree, "changed": changed, "around": around, "blocks": figures, "took": took, **bench}
        if taped is not None:
            reply["tape"], _ = wire.encode(taped, self._refs, out_bufs)
        return reply, out_bufs

    def _run_program(self, header, bufs):
        import shutil
        import subprocess
        import tempfile

        from native import launch
        where = Path(tempfile.mkdtemp(prefix="run-", dir=self.home))
        try:
            argv = launch.unpack([str(a) for a in header["argv"]], header.get("ship") or [], bufs, where)
            env = {k: os.environ[k] for k in ("PATH", "HOME", "TMPDIR", "LANG") if k in os.environ}
            env.update({str(k): str(v) for k, v in (header.get("env") or {}).items()})
            try:
                ran = launch.run_here(argv, timeout=float(header["timeout"]), env=env, fetch=header.get("fetch") or None,
                                      address_space=launch.MEMORY_BYTES if header.get("memory_limit") else None,
                                      where=where)
            except subprocess.TimeoutExpired:
                return {"op": "ok", "timeout": True}, []
        finally:
            shutil.rmtree(where, ignore_errors=True)
        names = sorted(ran.files)
        return ({"op": "ok", "rc": ran.returncode, "stdout": ran.stdout, "stderr": ran.stderr, "files": names},
                [ran.files[n] for n in names])

    def _replay(self, header, bufs):
        """The replaying process (kata.replay): no learner module was loaded here."""
        from kata.replay import replay
        msg = wire.decode(header["msg"], bufs, self._resolve)
        out = replay(msg["tape"], {str(k): str(v) for k, v in msg["files"].items()}, msg["inputs"], str(self.home),
                     [[list(p) for p in w] for w in msg.get("censuses") or []], bench=msg.get("bench"))
        tree, obufs = wire.encode(out, self._refs)
        return {"op": "ok", "value": tree}, obufs

    def _load_probe(self, header, bufs):
        import importlib.util
        where = self.home / "probes"
        where.mkdir(exist_ok=True)
        path = where / Path(str(header["name"])).name
        path.write_bytes(bufs[0])
        spec = importlib.util.spec_from_file_location(f"kata_probe_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return {"op": "ok", "value": self._handle(mod)}, []

    def _load_module(self, header, bufs):
        for name, data in zip(header["files"], bufs):
            (self.home / Path(str(name)).name).write_bytes(data)
        path = self.home / Path(str(header["main"])).name
        if str(self.home) not in sys.path:
            sys.path.insert(0, str(self.home))
        display = str(header.get("display", path.name))
        self.shown[str(path)] = display
        from kata.context import import_learner_file
        mod = import_learner_file(path, f"kata_impl_{path.stem}", display)
        return {"op": "ok", "value": self._handle(mod)}, []


class _Shown(Exception):
    """An exception whose traceback names the learner's file as the learner knows it."""

    def __init__(self, inner: BaseException, shown: dict):
        super().__init__(str(inner))
        self.inner, self.shown = inner, shown


class _WithBlocks(Exception):
    def __init__(self, inner: BaseException, blocks: list):
        super().__init__(str(inner))
        self.inner, self.blocks = inner, blocks


def _bench(call, warmup: int, rep: int, peer: Peer) -> dict:
    """do_bench's median of `call` (what kata.timing.gpu_ms measures), between two marks the judge clocks."""
    from triton.testing import do_bench
    runs = [0]

    def counted():
        runs[0] += 1
        call()
    peer.ask({"op": "mark", "at": "start"}, [])
    ms = float(do_bench(counted, warmup=warmup, rep=rep, return_mode="median"))
    peer.ask({"op": "mark", "at": "stop"}, [])
    return {"gpu_ms": ms, "gpu_runs": runs[0]}


def _run(obj, op, a, k):
    if op == "call":
        return obj(*a, **k)
    if op == "getattr":
        return getattr(obj, a[0])
    if op == "setattr":
        return setattr(obj, a[0], a[1])
    if op == "getitem":
        return obj[a[0]]
    if op == "setitem":
        obj[a[0]] = a[1]
        return None
    if op == "len":
        return len(obj)
    if op == "iter":
        return iter(obj)
    if op == "next":
        return next(obj)
    if op == "contains":
        return a[0] in obj
    if op == "bool":
        return bool(obj)
    if op == "repr":
        return repr(obj)[:2000]
    if op == "enter":
        return obj.__enter__()
    if op == "exit":
        return obj.__exit__(None, None, None)
    raise wire.WireError(f"unknown operation {op!r}")


def _check_not_autograd(value, depth=0):
    torch = sys.modules.get("torch")
    if torch is None or depth > 3:
        return
    if isinstance(value, torch.Tensor) and value.grad_fn is not None:
        raise NotSeparable("the learner's code returned a tensor with an autograd graph; the test needs autograd "
                           "through the learner's code, which stays in the learner's process")
    if isinstance(value, (tuple, list)):
        for v in value[:64]:
            _check_not_autograd(v, depth + 1)


def _tensor_storages(seen) -> dict:
    """The call's plain tensor arguments, by where their storage is: {storage address: (path, tensor)}."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    return {x.untyped_storage().data_ptr(): (p, x) for p, x, _ in seen
            if type(x) is torch.Tensor and x.layout == torch.strided and x.untyped_storage().nbytes()}


def _swap_args(value, ids, storages=None, depth=0):
    """What the learner's function returned, with its arguments (and views of its tensor arguments)
    replaced by references the judge resolves to its own objects."""
    if id(value) in ids and not isinstance(value, (int, float, str, bool, type(None))):
        return _ArgRef(list(ids[id(value)]))
    torch = sys.modules.get("torch")
    if storages and torch is not None and type(value) is torch.Tensor and value.layout == torch.strided \
            and value.untyped_storage().nbytes():
        hit = storages.get(value.untyped_storage().data_ptr())
        if hit is not None and hit[1].dtype == value.dtype and hit[1].device == value.device:
            return _ArgView(list(hit[0]), value, hit[1])
    if depth < 2 and type(value) in (tuple, list):
        return type(value)(_swap_args(v, ids, storages, depth + 1) for v in value)
    if depth < 2 and type(value) is dict:
        return {k: _swap_args(v, ids, storages, depth + 1) for k, v in value.items()}
    return value


def _bytes_of(x) -> bytes:
    import numpy as np
    if isinstance(x, np.ndarray):
        return np.ascontiguousarray(x).tobytes()
    return wire.span_bytes(x.detach())


class _Callback:
    """In the worker: a callable of the test's, run in the judge when called."""

    def __init__(self, worker: Worker, i: int, name: str):
        self._w, self._i, self.__name__ = worker, i, name

    def __call__(self, *args, **kwargs):
        tree, bufs = wire.encode({"a": tuple(args), "k": dict(kwargs)}, self._w._refs)
        reply, rbufs = self._w.peer.ask({"op": "callback", "cb": self._i, "args": tree}, bufs)
        if reply["op"] == "err":
            raise _rebuild_exception(reply)
        return wire.decode(reply["value"], rbufs, self._w._resolve)


def serve(sock: socket.socket, home: Path) -> None:
    """The worker's main loop: answer the judge until it hangs up."""
    Worker(sock, home).peer.serve_forever()
