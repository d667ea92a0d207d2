"""The test toolkit: what kata tests import instead of copying.

    expect(ok, message)              fail the test with `message` (no traceback) unless `ok`
    describe(x)                      "(3, 333) float16 on cuda with strides (1, 3) (not contiguous)"
    randn(shape, dtype, device, seed, scale)   seeded normal tensor, the same on every machine
    rng(seed)                        a seeded numpy Generator
    call_checked(fn, *args, ...)     call learner code the way every kata does: inputs cloned and checked
                                     unchanged afterwards, outputs guarded (Triton), and the result's
                                     type, shape, dtype and device checked, each with its own message
    check_bytes(kata, moved, ...)    the bytes-moved gate on a kata.tritonkit.count_bytes() count: records the
                                     figures and fails with explain_bytes(...): no launch, too many launches,
                                     loaded or stored too much, torch copies beside the kernel, too little
    check_low_precision(...)         bf16/fp16 error against a float64 oracle at most ~2x torch's own error
    check_bandwidth(kata, ...)       GPU gate: fraction of copy bandwidth and speed against a torch baseline
    OpCensus(watch=())               a TorchDispatchMode recording the aten ops run, the largest tensor made,
                                     the dtypes made and the elements read from watched tensors
    TorchMode                        the base for a test's own TorchDispatchMode (no torch._dynamo import)
    support_module(__file__, name)   an instructor's support/ module (a probe's models) imported in the
                                     test's own process, to build the oracle from the same classes
    file_mappings(path)              (start, end, permissions) of this process's mappings of a file (a probe's
                                     look at whether the learner's code mapped it rather than read it)
    Table(values)                    a function of 0..n-1 as its values, for learner code that calls a test's
                                     function many times: it crosses to a separate judge's worker as data

Assertions on values live in `kata.testing` (assert_equal, assert_close, Guarded, assert_unchanged).
"""
from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest

from kata.testing import assert_unchanged
from kata.wire import Table  # noqa: F401 - re-exported for tests


def support_module(test_file: str, name: str = "probes.py"):
    """The kata's support/<name>, imported here, in the test's process (once per process): the models a
    probe builds beside the learner's code (kata.probe) are the same classes the test's oracle uses."""
    import importlib.util
    from pathlib import Path

    path = Path(test_file).resolve().parent / "support" / name
    key = f"kata_support_{path.parent.parent.name}_{path.stem}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules[key] = mod
    return sys.modules[key]


def file_mappings(path) -> list[tuple[int, int, str]]:
    """(start, end, permissions) of each mapping of the file `path` in this process (/proc/self/maps)."""
    import os

    real = os.path.realpath(path)
    out = []
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].strip() == real:
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                out.append((lo, hi, parts[1]))
    return out


def expect(ok: bool, message: str) -> None:
    """Fail with `message` alone (no traceback from the test) unless `ok`."""
    __tracebackhide__ = True
    if not ok:
        pytest.fail(message, pytrace=False)


def _torch():
    return sys.modules.get("torch")  # never import torch for a numpy-only kata (1 s per test)


def describe(x) -> str:
    """A short description of a value for failure messages: shape, dtype, device, strides if unusual."""
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        s = f"{tuple(x.shape)} {str(x.dtype).replace('torch.', '')}"
        if x.device.type != "cpu":
            s += f" on {x.device.type}"
        return s if x.is_contiguous() else s + f" with strides {x.stride()} (not contiguous)"
    if isinstance(x, np.ndarray):
        s = f"{x.shape} {x.dtype}"
        return s if x.flags.c_contiguous else s + f" with strides {x.strides} bytes (not contiguous)"
    if x is None:
        return "None"
    return f"a {type(x).__name__}"


def randn(shape, dtype=None, device="cpu", seed: int = 0, scale: float = 1.0, draw_on_device: bool = False):
    """`scale * N(0, 1)` of `shape`, drawn on the CPU from a seeded generator (the same numbers on every
    machine and device), then cast to `dtype` and moved to `device`. `draw_on_device=True` draws with a
    generator on `device` instead (fast for the large timed GPU inputs; other numbers than the CPU's)."""
    import torch
    if draw_on_device:
        g = torch.Generator(device=device).manual_seed(graded_seed(seed))
        return (scale * torch.randn(shape, generator=g, device=device)).to(dtype=dtype or torch.float32)
    g = torch.Generator().manual_seed(graded_seed(seed))
    t = scale * torch.randn(shape, generator=g, dtype=torch.float32)
    return t.to(dtype=dtype or torch.float32, device=device)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(graded_seed(seed))


