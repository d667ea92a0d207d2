"""What a test measures around a learner's call, re-derived where no learner Python runs: the call's tape
and its replay.

Under `kata grade` (the separate judge) a test's `count_bytes()`, `forbid_torch_compute()`,
`guard_allocations()` and `OpCensus()` blocks measure in the learner's process, where learner code could
rewrite what they found. So that process also records a *tape* of the call: the
tensors it was given, every torch op it ran outside a kernel launch (allocations, views, copies, fills,
anything else), and every Triton launch (which kernel, the grid, the arguments). The tape is data. The
judge hands it, with its own copy of the inputs and the learner's source files, to a fresh sandboxed
process that runs no learner Python: it re-runs the torch ops by their aten names and the kernels from
their source (the @triton.jit functions only, each checked to use nothing but the Triton language), under
Triton's interpreter, with every kernel access confined to the storages the tape declared, and measures
there. The judge takes the figures from that replay, and the call's outputs must equal the replay's bit
for bit.

On a GPU the tape is the same, its tensors on the GPU: the replay runs there, the kernels compiled (neither
confined nor counted: GPU tests measure neither), and it also times the call (kata.timing.gpu_ms under a
separate judge: the replay's kernels and ops, by the grader's clock). The recorder notes when a tensor the
call made dies, so the replay also knows the most bytes the call's tensors held at once
(kata.tritonkit.gpu_peak_memory).

A forged tape therefore buys nothing: whatever it says, the figures are those of kernels that really
produce the returned outputs from the test's inputs. A tape that leaves something out (a kernel run with
the counters off, an answer written through numpy) does not reproduce the outputs, and the test fails.

    Tape(args)                    the learner process's recorder (entered by kata.tritonkit.taping)
    kernel_module(files)          the learner files' @triton.jit functions and constants, and what is refused
    replay(tape, files, inputs, home, censuses, bench)
                                  the replaying process's side: figures, the outputs it produced, the
                                  peak of the call's memory, and (bench, a GPU tape) its time
"""
from __future__ import annotations

import ast
import inspect
import sys

import numpy as np

from kata.tritonlint import bound_names

_DEVICES = ("cpu", "cuda")  # where a taped tensor may live: a GPU tape replays on the grader's GPU
CONST_LIMIT = 16 << 10  # bytes of tensors made outside the call (a lookup table at import) a tape may carry


class ReplayError(AssertionError):
    """The call could not be replayed, or the replay disagrees: the test fails with this message."""


# ------------------------------------------------------------------------------ the learner process

def _torch():
    return sys.modules.get("torch")


