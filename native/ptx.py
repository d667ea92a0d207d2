"""Reading the PTX (and ptxas's report) of a CUDA kata on a machine without a GPU.

The CUDA katas' CPU tier cannot run a kernel, but it can read what nvcc made of it: `kata.cuda_report()`
gives ptxas's resource report and the PTX text; this module turns the PTX into per-kernel facts.

    ptx_functions(ptx)        {name: PtxFunction}: every .entry/.func with its (opcode, operands)
    kernel_facts(ptx)         [KernelFacts]: per __global__ kernel, its own instructions plus those of
                              the device functions it calls: global loads/stores, shared loads/stores,
                              barriers, shuffles, atomics, float adds, special registers, setp count
    state_space(opcode)       "global", "shared", "local", "param", "const", "tex" or "generic"
    demangle(name)            a C++ kernel name as the learner wrote it (cu++filt / c++filt)
    ptxas_lines(raw, name)    ptxas's own lines about one kernel, for failure messages
    closest(facts, problems)  the kernel with the fewest problems, for "the closest of N kernels"
"""
from __future__ import annotations

import functools
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Callable, Iterable


@dataclass
class PtxFunction:
    name: str                                   # as in the PTX (mangled)
    is_entry: bool                              # a __global__ kernel (.entry), not a device function
    ops: list[tuple[str, str]] = field(default_factory=list)  # (opcode, operands), comments removed
    calls: list[str] = field(default_factory=list)


_HEADER = re.compile(r"^[ \t]*((?:\.(?:visible|weak|extern)\s+)*)\.(entry|func)\s+(?:\([^)]*\)\s*)?([\w$.]+)", re.M)
_CALLEE = re.compile(r"\bcall(?:\.uni)?\s*(?:\([^)]*\)\s*,\s*)?([\w$.]+)", re.S)


def ptx_functions(ptx: str) -> dict[str, PtxFunction]:
    """Every .entry and .func in the PTX with its instructions. A function's text runs to the next
    header; that is enough for counting instructions (declarations in between hold none)."""
    ptx = re.sub(r"//[^\n]*", "", ptx)
    heads = list(_HEADER.finditer(ptx))
    out = {}
    for h, nxt in zip(heads, heads[1:] + [None]):
        text = ptx[h.end():nxt.start() if nxt else len(ptx)]
        f = PtxFunction(h.group(3), h.group(2) == "entry")
        for line in text.splitlines():
            line = re.sub(r"^\s*@!?%\w+\s+", "", line.strip())  # drop a predicate guard (@%p1 / @!%p1)
            m = re.match(r"([a-z][\w.:]*)\s*(.*)", line)
            if m and not line.startswith("."):
                f.ops.append((m.group(1), m.group(2)))
        f.calls = _CALLEE.findall(text)
        out[f.name] = f
    return out


_SPACES = ("global", "shared", "local", "param", "const", "tex")


def state_space(opcode: str) -> str:
    """The state space an ld/st/atom/red names: 'global', 'shared' (also shared::cta/cluster), 'local',
    'param', 'const', 'tex', or 'generic' when none is named (the address may well be global)."""
    parts = [p.split("::")[0] for p in opcode.split(".")]
    for s in _SPACES:
        if s in parts:
            return s
    return "generic"


def _is_global_or_generic(opcode: str) -> bool:
    return state_space(opcode) in ("global", "generic")


@dataclass
class KernelFacts:
    """What one kernel's PTX does (its own instructions and those of every device function it calls)."""
    name: str                  # mangled, as ptxas reports it
    shown: str                 # demangled, for messages
    ops: list[tuple[str, str]]
    loads: list[str]           # loads from global (or generic) memory, cp.async global->shared included
    stores: list[str]          # stores (and atomics/reductions) to global or generic memory
    shared_loads: list[str]    # ld.shared
    shared_stores: list[str]   # st.shared (and cp.async into shared memory)
    barriers: list[str]        # bar.sync / barrier.sync / bar.red (__syncthreads and friends)
    shuffles: list[str]        # shfl.sync (__shfl_*_sync)
    atomics: list[str]         # atom.* and red.* in any space
    adds: list[str]            # float adds
    specials: set[str]         # %ctaid, %ntid, %tid, %nctaid, %laneid, %warpid read
    compares: int              # setp instructions
    printf: bool               # calls vprintf

    @property
    def instructions(self) -> int:
        return sum(1 for op, _ in self.ops if op != "ret")

    def count(self, pattern: str) -> int:
        """How many instructions' opcodes match the regular expression (re.match, from the start)."""
        rx = re.compile(pattern)
        return sum(1 for op, _ in self.ops if rx.match(op))

    def uses(self, pattern: str) -> bool:
        return self.count(pattern) > 0

    def summary(self) -> str:
        """One line for messages: what the PTX shows."""
        return (f"{len(self.loads)} global loads, {len(self.stores)} global stores, {len(self.shared_loads)} "
                f"ld.shared, {len(self.shared_stores)} st.shared, {len(self.barriers)} bar.sync, "
                f"{len(self.shuffles)} shfl.sync, {len(self.atomics)} atomics, {self.compares} setp")