def graded_seed(seed: int) -> int:
    """`seed` itself, but when grading with a secret (`kata grade --secret-seed`, kata.judging): then
    a number mixed from both, so the graded inputs are ones the learner's copy never produced."""
    from kata.judging import SECRET
    if SECRET is None or not isinstance(seed, int) or isinstance(seed, bool):
        return seed
    return (seed * 0x9E3779B97F4A7C15 + SECRET * 0xBF58476D1CE4E5B9 + 1) % (1 << 32)  # numpy seeds: < 2**32


def _is_array(x) -> bool:
    torch = _torch()
    return isinstance(x, np.ndarray) or (torch is not None and isinstance(x, torch.Tensor))


def _snapshot(x):
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().clone()
    return x.copy()


def _contig(x):
    torch = _torch()
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().contiguous()
    return np.ascontiguousarray(x)


def call_checked(fn, *args, name: str | None = None, on: str = "", guard: bool = False, within=(), writes=(),
                 like=None, shape=None, dtype=None, device=None, returns=None, hint: str = "", **kwargs):
    """Call `fn(*args, **kwargs)` and check what a hundred wrong submissions get wrong around the call.

    - every array/tensor argument is snapshotted first and must be unchanged afterwards, but those that
      `writes` names (positions from 0, or keyword names): the function's in-place outputs;
    - with `guard=True` (Triton katas) torch allocations inside the call come back NaN-filled between
      poisoned margins, so unwritten elements and out-of-bounds stores show;
    - `within`: context managers entered around the call alone, outside the guard (e.g. a
      `kata.tritonkit.forbid_torch_compute()` whose `.launches` the test reads afterwards);
    - the result must be `returns` (a type, default: the type of `like` if given), with `like`'s shape,
      dtype and device unless `shape`, `dtype` or `device` say otherwise.
    Returns the result. `name` names the call in messages (default: the function's name); `hint` is added
    to the type, shape, dtype and device messages (what the result should be, and why)."""
    __tracebackhide__ = True
    name = name or f"{getattr(fn, '__name__', 'the function')}(...)"
    ctx = f" on {on}" if on else ""
    saved = [(f"argument {i + 1}", a, _snapshot(a)) for i, a in enumerate(args) if _is_array(a) and i not in writes]
    saved += [(f"argument {k}", a, _snapshot(a)) for k, a in kwargs.items() if _is_array(a) and k not in writes]
    with contextlib.ExitStack() as stack:
        for cm in within:
            stack.enter_context(cm)
        if guard:
            from kata.tritonkit import guard_allocations
            stack.enter_context(guard_allocations())
        out = fn(*args, **kwargs)
    for what, a, before in saved:
        assert_unchanged(_contig(before), _contig(a), what=f"{what} of {name}{ctx}")
    if like is not None:
        shape = tuple(like.shape) if shape is None else shape
        dtype = like.dtype if dtype is None else dtype
        if device is None and hasattr(like, "device"):
            device = like.device
        returns = type(like) if returns is None else returns
    why = f" ({hint})" if hint else ""
    if returns is not None:
        expect(isinstance(out, returns),
               f"{name}{ctx} returned {describe(out)}, expected a {getattr(returns, '__name__', returns)}{why}")
    if shape is not None:
        expect(tuple(out.shape) == tuple(shape),
               f"{name}{ctx} returned shape {tuple(out.shape)}, expected {tuple(shape)}{why}")
    if dtype is not None:
        expect(out.dtype == dtype, f"{name}{ctx} returned dtype {out.dtype}, expected {dtype}{why}: a silent dtype "
                                   "change (an fp32 accumulator stored as is, an int promoted) is a wrong answer")
    if device is not None:
        expect(str(out.device) == str(device) or getattr(out.device, "type", None) == getattr(device, "type", device),
               f"{name}{ctx} returned a tensor on {out.device}; the inputs are on {device}")
    return out


# ------------------------------------------------------------------------------------- bytes moved

