"""Triton helpers for kata tests: bytes moved, no torch compute, guarded allocations.

  interpreting()          True when @triton.jit kernels defined from now on run in Triton's interpreter
  count_bytes()           bytes Triton kernels load and store (interpreter only), plus what torch copies
                          and fills move beside them: a deterministic check that a kernel reads each input once
  forbid_torch_compute()  fails the code under test if it computes with torch (torch.add, @, F.softmax,
                          .sum() ...) instead of in a Triton kernel; allocation, views and copies are allowed
  guard_allocations()     tensors the code under test allocates come back NaN-filled and between poisoned
                          margins: never-written elements show as NaN, a store past the end is reported
  gpu_peak_memory()       the most GPU memory the block's calls held at once (under kata grade: from their tapes)

All of them patch Triton or torch only while their `with` block runs and put everything back on exit.
They are written against triton 3.6 through 3.9 (the CPU machines install the newest, the GPU machines
carry 3.6): look-ups are guarded, and a Triton whose interpreter lacks what they wrap raises
TritonKitError saying so, rather than counting zero. The torch side runs as TorchDispatchModes, so it sees
aten ops (aten.add.Tensor, not torch.add); the Triton launcher's own torch calls are never looked at.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from kata import replay as _replay  # noqa: F401 - the worker that replays a tape has it preloaded
from kata.remote import mirrored


def _preload() -> None:
    """Import now what the first dispatch mode or kernel launch would import later.

    Entering a TorchDispatchMode imports torch._dynamo (about 1.5 s here); the first kernel launch imports
    triton.experimental.gluon (0.4 s), and triton itself takes 0.2 s. Test modules import this file in
    pytest's parent process and every test runs in a child forked from it, so importing them once here
    saves each test that time. Importing initialises no GPU."""
    for name in ("torch._dynamo", "torch.utils._python_dispatch", "triton", "triton.language",
                 "triton.runtime.interpreter", "triton.runtime.autotuner",
                 "triton.experimental.gluon"):  # the launcher imports it to specialize arguments
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - a missing piece shows up, clearly, where it is used
            pass


class TritonKitError(RuntimeError):
    """The measurement itself cannot be made (no interpreter, an unknown Triton): not the learner's fault."""


def interpreting() -> bool:
    """Do @triton.jit kernels defined now run in Triton's interpreter (TRITON_INTERPRET=1)?"""
    try:
        import triton

        return bool(triton.knobs.runtime.interpret)
    except (ImportError, AttributeError):
        return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in ("1", "true", "on", "yes")


def _triton_version() -> str:
    try:
        import triton

        return f"triton {triton.__version__}"
    except ImportError:
        return "no triton installed"


# ------------------------------------------------------------------------------------------ patching


class _Patches:
    """Replace methods for the life of a `with` block; restore them in reverse order."""

    def __init__(self):
        self._saved: list[tuple[object, str, object]] = []

    def wrap(self, owner, name: str, make: Callable[[Callable], Callable]) -> None:
        original = owner.__dict__[name]
        self._saved.append((owner, name, original))
        setattr(owner, name, make(original))

    def restore(self) -> None:
        while self._saved:
            owner, name, original = self._saved.pop()
            setattr(owner, name, original)


# While > 0, torch ops are not looked at: _in_launch while a Triton launcher runs (the interpreter moves
# tensors to and from the host with torch ops; autotuning benchmarks with them), _in_kit while this
# module's own dispatch modes do their bookkeeping.
_in_launch = 0
_in_kit = 0
_launch_count = 0  # outermost launches seen while some _launches_marked() block was active


def _unwatched() -> bool:
    return _in_launch > 0 or _in_kit > 0


@contextlib.contextmanager
def kit_ops():
    global _in_kit
    _in_kit += 1
    try:
        yield
    finally:
        _in_kit -= 1


def _mark_launch(orig):
    def launch(self, *args, **kwargs):
        global _in_launch, _launch_count
        _launch_count += _in_launch == 0
        _in_launch += 1
        try:
            return orig(self, *args, **kwargs)
        finally:
            _in_launch -= 1
    return launch