class Tape:
    """What one call did, as data: recorded in the learner's process (kata.tritonkit.taping)."""

    def __init__(self, ak: dict | None = None):
        self.keys: dict = {}          # (device, storage address, nbytes) -> storage id
        self.keep: list = []          # the storages, alive while the tape is (an address is not reused)...
        self.weak: dict = {}          # ...but those the call made: sid -> (weak reference, key), a "free" event when it dies
        self.storages: list = []      # [sid, nbytes, how, device]   how: "arg", "new", "const"; device: "cpu", "cuda"
        self.args: list = []          # [path, ref]
        self.consts: list = []        # [sid, uint8 array of the storage's bytes]
        self.const_bytes = 0
        self.events: list = []
        self.result: list = []
        self.problem = ""             # set when something cannot be taped; the replay then fails with it
        self.rng = self.cuda_rng = None
        if ak is not None:
            torch = _torch()
            self.rng = torch.get_rng_state().numpy().copy()  # torch.rand and dropout replay the same draws
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                self.cuda_rng = torch.cuda.get_rng_state().numpy().copy()
            for path, t in _tensor_paths(ak):
                if type(t) is torch.Tensor:
                    self.args.append([list(path), self._ref(t, how="arg")])

    def _sid(self, t, how: str) -> int:
        st = t if isinstance(t, _torch().UntypedStorage) else t.untyped_storage()
        key = (st.device.type, st.data_ptr(), st.nbytes())
        if st.nbytes() and key in self.keys:
            return self.keys[key]
        sid = len(self.storages)
        self.keys[key] = sid
        if how == "new":
            self.weak[sid] = (st._weak_ref(), key)
        else:
            self.keep.append(st)
        self.storages.append([sid, int(st.nbytes()), how, st.device.type])
        if how == "const":
            self.const_bytes += st.nbytes()
            if self.const_bytes > CONST_LIMIT:
                self.problem = (f"your code used {self.const_bytes:,} bytes of tensors made outside the call (at import, "
                                "or from numpy or a Python list), more than the grader replays")
            else:
                raw = torch_bytes_of(st)
                self.consts.append([sid, raw])
        return sid

    def _ref(self, t, how: str = "const") -> dict:
        sid = self._sid(t, how)
        return {"t": sid, "o": int(t.storage_offset()), "s": [int(n) for n in t.shape],
                "st": [int(n) for n in t.stride()], "d": str(t.dtype).replace("torch.", "")}

    def _enc(self, v, depth=0):
        torch = _torch()
        if v is None or type(v) in (bool, int, float, str):
            return v
        if isinstance(v, np.generic) and v.dtype.kind in "biuf":  # a numpy scalar passed to a kernel
            return v.item()
        if type(v) is complex:
            return {"complex": [v.real, v.imag]}
        if isinstance(v, torch.Tensor):
            if type(v) is not torch.Tensor or v.layout != torch.strided or v.device.type not in _DEVICES:
                self.problem = self.problem or f"a {type(v).__name__} on {v.device} with layout {v.layout}"
                return {"bad": type(v).__name__}
            return {"ref": self._ref(v)}
        if isinstance(v, (tuple, list)) and depth < 4:
            return {"seq": [self._enc(x, depth + 1) for x in v], "tuple": isinstance(v, tuple)}
        if isinstance(v, torch.UntypedStorage) and v.device.type in _DEVICES:
            return {"storage": self._sid(v, "const")}
        if isinstance(v, torch.dtype):
            return {"dtype": str(v).replace("torch.", "")}
        if isinstance(v, torch.device):
            return {"device": str(v)}
        if isinstance(v, (torch.memory_format, torch.layout)):
            return {"enum": str(v).replace("torch.", "")}
        tl_dtype = _tl_dtype_name(v)
        if tl_dtype:
            return {"tl": tl_dtype}
        if hasattr(v, "value") and type(v).__name__ == "constexpr":
            return self._enc(v.value, depth + 1)
        self.problem = self.problem or f"a {type(v).__name__} the grader cannot replay"
        return {"bad": type(v).__name__}

    def _frees(self) -> None:
        """A "free" event for each storage the call made that died since the last event (the replay's peak
        memory); its address may now be reused by a storage of its own."""
        if not self.weak:
            return
        storage = _torch().UntypedStorage
        for sid, (ref, key) in list(self.weak.items()):
            if storage._expired(ref):
                storage._free_weak_ref(ref)
                del self.weak[sid]
                self.keys.pop(key, None)
                self.events.append(["free", sid])

    def close(self) -> None:
        storage = _torch().UntypedStorage
        for ref, _ in self.weak.values():
            storage._free_weak_ref(ref)
        self.weak.clear()

    # what the recorder sees
    def op(self, func, args, kwargs, out, where: str) -> None:
        self._frees()
        if len(self.events) > 20_000:
            self.problem = self.problem or "more than 20,000 torch ops in one call"
            return
        name = str(func)  # aten.empty_like.default
        e_args, e_kwargs = self._enc(list(args)), {k: self._enc(v) for k, v in (kwargs or {}).items()}
        self.events.append(["op", name, e_args, e_kwargs, self._out(out), where[:200]])

    def _out(self, out):
        torch = _torch()
        if isinstance(out, torch.Tensor):
            return {"ref": self._ref(out, how="new")} if type(out) is torch.Tensor else {"bad": type(out).__name__}
        if isinstance(out, (tuple, list)):
            return {"seq": [self._out(x) for x in out]}
        return None

    def launch(self, fn, grid, args, kwargs) -> list:
        self._frees()
        code = getattr(fn, "__code__", None)
        where = code.co_filename.rsplit("/", 1)[-1] if code is not None else ""
        ev = ["launch", where, getattr(fn, "__name__", ""), grid if isinstance(grid, list) else None,
              self._enc(list(args)), {k: self._enc(v) for k, v in kwargs.items()}]
        self.events.append(ev)
        return ev

    def finish(self, value) -> dict:
        torch = _torch()
        from kata.remote import returned_tensors
        self._frees()
        for t in returned_tensors(value):
            key = (t.device.type, t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())
            self.result.append(self._ref(t) if key in self.keys or not t.numel() else None)
        if torch is None:
            return {}
        self.close()
        return {"storages": self.storages, "args": self.args, "consts": self.consts, "events": self.events,
                "result": self.result, "problem": self.problem, "rng": self.rng, "cuda_rng": self.cuda_rng}