def _amount(nbytes: float, unit: int, noun: str) -> str:
    n = nbytes / unit
    return f"{n:,.0f} {noun}" if float(n).is_integer() else f"{n:,.2f} {noun}"


def explain_bytes(moved, *, headline: str, need: int, unit: int = 1, noun: str = "bytes",
                  loaded: tuple | None = None, stored: tuple | None = None, launches: tuple | None = None,
                  torch_hint: str | None = "", short: str | None = None, top_ops: int = 3) -> str:
    """The failure message of a bytes-moved gate, from a `kata.tritonkit.count_bytes()` count.

    `headline` says what was called, what it moved and what the gate is. Then one reason per thing
    that went over, each with the kata's own hint:
      - no Triton kernel launched at all;
      - `launches=(most, hint)`: more launches than `most` (each step in its own kernel);
      - `loaded=(limit_bytes, "reading x once", hint)`: kernels loaded more than `limit_bytes`
        (an unmasked load reading padding, a second pass);
      - `stored=(limit_bytes, "writing out once", hint)`: kernels stored more than `limit_bytes`;
      - torch copies and fills beside the kernel (`torch_hint`; None: never a reason);
      - fewer bytes than `need` although a kernel ran (`short`; elements never read or written).
    Counts in reasons are shown in `unit`-byte `noun`s (e.g. unit=4, noun="elements")."""
    why = []
    if moved.launches == 0:
        why.append("no Triton kernel ran: the work was done some other way (see test_no_torch_compute)")
    if launches is not None and moved.launches > launches[0]:
        why.append(f"{moved.launches} kernel launches: {launches[1]}")
    for verb, got, spec in (("loaded", moved.loaded, loaded), ("stored", moved.stored, stored)):
        if spec is not None and got > spec[0]:
            limit, what, hint = spec
            why.append(f"kernels {verb} {_amount(got, unit, noun)} where {what} is {_amount(limit, unit, noun)}: {hint}")
    if torch_hint is not None and moved.torch_bytes:
        why.append(f"torch copies and fills beside the kernel moved {moved.torch_bytes:,} bytes "
                   f"({'; '.join(moved.torch_ops[:top_ops])})" + (f": {torch_hint}" if torch_hint else ""))
    if moved.total < need and moved.launches:
        why.append(short or "fewer bytes than the minimum: some elements are never read or written "
                            "(see the correctness tests)")
    return f"{headline}\n  {moved}\n  - " + "\n  - ".join(why or ["no single cause found: compare the counts above "
                                                                  "with the minimum"])


def check_bytes(kata, moved, *, need: int, gate: int | None = None, exact: bool = False, headline: str,
                record: dict | None = None, **reasons) -> None:
    """Record the count (bytes_moved, bytes_minimum, bytes_ratio, launches, and `record`'s own figures),
    then pass if `moved.total` is at most `gate` (default `need`; `exact=True`: exactly `need`), else fail
    with `explain_bytes(moved, headline=headline, need=need, **reasons)`."""
    __tracebackhide__ = True
    figures = dict(bytes_moved=moved.total, bytes_minimum=need, bytes_ratio=round(moved.total / need, 3)
                   if need else None, launches=moved.launches)
    if gate is not None:
        figures["bytes_gate"] = gate
    kata.record(**figures, **(record or {}))
    ok = moved.total == need if exact else moved.total <= (need if gate is None else gate)
    expect(ok, explain_bytes(moved, headline=headline, need=need, **reasons))


# ----------------------------------------------------------------------------- low-precision error

def max_error(got, want) -> float:
    """Largest |got - want|, compared on the CPU in float64."""
    return (got.detach().double().cpu() - want.detach().double().cpu()).abs().max().item()


def check_low_precision(kata, got, want, baseline, *, what: str, baseline_name: str, hint: str = "",
                        factor: float = 2.0, slack: float = 1e-6, keys=("max_error", "torch_max_error")):
    """The low-precision rule: in bf16/fp16 (or fp8) the kernel's largest error against a float64 oracle
    `want` is at most `factor` times the error of torch's own computation in the same dtype (`baseline`),
    plus `slack`. Records both errors under `keys`; returns (error, torch's error)."""
    __tracebackhide__ = True
    err, base = max_error(got, want), max_error(baseline, want)
    if kata is not None:
        kata.record(**{keys[0]: err, keys[1]: base})
    times = "twice" if factor == 2 else f"{factor:g}x"
    expect(err <= factor * base + slack,
           f"{what}: largest error {err:.3g} against float64; {baseline_name} in the same precision is off by "
           f"{base:.3g}, and the gate is {times} that." + (f" {hint}" if hint else ""))
    return err, base