def _launch_entry_points():
    """(class, method) pairs through which a Triton kernel is launched, in the versions we support."""
    found = []
    for modname, cls, meth in (("triton.runtime.interpreter", "GridExecutor", "__call__"),
                               ("triton.runtime.interpreter", "InterpretedFunction", "run"),
                               ("triton.runtime.jit", "JITFunction", "run"),
                               ("triton.runtime.autotuner", "Autotuner", "run"),
                               ("triton.runtime.autotuner", "Heuristics", "run")):
        try:
            owner = getattr(__import__(modname, fromlist=[cls]), cls)
        except (ImportError, AttributeError):
            continue
        if meth in owner.__dict__:
            found.append((owner, meth))
    return found


@contextlib.contextmanager
def _launches_marked():
    patches = _Patches()
    try:
        for owner, meth in _launch_entry_points():
            patches.wrap(owner, meth, _mark_launch)
        yield
    finally:
        patches.restore()


def _caller() -> str:
    """The innermost frame outside torch, triton and this file: where the code under test called an op."""
    skip = (f"{os.sep}torch{os.sep}", f"{os.sep}triton{os.sep}", __file__, f"{os.sep}contextlib.py")
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not any(s in frame.filename for s in skip):
            return f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}()"
    return "an unknown place"


def _dispatch_mode_class():
    try:
        from torch.utils._python_dispatch import TorchDispatchMode
    except ImportError as e:
        raise TritonKitError(f"this torch has no TorchDispatchMode: {e}") from None
    return TorchDispatchMode


# --------------------------------------------------------------------------------------- bytes moved

# torch ops that move memory without computing: counted beside the kernels by count_bytes().
_COPIES = frozenset({"copy_", "clone", "_to_copy", "copy"})
_FILLS = frozenset({"fill_", "zero_", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
                    "new_zeros", "new_ones", "new_full"})


@dataclass
class BytesMoved:
    """What moved inside one `count_bytes()` block. Kernel bytes count mask-true elements only."""
    loaded: int = 0        # bytes Triton kernels read (tl.load, tensor descriptors, block pointers, atomics)
    stored: int = 0        # bytes Triton kernels wrote (tl.store, descriptors, atomics)
    atomic: int = 0        # the part of loaded + stored that atomics moved
    launches: int = 0      # kernel launches (kernel[grid](...) calls)
    programs: int = 0      # program instances run, over all launches
    torch_bytes: int = 0   # bytes torch copies and fills moved outside kernels (clone, copy_, .to, zeros_like)
    torch_ops: list[str] = field(default_factory=list)  # those ops, with where they were called
    widest_load: int = 0   # the most elements one tl.load asked for (its pointer block's size, mask or not)
    # each tl.store's lowest mask-true address, in the order the stores ran (the first 100,000); under a
    # separate judge only stores into the tensors the call returned come back, at the judge's addresses
    store_starts: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.loaded + self.stored + self.torch_bytes

    def __str__(self) -> str:
        s = (f"{self.total:,} bytes: kernels loaded {self.loaded:,} and stored {self.stored:,} in "
             f"{self.launches} launch(es) of {self.programs} program(s)")
        if self.torch_bytes:
            s += f"; torch copies and fills moved {self.torch_bytes:,} ({', '.join(self.torch_ops[:3])})"
        return s


def _interpreter_module():
    try:
        import triton.runtime.interpreter as interp
    except ImportError as e:
        raise TritonKitError(f"{_triton_version()} has no triton.runtime.interpreter: {e}") from None
    return interp


def _need(interp, cls: str, name: str):
    owner = getattr(interp, cls, None)
    if owner is None or name not in owner.__dict__:
        raise TritonKitError(
            f"{_triton_version()}: triton.runtime.interpreter.{cls}.{name} is missing, so bytes moved cannot be "
            "counted. kata.tritonkit is written for triton 3.6-3.9; its interpreter hooks need updating.")
    return owner