def torch_bytes_of(storage) -> np.ndarray:
    torch = _torch()
    return torch.empty(0, dtype=torch.uint8, device=storage.device).set_(storage).cpu().numpy().copy()


def _tl_dtype_name(v) -> str:
    """The name under which triton.language has the dtype `v` (tl.float32 is named "fp32" itself)."""
    tl = sys.modules.get("triton.language")
    if tl is not None and isinstance(v, tl.dtype):
        return next((k for k, d in vars(tl).items() if not k.startswith("_") and isinstance(d, tl.dtype) and d == v),
                    "")
    return ""


def _tensor_paths(node, path=(), depth=0):
    torch = _torch()
    if torch is not None and isinstance(node, torch.Tensor):
        yield path, node
    elif depth < 4 and isinstance(node, (tuple, list)):
        for i, v in enumerate(node):
            yield from _tensor_paths(v, path + (i,), depth + 1)
    elif depth < 4 and isinstance(node, dict):
        for k, v in node.items():
            yield from _tensor_paths(v, path + (k,), depth + 1)


# ---------------------------------------------------------------------------- the kernels' source

_BUILTINS = ("range len min max abs int float bool isinstance print tuple list zip enumerate reversed round sum "
             "all any divmod pow ValueError AssertionError RuntimeError TypeError NotImplementedError Exception").split()
_MODULES = ("math", "triton", "triton.language")  # and triton.language.* below
_BANNED_NODES = (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.ClassDef, ast.AsyncFunctionDef,
                 ast.Await, ast.Yield, ast.YieldFrom, ast.Lambda, ast.With, ast.AsyncWith, ast.Delete,
                 ast.FunctionDef)


def _value_attrs() -> frozenset:
    import triton.language as tl
    names = set()
    for cls in (tl.tensor, tl.dtype, tl.pointer_type, tl.block_type, tl.constexpr):
        names |= {n for n in dir(cls) if not n.startswith("_")}
    # and what their instances set in __init__
    names |= {"dtype", "type", "shape", "numel", "element_ty", "address_space", "const", "name", "primitive_bitwidth",
              "int_signedness", "int_bitwidth", "fp_mantissa_width", "exponent_bias", "value", "scalar"}
    return frozenset(names - {"handle", "to_ir", "cache_key_part", "mangle", "codegen_name", "format", "format_map"})


_TRITON_TOP = frozenset({"language", "cdiv", "next_power_of_2"})  # what a kernel may use of `triton` itself


def _module_ok(mod) -> bool:
    name = getattr(mod, "__name__", "")
    return name in _MODULES or name == "triton.language.math" or name.startswith("triton.language.extra")


def _is_jit(dec) -> bool:
    while isinstance(dec, ast.Call):
        dec = dec.func
    return (isinstance(dec, ast.Name) and dec.id == "jit") or (isinstance(dec, ast.Attribute) and dec.attr == "jit")