# ------------------------------------------------------------------------------- GPU speed gates

def check_bandwidth(kata, *, what: str, ms: float, nbytes: float, moves: str, fraction: float | None = None,
                    baseline_ms: float | None = None, baseline_name: str = "torch", vs_baseline: float | None = None,
                    key: str = "torch", prefix: str = "", fraction_hint: str = "", baseline_hint: str = "",
                    record: dict | None = None) -> float:
    """The GPU bandwidth gate: `nbytes` (what must move: `moves`) in `ms` is at least `fraction` of this
    GPU's copy bandwidth (kata.timing.copy_bandwidth), and, with `baseline_ms`, at least `vs_baseline`
    times the speed of `baseline_name`. Records ms, gbps, copy_gbps, fraction_of_copy and
    `key`_ms / speed_vs_`key`, and the gates as gate_fraction_of_copy / gate_speed_vs_`key` (each name
    after `prefix`); fails with every gate missed. Returns the fraction."""
    __tracebackhide__ = True
    from kata.timing import copy_bandwidth, gbps
    copy = copy_bandwidth()
    rate = gbps(nbytes, ms)
    frac = nbytes / (ms * 1e-3) / copy
    figures = dict(ms=round(ms, 4), gbps=round(rate, 1), copy_gbps=round(copy / 1e9, 1), fraction_of_copy=round(frac, 3))
    problems = []
    if fraction is not None and frac < fraction:
        problems.append(f"{rate:,.0f} GB/s counting the {nbytes / 1e9:.3g} GB that must move ({moves}), {frac:.2f} of "
                        f"this GPU's copy bandwidth ({copy / 1e9:,.0f} GB/s); the gate is {fraction}."
                        + (f" {fraction_hint}" if fraction_hint else ""))
    if baseline_ms is not None:
        ratio = baseline_ms / ms
        figures.update({f"{key}_ms": round(baseline_ms, 4), f"speed_vs_{key}": round(ratio, 3)})
        if vs_baseline is not None and ratio < vs_baseline:
            traffic = "" if problems else (f" You moved {rate:,.0f} GB/s counting the {nbytes / 1e9:.3g} GB that "
                                           f"must move ({moves}).")
            problems.append(f"{ratio:.2f}x the speed of {baseline_name} ({baseline_ms:.3f} ms); the gate is "
                            f"{vs_baseline}x." + traffic + (f" {baseline_hint}" if baseline_hint else ""))
    if fraction is not None:  # the gates too, so that a report (kata gpu-report) can show them beside the figures
        figures["gate_fraction_of_copy"] = fraction
    if baseline_ms is not None and vs_baseline is not None:
        figures[f"gate_speed_vs_{key}"] = vs_baseline
    kata.record(**{prefix + k: v for k, v in figures.items()}, **(record or {}))
    expect(not problems, f"{what} took {ms:.3f} ms:\n  - " + "\n  - ".join(problems))
    return frac


# -------------------------------------------------------------------------- watching torch's ops