def _element_bytes(ptrs) -> int:
    """Bytes per element behind a pointer TensorHandle (int1 is stored as a byte)."""
    ty = ptrs.dtype
    while hasattr(ty, "element_ty"):
        ty = ty.element_ty
    return max(1, (int(ty.primitive_bitwidth) + 7) // 8)


def _active(ptrs, mask) -> int:
    """Mask-true elements among `ptrs` (mask None: all of them)."""
    shape = np.shape(ptrs.data)
    if mask is None:
        return int(np.prod(shape, dtype=np.int64))
    m = np.asarray(getattr(mask, "data", mask), dtype=bool)
    return int(np.count_nonzero(np.broadcast_to(m, shape)))


def _lowest_active(ptrs, mask) -> int | None:
    """The lowest mask-true address among `ptrs`, if any."""
    addr = np.asarray(ptrs.data).reshape(-1)
    if mask is not None:
        m = np.broadcast_to(np.asarray(getattr(mask, "data", mask), dtype=bool), np.shape(ptrs.data)).reshape(-1)
        addr = addr[m]
    return int(addr.min()) if addr.size else None


def _arg_getter(fn: Callable, *names: str) -> Callable[[tuple, dict], tuple]:
    """A function (args, kwargs) -> the named arguments of method `fn`, by position or keyword.

    The builder's signatures differ between Triton versions past the first arguments (cache_modifier and
    eviction_policy became cache_policy), so find arguments by name in the installed signature."""
    params = list(inspect.signature(fn).parameters)[1:]  # drop self
    for n in names:
        if n not in params:
            raise TritonKitError(f"{_triton_version()}: {fn.__qualname__}{inspect.signature(fn)} has no argument "
                                 f"'{n}'; kata.tritonkit needs updating for this Triton")
    where = [params.index(n) for n in names]

    def get(args, kwargs):
        return tuple(args[i] if i < len(args) else kwargs.get(n) for i, n in zip(where, names))

    return get


def _counting(moved: BytesMoved, getter, *, load: bool, store: bool, atomic: bool = False):
    """Wrap a builder method so each call adds its mask-true elements' bytes to `moved`."""
    def make(orig):
        get = getter(orig)

        def counted(self, *args, **kwargs):
            ptrs, *mask = get(args, kwargs)
            nbytes = _active(ptrs, mask[0] if mask else None) * _element_bytes(ptrs)
            if load and not store:
                moved.widest_load = max(moved.widest_load, int(np.size(ptrs.data)))
            if store and not load and len(moved.store_starts) < 100_000:
                start = _lowest_active(ptrs, mask[0] if mask else None)
                if start is not None:
                    moved.store_starts.append(start)
            moved.loaded += nbytes if load else 0
            moved.stored += nbytes if store else 0
            moved.atomic += nbytes * (load + store) if atomic else 0
            return orig(self, *args, **kwargs)
        return counted
    return make


def _torch_counter(moved: BytesMoved):
    """A dispatch mode adding the bytes of torch copies and fills (outside kernels) to `moved`."""
    class CountTorchCopies(_dispatch_mode_class()):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if _unwatched():
                return out
            nbytes = copy_bytes(func.overloadpacket.__name__, args, out)
            if nbytes:
                moved.torch_bytes += nbytes
                moved.torch_ops.append(f"{func} at {_caller()}")
            return out

    return CountTorchCopies()


def copy_bytes(name: str, args, out) -> int:
    """Bytes a torch copy or fill (`name`, the aten op's name) read and wrote; 0 for any other op."""
    import torch

    if name not in _COPIES | _FILLS:
        return 0
    nbytes = out.numel() * out.element_size() if isinstance(out, torch.Tensor) else 0
    src = None
    if name in ("copy_", "copy") and len(args) > 1:
        src = args[1]        # copy_(dst, src): reads src, writes dst (= out)
    elif name in _COPIES and args:
        src = args[0]        # clone(x), _to_copy(x): read x, write out
    if isinstance(src, torch.Tensor):
        nbytes += src.numel() * src.element_size()
    return nbytes


def _taping(tape):
    """Wrap InterpretedFunction.run (or JITFunction.run) so each outermost launch goes on the tape, with the grid
    it ran."""
    depth = [0]

    def make(orig):
        def run(self, *args, grid, warmup=False, **kwargs):
            if depth[0] or warmup or _in_kit:
                return orig(self, *args, grid=grid, warmup=warmup, **kwargs)
            with kit_ops():
                ev = tape.launch(self.fn, list(grid) if isinstance(grid, tuple) else None, args, kwargs)
            if callable(grid):
                def grid_seen(meta, _grid=grid):
                    g = _grid(meta)
                    ev[3] = [int(n) for n in g]
                    return g
                grid = grid_seen
            depth[0] += 1
            try:
                return orig(self, *args, grid=grid, warmup=warmup, **kwargs)
            finally:
                depth[0] -= 1
        return run
    return make


@dataclass
class PeakMemory:
    """What one `gpu_peak_memory()` block found: the most bytes of GPU memory allocated at once beyond what
    was allocated as it began."""
    extra: int = 0
    remote: bool = False  # a call ran in the learner's process (kata.remote): `extra` is the replay's figure


@contextlib.contextmanager
def gpu_peak_memory() -> Iterator[PeakMemory]:
    """The GPU memory the block's calls held at their peak, beyond what was allocated as it began:

        with gpu_peak_memory() as peak:
            mod.cross_entropy(logits, targets)
        assert peak.extra <= 64 << 20

    Read from torch's caching allocator (torch.cuda.max_memory_allocated). Under a separate judge the calls run
    in the learner's process, and the figure is re-derived from each call's tape instead (kata.replay: the bytes
    of the tensors the call made, from each one's first use to its free), so the learner's code cannot change it
    (torch.cuda.reset_peak_memory_stats() there resets nothing the judge reads)."""
    import torch

    peak = PeakMemory()
    with mirrored("gpu_peak", peak):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        yield peak
        torch.cuda.synchronize()
        if not peak.remote:  # else the judge's own copies of the calls' data are not the calls' memory
            peak.extra = max(peak.extra, torch.cuda.max_memory_allocated() - base)


def _untaped(orig):
    """An autotuner's benchmark of its configurations, kept off the tape (the launch it then makes is on it)."""
    def bench(self, *args, **kwargs):
        with kit_ops():
            return orig(self, *args, **kwargs)
    return bench


class OutsideTensors(AssertionError):
    """A kernel touched memory outside every tensor it was given (confined())."""


@contextlib.contextmanager
def confined(spans: list[tuple[int, int]]) -> Iterator[None]:
    """Fail a kernel load, store or atomic whose mask-true addresses leave the byte ranges `spans`
    ([start, end) pairs): what the replay of a call (kata.replay) lets its kernels reach. In the
    interpreter a pointer is a raw address, so an unmasked access past a tensor would otherwise read, or
    write, whatever lies there in the replaying process."""
    interp = _interpreter_module()
    builder = _need(interp, "InterpreterBuilder", "create_masked_load")
    starts = np.array(sorted(a for a, _ in spans), dtype=np.int64)
    ends = np.array([e for _, e in sorted(spans)], dtype=np.int64)

    def check(kind):
        def make(orig):
            names = ("ptr", "mask") if "atomic" in orig.__name__ else ("ptrs", "mask")
            if orig.__name__ == "create_atomic_cas":
                names = ("ptr",)
            get = _arg_getter(orig, *names)

            @functools.wraps(orig)  # count_bytes, wrapping this, finds the builder's own signature
            def guarded(self, *args, **kwargs):
                ptrs, *mask = get(args, kwargs)
                addr = np.asarray(ptrs.data, dtype=np.int64).reshape(-1)
                if mask and mask[0] is not None:
                    m = np.broadcast_to(np.asarray(getattr(mask[0], "data", mask[0]), dtype=bool),
                                        np.shape(ptrs.data)).reshape(-1)
                    addr = addr[m]
                if addr.size:
                    width = _element_bytes(ptrs)
                    i = np.searchsorted(starts, addr, side="right") - 1
                    bad = (i < 0) | (addr + width > ends[np.maximum(i, 0)])
                    if bad.any():
                        raise OutsideTensors(f"a kernel {kind} {int(bad.sum())} element(s) outside every tensor it "
                                             "was given (an unmasked access past the end?)")
                return orig(self, *args, **kwargs)
            return guarded
        return make

    patches = _Patches()
    try:
        patches.wrap(builder, "create_masked_load", check("loaded"))
        patches.wrap(builder, "create_masked_store", check("stored"))
        for name in ("create_atomic_rmw", "create_atomic_cas"):
            if name in builder.__dict__:
                patches.wrap(builder, name, check("updated"))
        yield
    finally:
        patches.restore()


@contextlib.contextmanager
def taping(tape) -> Iterator[None]:
    """Record on `tape` (a kata.replay.Tape) every torch op and every outermost Triton launch of the block:
    what the learner's process does under a separate judge, so that the judge can re-derive count_bytes,
    forbid_torch_compute, guard_allocations and OpCensus in a process of its own (kata.replay). Entered after the
    measuring blocks, so it sees each op first and records what they hand back (a guarded allocation)."""
    interp = _interpreter_module() if "triton" in sys.modules else None  # a torch kata's call launches nothing

    class TapeOps(_dispatch_mode_class()):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            watched = not _unwatched()
            out = func(*args, **(kwargs or {}))
            if watched:
                with kit_ops():
                    tape.op(func, args, kwargs, out, _caller())
            return out

    patches = _Patches()
    try:
        if interp is not None:
            patches.wrap(_need(interp, "InterpretedFunction", "run"), "run", _taping(tape))
            if not interpreting():  # compiled for a GPU: the tape replays there (kata.replay)
                from triton.runtime.jit import JITFunction
                patches.wrap(JITFunction, "run", _taping(tape))
            from triton.runtime.autotuner import Autotuner
            if "_bench" in Autotuner.__dict__:  # an autotuner's trial runs are not the call's work: its choice is
                patches.wrap(Autotuner, "_bench", _untaped)
        with _launches_marked(), TapeOps():
            yield
    finally:
        patches.restore()


@contextlib.contextmanager
def count_bytes() -> Iterator[BytesMoved]:
    """Count the bytes moved while the block runs: Triton kernels (interpreter only) and torch copies.

        with count_bytes() as moved:
            out = module.add(x, y)
        assert moved.total == 3 * n * 4

    Each tl.load and tl.store adds its mask-true elements times the element size (tensor descriptors,
    block pointers and atomic loads and stores go through the same two builder calls); an atomic
    read-modify-write counts as a load and a store. Beside the kernels, torch copies and fills the code
    calls (x.clone(), out.copy_(x), .contiguous() of a strided tensor, .to(), zeros_like) count their bytes
    read and written, so moving data with torch instead of in the kernel does not hide traffic.

    A kernel that runs compiled instead (defined before TRITON_INTERPRET was set) is an error, not zero.
    Under a separate judge the counts the test sees are re-derived by a replay of the call (kata.replay)."""
    if not interpreting():
        raise TritonKitError(
            "counting bytes moved needs Triton's interpreter, and TRITON_INTERPRET is not set here (a GPU run?). "
            "Mark the test @pytest.mark.interpret: the harness then sets TRITON_INTERPRET=1 in its process "
            "before the learner's module is imported, so its kernels run interpreted even on a GPU machine.")
    interp = _interpreter_module()
    builder = _need(interp, "InterpreterBuilder", "create_masked_load")
    _need(interp, "InterpreterBuilder", "create_masked_store")
    executor = _need(interp, "GridExecutor", "__call__")

    moved = BytesMoved()
    compiled: list[str] = []

    def by_name(*names):
        return lambda fn: _arg_getter(fn, *names)

    def counter(attr):
        def make(orig):
            def wrapped(self, *args, **kwargs):
                setattr(moved, attr, getattr(moved, attr) + 1)
                return orig(self, *args, **kwargs)
            return wrapped
        return make

    def on_compiled(orig):
        def run(self, *args, **kwargs):
            compiled.append(getattr(self, "__name__", "a kernel"))
            return orig(self, *args, **kwargs)
        return run

    patches = _Patches()
    try:
        patches.wrap(builder, "create_masked_load", _counting(moved, by_name("ptrs", "mask"), load=True, store=False))
        patches.wrap(builder, "create_masked_store", _counting(moved, by_name("ptrs", "mask"), load=False, store=True))
        if "create_atomic_rmw" in builder.__dict__:
            patches.wrap(builder, "create_atomic_rmw",
                         _counting(moved, by_name("ptr", "mask"), load=True, store=True, atomic=True))
        if "create_atomic_cas" in builder.__dict__:
            patches.wrap(builder, "create_atomic_cas",
                         _counting(moved, by_name("ptr"), load=True, store=True, atomic=True))
        if "set_grid_idx" in builder.__dict__:
            patches.wrap(builder, "set_grid_idx", counter("programs"))
        patches.wrap(executor, "__call__", counter("launches"))
        try:
            from triton.runtime.jit import JITFunction
            if "run" in JITFunction.__dict__:
                patches.wrap(JITFunction, "run", on_compiled)
        except ImportError:
            pass
        with _launches_marked(), _torch_counter(moved), mirrored("count_bytes", moved):
            yield moved
    finally:
        patches.restore()
    if compiled:
        raise TritonKitError(
            f"kernel {compiled[0]} ran compiled, not in the interpreter, so its bytes were not counted: it was "
            "defined before TRITON_INTERPRET=1 was set. Import the module that defines it inside the test.")


# ------------------------------------------------------------------------------ no torch compute ops

# Ops a Triton wrapper may call: allocation, views, copies and metadata. Everything else is compute.
ALLOWED_OPS = frozenset("""
    empty empty_like empty_strided empty_permuted zeros zeros_like ones ones_like full full_like
    new_empty new_empty_strided new_zeros new_ones new_full scalar_tensor arange lift_fresh lift_fresh_copy
    view _unsafe_view view_as reshape _reshape_alias as_strided permute transpose t expand expand_as alias
    detach select slice squeeze unsqueeze flatten unflatten narrow split split_with_sizes chunk unbind
    movedim unfold view_as_real view_as_complex _conj _neg_view
    clone contiguous copy copy_ _to_copy to fill_ zero_ set_ resize_ resize_as_ _pin_memory record_stream
    _local_scalar_dense is_same_size is_contiguous is_pinned sym_size sym_stride sym_numel sym_storage_offset
    _has_compatible_shallow_copy_type
""".split())

# How the code under test most likely spelled an aten op, for the message.
_SPELLED = {
    "add": "torch.add / +", "sub": "torch.sub / -", "rsub": "torch.sub / -", "mul": "torch.mul / *",
    "div": "torch.div / /", "neg": "torch.neg / unary -", "pow": "torch.pow / **",
    "mm": "torch.matmul / @", "bmm": "torch.matmul / @", "addmm": "torch.matmul / @ / F.linear",
    "matmul": "torch.matmul / @", "dot": "torch.matmul / @ / torch.dot", "baddbmm": "torch.baddbmm",
    "_softmax": "torch.softmax / F.softmax", "softmax": "torch.softmax / F.softmax",
    "_log_softmax": "torch.log_softmax / F.log_softmax / F.cross_entropy",
    "nll_loss_forward": "F.nll_loss / F.cross_entropy", "native_layer_norm": "F.layer_norm",
    "_fused_rms_norm": "F.rms_norm", "sum": "torch.sum / .sum()", "mean": "torch.mean / .mean()",
    "amax": "torch.amax / .max()", "max": "torch.max / .max()", "exp": "torch.exp", "sqrt": "torch.sqrt",
    "rsqrt": "torch.rsqrt", "relu": "F.relu", "gelu": "F.gelu", "silu": "F.silu", "sigmoid": "torch.sigmoid",
    "where": "torch.where", "cat": "torch.cat / torch.stack", "cumsum": "torch.cumsum",
    "_scaled_dot_product_flash_attention": "F.scaled_dot_product_attention",
    "_scaled_dot_product_efficient_attention": "F.scaled_dot_product_attention",
    "_scaled_dot_product_flash_attention_for_cpu": "F.scaled_dot_product_attention",
    "_scaled_dot_product_cudnn_attention": "F.scaled_dot_product_attention",
}


def _spelled(name: str) -> str:
    return _SPELLED.get(name, f"torch.{name.lstrip('_')}")


def compute_message(op: str, where: str) -> str:
    """What forbid_torch_compute says of torch op `op` ("aten.add.Tensor") called at `where`."""
    return (f"this kata must be a Triton kernel: your code called torch's {op} ({_spelled(op.split('.')[1])}) at "
            f"{where}, outside a Triton kernel launch. Do the arithmetic inside your @triton.jit "
            "kernel; the Python wrapper may only allocate the output (torch.empty_like, torch.empty), "
            "take views or copies, and launch the kernel.")


def _forbid_mode(block: "forbid_torch_compute"):
    class ForbidTorchCompute(_dispatch_mode_class()):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            __tracebackhide__ = True  # pytest: show the learner's line, not this one
            if _unwatched() or func.overloadpacket.__name__ in ALLOWED_OPS:
                return func(*args, **(kwargs or {}))
            msg = compute_message(str(func), _caller())
            block.violations.append(msg)
            raise AssertionError(msg)

    return ForbidTorchCompute()


class forbid_torch_compute:  # noqa: N801 - used like a function: `with forbid_torch_compute() as guard:`
    """Fail (AssertionError) if the block calls a torch compute op outside a Triton kernel launch.

        with forbid_torch_compute() as guard:
            out = module.add(x, y)
        assert guard.launches >= 1       # and a numpy-computed answer launched nothing

    Allocation, views, copies and dtype conversions (ALLOWED_OPS) pass, and so does anything the Triton
    launcher does while a kernel runs. A violation that the code under test catches and hides is raised
    again when the block ends. `.launches` counts the kernel launches in the block."""

    def __init__(self):
        self.violations: list[str] = []
        self.launches = 0
        self._stack: contextlib.ExitStack | None = None
        self._start = 0

    def __enter__(self) -> "forbid_torch_compute":
        with contextlib.ExitStack() as stack:
            stack.enter_context(_launches_marked())
            stack.enter_context(_forbid_mode(self))
            stack.enter_context(mirrored("forbid_torch_compute", self))
            self._stack = stack.pop_all()
        self._start = _launch_count
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        __tracebackhide__ = True
        self.launches = _launch_count - self._start
        self._stack.close()
        if exc_type is None and self.violations:
            raise AssertionError(self.violations[0] + "\n  (the code under test caught that error and went on; "
                                 f"{len(self.violations)} torch compute call(s) in all)")
        return False


# ----------------------------------------------------------------------------- guarded allocations

# Allocations that guard_allocations() hands out inside a guarded buffer; the first group is poisoned.
EMPTIES = frozenset({"empty", "empty_like", "empty_strided", "empty_permuted", "new_empty", "new_empty_strided"})
_GUARDED = EMPTIES | (_FILLS - {"fill_", "zero_"})
POISON_BYTE = 0xA5  # margins and poisoned integer tensors hold this byte (as fp32: -2.9e-16)


@dataclass
class _Allocation:
    buf: object      # the whole 1-D buffer: margin, the tensor's storage, margin
    margin: int      # elements each side
    span: int        # elements of the tensor's own storage
    itemsize: int
    what: str        # "aten.empty_like.default of shape (1000,) float32 at vector_add.py:12 in add()"


def _guard_mode(allocations: list[_Allocation], margin_bytes: int):
    import torch

    class GuardAllocations(_dispatch_mode_class()):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            name = func.overloadpacket.__name__
            if _unwatched() or name not in _GUARDED or not isinstance(out, torch.Tensor):
                return out
            with kit_ops():
                return self._guarded(func, name, out)

        @staticmethod
        def _guarded(func, name, t):
            isz = t.element_size()
            margin = -(-margin_bytes // isz)
            span = t.untyped_storage().nbytes() // isz
            buf = torch.empty(span + 2 * margin, dtype=t.dtype, device=t.device)
            buf.view(torch.uint8).fill_(POISON_BYTE)
            g = buf.as_strided(t.shape, t.stride(), margin + t.storage_offset())
            if name not in EMPTIES:
                g.copy_(t)
            elif t.is_floating_point() or t.is_complex():
                g.fill_(float("nan"))
            allocations.append(_Allocation(
                buf, margin, span, isz,
                f"{func} of shape {tuple(t.shape)} {str(t.dtype).replace('torch.', '')} at {_caller()}"))
            return g

    return GuardAllocations()


class guard_allocations:  # noqa: N801 - used like a function: `with guard_allocations():`
    """Hand out every tensor the block allocates (torch.empty*, zeros*, ones*, full*, new_*) inside a
    larger buffer with `margin_bytes` of poison on each side; empty ones come back filled with NaN
    (integers: the poison byte 0xA5). On exit, a write into a margin fails with OUT-OF-BOUNDS WRITE.

        with guard_allocations():
            out = module.add(x, y)       # out = torch.empty_like(x) inside is guarded
        assert_equal(out, x + y)         # an element never written shows as NaN

    The tensors are views of their guarded buffers (out._base is set); values, shape and strides are
    what the allocation asked for. Allocations the Triton launcher makes are left alone. A store that
    lands beyond the margin is not caught here (on a CPU it may crash the test: the harness reports it)."""

    def __init__(self, margin_bytes: int = 64 * 1024):
        self.margin_bytes = margin_bytes
        self.allocations: list[_Allocation] = []
        self._stack: contextlib.ExitStack | None = None

    def __enter__(self) -> "guard_allocations":
        with contextlib.ExitStack() as stack:
            stack.enter_context(_launches_marked())
            stack.enter_context(_guard_mode(self.allocations, self.margin_bytes))
            stack.enter_context(mirrored("guard_allocations", self, margin_bytes=self.margin_bytes))
            self._stack = stack.pop_all()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        __tracebackhide__ = True
        self._stack.close()
        if exc_type is None:
            self.check()
        return False

    def check(self) -> None:
        """Fail if anything wrote into a margin of a guarded allocation."""
        __tracebackhide__ = True
        import torch

        for a in self.allocations:
            raw = a.buf.detach().view(torch.uint8).cpu().numpy().reshape(-1, a.itemsize)  # bf16 has no numpy
            msg = margin_writes(raw, a.margin, a.span, a.what)
            if msg:
                raise AssertionError(msg)


def margin_writes(raw: np.ndarray, margin: int, span: int, what: str) -> str:
    """The OUT-OF-BOUNDS WRITE message for a guarded buffer (`raw`: one row of bytes per element, `margin`
    elements of poison each side of the tensor's `span`), or "" if its margins still hold the poison."""
    lo = np.arange(0, min(margin, len(raw)))
    margins = np.r_[lo, np.arange(margin + span, len(raw))]
    hit = margins[(raw[margins] != POISON_BYTE).any(axis=1)] if margins.size else margins
    if not hit.size:
        return ""
    before, after = hit[hit < margin], hit[hit >= margin + span] - margin - span
    where = []
    if after.size:
        where.append(f"{after.size} element(s) past the end (the first at index {span + int(after[0])}; "
                     f"the tensor holds {span})")
    if before.size:
        where.append(f"{before.size} element(s) before the start (the first at index {int(before[0]) - margin})")
    return (f"OUT-OF-BOUNDS WRITE: a kernel wrote {' and '.join(where)} of the tensor made by {what}. "
            "Usually the last block running past the end of the data: mask every tl.store (and tl.load) "
            "with offsets < n.")


_preload()