def kernel_module(files: dict[str, str]) -> tuple[str, list[str]]:
    """The @triton.jit functions of the learner's files, with the imports and constants they use, as the
    source of one module; and the reasons any part was refused (empty: all of it may run)."""
    import importlib

    problems: list[str] = []
    head = ["import math", "import triton", "import triton.language as tl"]
    aliases: dict[str, object] = {"math": importlib.import_module("math"), "triton": importlib.import_module("triton"),
                                  "tl": importlib.import_module("triton.language")}
    consts: list[str] = []
    kernels: list[ast.FunctionDef] = []
    known: set = set()
    for fname, text in sorted(files.items()):
        try:
            tree = ast.parse(text, filename=fname)
        except SyntaxError as e:
            problems.append(f"{fname}: {e}")
            continue
        for st in tree.body:
            if isinstance(st, (ast.Import, ast.ImportFrom)):
                for a in st.names:
                    full = a.name if isinstance(st, ast.Import) else f"{st.module}.{a.name}"
                    local = a.asname or a.name.split(".")[0]
                    target = a.name if isinstance(st, ast.Import) and a.asname is None else full
                    try:
                        obj = importlib.import_module(target)
                    except ImportError:
                        try:
                            obj = getattr(importlib.import_module(st.module), a.name) if isinstance(st, ast.ImportFrom) else None
                        except (ImportError, AttributeError, TypeError):
                            obj = None
                    if obj is None or (hasattr(obj, "__spec__") and not _module_ok(obj)):
                        continue
                    if not hasattr(obj, "__spec__") and not _module_ok(sys.modules.get(getattr(obj, "__module__", ""), None)):
                        continue
                    aliases[local] = obj
                    head.append(ast.unparse(ast.ImportFrom(module=st.module, names=[a], level=0)
                                            if isinstance(st, ast.ImportFrom) else ast.Import(names=[a])))
            elif isinstance(st, ast.FunctionDef) and any(_is_jit(d) for d in st.decorator_list):
                kernels.append(st)
                known.add(st.name)
            elif isinstance(st, (ast.Assign, ast.AnnAssign)) and _constant(st.value, known | set(aliases)):
                targets = st.targets if isinstance(st, ast.Assign) else [st.target]
                if all(isinstance(t, ast.Name) and not t.id.startswith("__") for t in targets):
                    consts.append(ast.unparse(st))
                    known |= {t.id for t in targets}
    attrs = _value_attrs()
    for fn in kernels:
        scope = bound_names(fn) | known | set(aliases) | set(_BUILTINS)
        inside = [n for part in [fn.args, *fn.body] for n in ast.walk(part)]  # not the decorators: replaced below
        for node in inside:
            if isinstance(node, _BANNED_NODES):
                problems.append(f"{fn.name}, line {node.lineno}: a {type(node).__name__} statement")
            elif isinstance(node, ast.Name) and (node.id.startswith("__") or node.id not in scope):
                problems.append(f"{fn.name}, line {node.lineno}: the name {node.id!r}, which is not Triton's")
            elif isinstance(node, ast.Attribute):
                why = _attr_problem(node, aliases, attrs)
                if why:
                    problems.append(f"{fn.name}, line {node.lineno}: {why}")
        fn.decorator_list = [ast.Attribute(value=ast.Name(id="triton", ctx=ast.Load()), attr="jit", ctx=ast.Load())]
    body = "\n".join(head + consts + [ast.unparse(ast.fix_missing_locations(fn)) for fn in kernels])
    return body + "\n", problems


def _constant(node, names: set) -> bool:
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return all(_constant(e, names) for e in node.elts)
    if isinstance(node, ast.UnaryOp):
        return _constant(node.operand, names)
    if isinstance(node, ast.BinOp):
        return _constant(node.left, names) and _constant(node.right, names)
    if isinstance(node, ast.Name):
        return node.id in names and not node.id.startswith("_") or node.id in ("True", "False", "None")
    if isinstance(node, ast.Attribute):  # tl.float16 and the like
        import triton.language as tl
        return (isinstance(node.value, ast.Name) and node.value.id == "tl" and not node.attr.startswith("_")
                and isinstance(getattr(tl, node.attr, None), tl.dtype))
    if isinstance(node, ast.Call):
        return (isinstance(node.func, ast.Attribute) and node.func.attr == "constexpr" and not node.keywords
                and all(_constant(a, names) for a in node.args))
    return False


def _attr_problem(node: ast.Attribute, aliases: dict, attrs: frozenset) -> str:
    if node.attr.startswith("_"):
        return f"the attribute {node.attr!r}"
    chain, base = [node.attr], node.value
    while isinstance(base, ast.Attribute):
        chain.append(base.attr)
        base = base.value
    chain.reverse()
    if isinstance(base, ast.Name) and base.id in aliases:
        obj = aliases[base.id]
        for part in chain:
            if part.startswith("_") or (getattr(obj, "__name__", "") == "triton" and part not in _TRITON_TOP):
                return f"the attribute {part!r}"
            obj = getattr(obj, part, None)
            if inspect.isbuiltin(obj) and getattr(obj, "__module__", "") == "builtins":
                return f"{base.id}.{'.'.join(chain)}, a Python builtin"
            if obj is None:
                return f"{base.id}.{'.'.join(chain)}, which this Triton does not have"
            if hasattr(obj, "__spec__") and type(obj).__name__ == "module" and not _module_ok(obj):
                return f"the module {obj.__name__}"
        return ""
    if node.attr not in attrs:
        return f"the attribute {node.attr!r}, which is not one of Triton's tensor or type attributes"
    return ""