def _define_modes() -> None:
    from torch.utils._python_dispatch import TorchDispatchMode

    import torch

    class TorchMode(TorchDispatchMode):
        """A TorchDispatchMode for kata tests: subclass it and override __torch_dispatch__."""

        @classmethod
        def _should_skip_dynamo(cls):
            # Nothing here is compiled: without this, recent torch wraps __torch_dispatch__ in
            # torch._dynamo.disable, whose first use imports torch._dynamo (1-2 s in every test child).
            return False

    class OpCensus(TorchMode):
        """Records each aten op that runs underneath (`ops`, by name: "mm", "softmax"), the largest
        tensor an op creates (`largest` elements, `largest_op` says which; views allocate nothing), and
        the dtypes of the tensors ops return (`made`: {"aten.view -> torch.float16": count}, views included:
        reinterpreting bits as another dtype is a view).

        `OpCensus(watch=[pool, ...])` also counts in `read` the elements taken from those tensors (by
        storage): a gather (index, index_select, gather, embedding, take) counts the elements it
        returns, any other op (views, clone and detach aside) the whole watched tensors it was given.

        Under a separate judge the census is mirrored: the learner's calls made inside it are watched
        in the worker, and what it saw there is added here (kata.remote)."""

        GATHERS = frozenset({"index", "index_select", "gather", "embedding", "take", "_unsafe_index"})

        def __init__(self, watch=()):
            super().__init__()
            self.ops, self.largest, self.largest_op, self.made, self.read = [], 0, None, {}, 0
            self.watch = list(watch)
            self._ptrs = {t.untyped_storage().data_ptr() for t in self.watch}
            self._mirror = None

        def __enter__(self):
            from kata.remote import mirrored
            self._mirror = mirrored("op_census", self, watch=self.watch)
            self._mirror.__enter__()
            return super().__enter__()

        def __exit__(self, *exc):
            try:
                return super().__exit__(*exc)
            finally:
                self._mirror.__exit__(None, None, None)

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            tk = sys.modules.get("kata.tritonkit")
            if tk is not None and tk._in_kit:
                return out  # the harness moving data (a separate judge decoding), not the code under test
            name = func.overloadpacket.__name__
            self.ops.append(name)
            for t in (out if isinstance(out, (tuple, list)) else (out,)):
                if isinstance(t, torch.Tensor):
                    key = f"aten.{name} -> {t.dtype}"
                    self.made[key] = self.made.get(key, 0) + 1
                    if not func.is_view and t.numel() > self.largest:
                        self.largest, self.largest_op = t.numel(), f"aten.{name} -> {tuple(t.shape)}"
            if self._ptrs and not func.is_view and name not in ("clone", "detach"):
                flat = [a for a in args if isinstance(a, torch.Tensor)]
                flat += [t for a in args if isinstance(a, (list, tuple)) for t in a if isinstance(t, torch.Tensor)]
                hits = [a for a in flat if a.untyped_storage().data_ptr() in self._ptrs]
                if hits:
                    if name in self.GATHERS:
                        self.read += out.numel() if isinstance(out, torch.Tensor) else 0
                    else:
                        self.read += sum(a.numel() for a in hits)
            return out

    globals().update(TorchMode=TorchMode, OpCensus=OpCensus)


def __getattr__(name: str):
    """`TorchMode` and `OpCensus` are defined on first use: importing the toolkit never imports torch."""
    if name in ("TorchMode", "OpCensus"):
        _define_modes()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------------- where arrays sit in memory

_PLACED: list = []  # mappings handed out by before_unmapped_page(): they live as long as the test process


def at_offset(values, offset_bytes: int, align: int = 64) -> np.ndarray:
    """A copy of `values` (same dtype) starting `offset_bytes` past an `align`-byte boundary: a kernel that
    assumes aligned loads, or peels the wrong head, shows."""
    a = np.ascontiguousarray(values)
    buf = np.zeros(a.nbytes + align + offset_bytes + a.itemsize, dtype=np.uint8)
    skip = (align - buf.ctypes.data % align) % align + offset_bytes
    arr = buf[skip:skip + a.nbytes].view(a.dtype).reshape(a.shape)
    arr[...] = a
    return arr


def before_unmapped_page(values) -> np.ndarray:
    """A copy of `values` (same dtype) whose last byte is the last one before a page that is not mapped:
    reading one element past the end is a segmentation fault, not a silently wrong answer."""
    import ctypes
    import mmap

    a = np.ascontiguousarray(values)
    page = mmap.PAGESIZE
    pages = (a.nbytes + page - 1) // page + 1
    m = mmap.mmap(-1, (pages + 1) * page)
    base = ctypes.addressof(ctypes.c_char.from_buffer(m))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mprotect(ctypes.c_void_p(base + pages * page), ctypes.c_size_t(page), 0) != 0:
        raise OSError(ctypes.get_errno(), "mprotect")
    _PLACED.append(m)
    arr = np.frombuffer(m, dtype=a.dtype, count=a.size, offset=pages * page - a.nbytes).reshape(a.shape)
    arr[...] = a
    return arr