@functools.lru_cache(maxsize=None)
def demangle(name: str) -> str:
    tool = shutil.which("cu++filt") or shutil.which("c++filt")
    if tool and name.startswith("_Z"):
        try:
            out = subprocess.run([tool, name], capture_output=True, text=True, timeout=10).stdout.strip()
            return out or name
        except (OSError, subprocess.SubprocessError):
            pass
    return name


def _reachable_ops(funcs: dict[str, PtxFunction], entry: str) -> tuple[list[tuple[str, str]], set[str]]:
    ops, seen, todo, called = [], set(), [entry], set()
    while todo:  # the kernel's own instructions plus those of device functions it calls
        g = funcs.get(todo.pop())
        if g is None or g.name in seen:
            continue
        seen.add(g.name)
        ops += g.ops
        called |= set(g.calls)
        todo += g.calls
    return ops, called


def kernel_facts(ptx: str) -> list[KernelFacts]:
    funcs = ptx_functions(ptx)
    facts = []
    for f in (f for f in funcs.values() if f.is_entry):
        ops, called = _reachable_ops(funcs, f.name)
        loads, stores, sh_loads, sh_stores, barriers, shuffles, atomics = [], [], [], [], [], [], []
        for op, _ in ops:
            if re.match(r"(ld|ldu)\.", op):
                space = state_space(op)
                if space in ("global", "generic"):
                    loads.append(op)
                elif space == "shared":
                    sh_loads.append(op)
            elif re.match(r"(st|red|atom)\.", op):
                space = state_space(op)
                if op.startswith(("red.", "atom.")):
                    atomics.append(op)
                if space in ("global", "generic"):
                    stores.append(op)
                elif space == "shared":
                    sh_stores.append(op)
            elif op.startswith("cp.async") and not op.startswith(("cp.async.wait", "cp.async.commit")):
                # copies name the destination space first, then the source
                spaces = [p.split("::")[0] for p in op.split(".") if p.split("::")[0] in ("global", "shared")]
                if spaces[:2] == ["shared", "global"]:
                    loads.append(op)
                    sh_stores.append(op)
                elif spaces[:2] == ["global", "shared"]:
                    stores.append(op)
                    sh_loads.append(op)
            elif re.match(r"(bar|barrier)\.(sync|red|arrive)|bar\.cta\.sync|barrier\.cta\.sync", op) or op == "bar":
                barriers.append(op)
            elif op.startswith("shfl."):
                shuffles.append(op)
        adds = [op for op, _ in ops if re.match(r"add(\.\w+)*\.f(32|64)(x2)?$", op)]
        specials = set()
        for _, args in ops:
            specials |= set(re.findall(r"%(?:ctaid|nctaid|ntid|tid|laneid|warpid)(?=\.[xyz]|\b)", args))
        facts.append(KernelFacts(
            name=f.name, shown=demangle(f.name), ops=ops,
            loads=loads, stores=stores, shared_loads=sh_loads, shared_stores=sh_stores, barriers=barriers,
            shuffles=shuffles, atomics=atomics, adds=adds, specials=specials,
            compares=sum(1 for op, _ in ops if op.startswith("setp.")),
            printf="vprintf" in called,
        ))
    return facts


def ptxas_lines(raw: str, mangled: str) -> str:
    """ptxas's own lines about one kernel, for messages."""
    lines, keep = [], False
    for line in raw.splitlines():
        if "Compiling entry function" in line or "Function properties for" in line:
            keep = mangled in line
        if keep:
            lines.append("    " + line.strip())
    return "\n".join(lines) or "    (ptxas printed nothing for it)"


def closest(facts: Iterable[KernelFacts], problems: Callable[[KernelFacts], list]) -> KernelFacts:
    """The kernel with the fewest problems (a file may hold helper kernels beside the real one)."""
    return min(facts, key=lambda k: len(problems(k)))