# ------------------------------------------------------------------------------- the replaying process

_POISON = 0xA5


class _Replayer:
    def __init__(self, tape: dict, module, inputs: dict):
        import torch
        self.torch, self.mod, self.inputs = torch, module, inputs
        self.st: dict[int, object] = {}
        self.made: dict[int, tuple] = {}  # storage id -> (first element, elements, element size, what made it)
        self.args: dict[tuple, object] = {}
        self.gpu = False  # a storage on the GPU: kernels run compiled, unconfined and uncounted there
        for sid, nbytes, how, *dev in tape["storages"]:
            self._declare(int(sid), int(nbytes), str(dev[0]) if dev else "cpu")
        for sid, raw in tape["consts"]:
            buf = self.st[int(sid)]
            data = torch.from_numpy(np.asarray(raw, dtype=np.uint8).reshape(-1).copy())
            if data.numel() != buf.numel():
                raise ReplayError("a tape's constant of the wrong size")
            buf.copy_(data.to(buf.device))
        from kata.remote import walk_path
        for path, ref in tape["args"]:
            try:
                src = walk_path(inputs, path)
            except (KeyError, IndexError, TypeError):
                raise ReplayError(f"the tape names an argument {path} the call did not have") from None
            if not isinstance(src, torch.Tensor):
                raise ReplayError(f"the tape's argument {path} is not a tensor")
            view = self.tensor(ref)
            if view.shape != src.shape or view.dtype != src.dtype:
                raise ReplayError(f"the tape's argument {path} has the wrong shape or dtype")
            view.copy_(src)
            self.args[tuple(path)] = view

    def arg(self, path):
        """The replay's tensor for the call's argument at `path` (a census watches it)."""
        t = self.args.get(tuple(path))
        if t is None:
            raise ReplayError(f"a census watches an argument {path} the tape does not have")
        return t

    def _declare(self, sid: int, nbytes: int, dev: str = "cpu") -> None:
        if sid in self.st or nbytes < 0 or nbytes > (8 << 30) or dev not in _DEVICES:
            raise ReplayError("a tape with an impossible storage")
        if dev == "cuda" and not self.torch.cuda.is_available():
            raise ReplayError("a tape of tensors on a GPU, replayed where there is none")
        self.gpu = self.gpu or dev == "cuda"
        self.st[sid] = self.torch.full((nbytes,), _POISON, dtype=self.torch.uint8, device=dev)

    def tensor(self, ref: dict):
        torch = self.torch
        buf = self.st.get(int(ref["t"]))
        if buf is None:
            raise ReplayError("the tape names a storage it never declared")
        dtype = getattr(torch, str(ref["d"]), None)
        if not isinstance(dtype, torch.dtype):
            raise ReplayError(f"an unknown dtype {ref['d']!r}")
        t = torch.empty(0, dtype=dtype, device=buf.device)
        try:
            t.set_(buf.untyped_storage(), int(ref["o"]), [int(n) for n in ref["s"]], [int(n) for n in ref["st"]])
        except RuntimeError as e:
            raise ReplayError(f"a view the tape describes does not fit its storage: {e}") from None
        return t

    def dec(self, v):
        torch = self.torch
        if v is None or type(v) in (bool, int, float, str):
            return v
        if not isinstance(v, dict):
            raise ReplayError("a malformed tape")
        if "ref" in v:
            return self.tensor(v["ref"])
        if "complex" in v:
            re_, im = v["complex"]
            return complex(float(re_), float(im))
        if "storage" in v:
            buf = self.st.get(int(v["storage"]))
            if buf is None:
                raise ReplayError("the tape names a storage it never declared")
            return buf.untyped_storage()
        if "seq" in v:
            items = [self.dec(x) for x in v["seq"]]
            return tuple(items) if v.get("tuple") else items
        if "dtype" in v:
            d = getattr(torch, str(v["dtype"]), None)
            if not isinstance(d, torch.dtype):
                raise ReplayError("an unknown dtype")
            return d
        if "device" in v:
            d = str(v["device"])
            if d.split(":")[0] not in _DEVICES or (d != "cpu" and not self.gpu):
                raise ReplayError(f"a device {d!r} this replay does not run on")
            return torch.device(d)
        if "enum" in v:
            e = getattr(torch, str(v["enum"]), None)
            if not isinstance(e, (torch.memory_format, torch.layout)):
                raise ReplayError("an unknown torch constant")
            return e
        if "tl" in v:
            import triton.language as tl
            d = getattr(tl, str(v["tl"]), None)
            if not isinstance(d, tl.dtype):
                raise ReplayError("an unknown Triton dtype")
            return d
        raise ReplayError(f"the call passed a {v.get('bad', 'value')} the grader cannot replay")

    def margin_writes(self) -> list[str]:
        """Each storage a torch op made with room around the tensor (a guarded allocation: poison on each
        side) whose margins the replay's kernels wrote into: kata.tritonkit.guard_allocations' message."""
        from kata.tritonkit import margin_writes
        out = []
        for sid, (first, span, isz, what) in self.made.items():
            buf = self.st[sid]
            if buf.numel() <= span * isz or buf.numel() % isz or first * isz > buf.numel():
                continue
            raw = buf.cpu().numpy().reshape(-1, isz)
            if first + span <= len(raw):
                msg = margin_writes(raw, first, span, what)
                if msg:
                    out.append(msg)
        return out

    def run_op(self, name: str, args, kwargs, out, where: str = "") -> tuple[int, str]:
        torch = self.torch
        self.op_name, self.op_where = name, where
        parts = name.split(".")
        if len(parts) != 3 or parts[0] != "aten" or "file" in parts[1]:
            raise ReplayError(f"the tape names an op {name!r} the grader does not replay")
        try:
            func = getattr(getattr(torch.ops.aten, parts[1]), parts[2])
        except AttributeError:
            raise ReplayError(f"no such torch op {name!r}") from None
        from kata.tritonkit import kit_ops, copy_bytes
        with kit_ops():  # rebuilding the arguments is the replay's own work: no census or count sees it
            a = self.dec(args)
            k = {str(key): self.dec(v) for key, v in kwargs.items()}
        # below autograd, as a dispatch mode saw it: autograd's own follow-up ops (the detach after a
        # view.dtype) are on the tape already, and must not run twice
        with torch._C._AutoDispatchBelowADInplaceOrView():
            got = func(*a, **k)
        with kit_ops():
            self._place(out, got, parts[1])
        return copy_bytes(parts[1], a, got), name

    def _place(self, out, got, opname: str) -> None:
        """Put what the op produced where the tape says it went (a storage of its own the learner's
        process made, of its size: a guarded allocation sits between poisoned margins)."""
        torch = self.torch
        if out is None:
            return
        if "seq" in out:
            for o, g in zip(out["seq"], got if isinstance(got, (tuple, list)) else ()):
                self._place(o, g, opname)
            return
        if "ref" not in out or not isinstance(got, torch.Tensor):
            raise ReplayError(f"{opname} returned something the tape cannot place")
        ref = out["ref"]
        view = self.tensor(ref)
        if view.untyped_storage().data_ptr() == got.untyped_storage().data_ptr():
            return  # a view, or an op that wrote in place
        if view.shape != got.shape or view.dtype != got.dtype:
            raise ReplayError(f"{opname} made a {tuple(got.shape)} {got.dtype} in the replay, the tape says "
                              f"{tuple(view.shape)} {view.dtype}")
        sid, isz = int(ref["t"]), view.element_size()
        span = 1 + sum((n - 1) * st for n, st in zip(view.shape, view.stride())) if view.numel() else 0
        self.made.setdefault(sid, (int(ref["o"]), span, isz, f"{self.op_name} of shape {tuple(view.shape)} "
                                   f"{str(view.dtype).replace('torch.', '')} at {self.op_where}"))
        from kata.tritonkit import EMPTIES
        if opname in EMPTIES:
            if got.is_floating_point():
                view.fill_(float("nan"))
        else:
            view.copy_(got)

    def launch(self, file: str, name: str, grid, args, kwargs) -> None:
        fn = getattr(self.mod, str(name), None) if self.mod is not None else None
        if fn is None or not hasattr(fn, "run"):
            raise ReplayError(f"the kernel {name}() launched from {file} is not a @triton.jit function of your files "
                              "the grader could replay (a kernel made at run time, or inside another function?)")
        if not isinstance(grid, list) or not 1 <= len(grid) <= 3 or not all(type(g) is int and g >= 0 for g in grid):
            raise ReplayError(f"the launch of {name}() has no grid the grader can replay")
        from kata.tritonkit import kit_ops
        with kit_ops():
            a, k = self.dec(args), {str(key): self.dec(v) for key, v in kwargs.items()}
        fn[tuple(grid)](*a, **k)


_BUILT: dict = {}  # the replaying process's kernel modules, by their files: a test replays many calls


def _kernels(files: dict[str, str], home: str):
    """The learner's @triton.jit functions, checked, as a module of their own."""
    import builtins
    import importlib.util
    import os
    import tempfile

    key = tuple(sorted(files.items()))
    if key in _BUILT:
        return _BUILT[key]
    src, problems = kernel_module(files)
    if problems:  # any @triton.jit function: a launched kernel may call any of them
        raise ReplayError("the grader replays your kernels from their source, and this is not Triton it can run "
                          "apart from your Python: " + "; ".join(problems[:3]))
    where = tempfile.mkdtemp(prefix="replay-", dir=home)
    path = os.path.join(where, "kata_replayed_kernels.py")
    with open(path, "w") as f:
        f.write(src)
    spec = importlib.util.spec_from_file_location("kata_replayed_kernels", path)
    mod = importlib.util.module_from_spec(spec)
    mod.__dict__["__builtins__"] = {n: getattr(builtins, n) for n in _BUILTINS + ["__build_class__", "__import__"]}
    spec.loader.exec_module(mod)  # imports and constants only: checked above
    mod.__dict__["__builtins__"] = {k: v for k, v in mod.__dict__["__builtins__"].items() if k in _BUILTINS}
    _BUILT[key] = mod
    return mod


def replay(tape: dict, files: dict[str, str], inputs: dict, home: str, censuses: list | None = None,
           bench: dict | None = None) -> dict:
    """Run `tape` again from `inputs` (the judge's copy of the call's arguments): the counts, what each
    census (kata.toolkit.OpCensus, watching the arguments at the given paths) saw, the returned tensors
    and the arguments as the replay left them, the most bytes the call's own tensors held at once
    (`peak`). With `bench` ({"warmup", "rep"}: a GPU tape), also `ms`: the replay's kernels and ops timed
    as kata.timing.gpu_ms times a call."""
    import contextlib

    import torch

    import kata.tritonkit as tk

    if tape.get("problem"):
        raise ReplayError(f"the call could not be recorded for the grader's replay: {tape['problem']}")
    launches = any(ev[0] == "launch" for ev in tape["events"])
    mod = _kernels(files, home) if launches else None
    r = _Replayer(tape, mod, inputs)
    if tape.get("rng") is not None:  # the learner process's torch generator as the call began
        torch.set_rng_state(torch.from_numpy(np.asarray(tape["rng"], dtype=np.uint8).copy()))
    torch_bytes, torch_ops, margins = 0, [], []
    if tape.get("cuda_rng") is not None and r.gpu:
        torch.cuda.set_rng_state(torch.from_numpy(np.asarray(tape["cuda_rng"], dtype=np.uint8).copy()))
    peak = _peak(tape)
    with contextlib.ExitStack() as stack:
        # kernels reach only the storages the tape declared (their margins included); compiled for a GPU, the
        # kernels are neither confined nor counted (the interpreter does both): GPU tests measure neither
        if launches and not r.gpu:
            stack.enter_context(tk.confined([(b.data_ptr(), b.data_ptr() + b.numel()) for b in r.st.values()]))
        moved = stack.enter_context(tk.count_bytes()) if launches and not r.gpu else tk.BytesMoved()
        from kata.toolkit import OpCensus
        seen = [stack.enter_context(OpCensus(watch=[r.arg(p) for p in watch])) for watch in censuses or ()]
        for ev in tape["events"]:
            if ev[0] == "op":
                n, what = r.run_op(str(ev[1]), ev[2], ev[3], ev[4], str(ev[5])[:200])
                if n:
                    torch_bytes += n
                    torch_ops.append(f"{what} at {str(ev[5])[:200]}")
            elif ev[0] == "launch":
                r.launch(ev[1], ev[2], ev[3], ev[4], ev[5])
                # looked at after each launch: a torch op after it may not paint the poison back
                margins = margins or r.margin_writes()
            elif ev[0] != "free":
                raise ReplayError("a malformed tape")
    with tk.kit_ops():
        outs = [None if ref is None else r.tensor(ref).clone() for ref in tape["result"]]
        args_after = [[path, r.tensor(ref).clone()] for path, ref in tape["args"]]
    counts = {k: getattr(moved, k) for k in ("loaded", "stored", "atomic", "launches", "programs", "widest_load")}
    counts["torch_bytes"] = torch_bytes
    # stores into the returned tensors, as [which tensor, byte offset]
    from kata.remote import block_data, rebased_stores
    with tk.kit_ops():
        counts["store_starts"] = rebased_stores(moved.store_starts,
                                                 [r.tensor(ref) if ref else torch.empty(0) for ref in tape["result"]])
    counts["torch_ops"] = torch_ops[:100]
    out = {"counts": counts, "outs": outs, "args": args_after, "margins": margins,
           "census": [block_data("op_census", c) for c in seen], "peak": peak}
    if bench:
        if not r.gpu:
            raise ReplayError("a GPU timing of a call whose tensors are not on the GPU")
        out["ms"] = _timed(r, tape, int(bench.get("warmup", 25)), int(bench.get("rep", 100)))
    return out


def _peak(tape: dict) -> int:
    """The most bytes the storages the call made held at once: each "new" storage counts from the first event
    that names it to its "free" event (a storage named after its free is a forged tape)."""
    size = {int(sid): int(nbytes) for sid, nbytes, how, *_ in tape["storages"] if how == "new"}
    live, peak, born, freed = 0, 0, set(), set()

    def sids(v, depth=0):
        if depth > 8:
            return
        if isinstance(v, dict):
            if isinstance(v.get("ref"), dict):
                yield int(v["ref"]["t"])
            elif "storage" in v:
                yield int(v["storage"])
            else:
                for x in v.values():
                    yield from sids(x, depth + 1)
        elif isinstance(v, list):
            for x in v:
                yield from sids(x, depth + 1)

    for ev in tape["events"]:
        if ev[0] == "free":
            sid = int(ev[1])
            if sid in born and sid not in freed:
                freed.add(sid)
                live -= size.get(sid, 0)
            continue
        for sid in sids(list(ev[2:])):
            if sid in freed:
                raise ReplayError("a malformed tape: it uses a tensor after the call freed it")
            if sid in size and sid not in born:
                born.add(sid)
                live += size[sid]
        peak = max(peak, live)
    return peak


def _timed(r: _Replayer, tape: dict, warmup: int, rep: int) -> float:
    """do_bench's median (ms) of the tape's ops and launches run again, their arguments decoded once: what the
    learner's call costs the GPU. Allocations are not re-run (their storages exist), and what an op makes is not
    copied into place (the checked replay put it there already): each op's own work is timed, nothing more."""
    import torch
    from triton.testing import do_bench

    from kata.tritonkit import EMPTIES, kit_ops
    steps = []
    with kit_ops():
        for ev in tape["events"]:
            if ev[0] == "op":
                op = str(ev[1]).split(".")
                if op[1] in EMPTIES:
                    continue
                func = getattr(getattr(torch.ops.aten, op[1]), op[2])
                steps.append((func, r.dec(ev[2]), {str(k): r.dec(v) for k, v in ev[3].items()}))
            elif ev[0] == "launch":
                fn = getattr(r.mod, str(ev[2]))
                steps.append((fn[tuple(ev[3])], r.dec(ev[4]), {str(k): r.dec(v) for k, v in ev[5].items()}))

    if not steps:
        raise ReplayError("the call ran no kernel and no torch op on the GPU: there is nothing to time")

    def run():
        with torch._C._AutoDispatchBelowADInplaceOrView():
            for f, a, k in steps:
                f(*a, **k)
    return float(do_bench(run, warmup=warmup, rep=rep, return_mode="median"))


def same_bits(a, b) -> bool:
    """Equal shape, dtype and bytes (NaNs in the same places count as equal)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    x, y = a.detach().contiguous().reshape(-1), b.detach().contiguous().reshape(-1)
    if x.dtype.is_floating_point or x.dtype.is_complex:
        return bool(((x == y) | (x.isnan() & y.isnan())).all()) if x.numel() else True
    return bool((x == y).all()) if x.numel() else True
