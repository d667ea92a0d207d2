"""What Triton's GPU compiler refuses but its CPU interpreter runs: globals a @triton.jit function reads.

On a GPU, Triton compiles a kernel from its source and looks up every global name it reads: modules,
other @triton.jit functions, `tl` builtins and dtypes, named tuples and values wrapped in
`tl.constexpr(...)` pass; anything else (`LOG2E = 1.4427`, `BLOCK = 128`, a plain Python helper) is a
compile error. The interpreter (TRITON_INTERPRET=1, the CPU tier) just runs the Python, so such a kernel
passes every CPU test and fails on the first GPU. `problems(mod, shown)` finds those reads in the
learner's file when it is imported, with the rule Triton applies (triton/compiler/code_generator.py,
global_lookup), so the CPU tier fails the same way the GPU would.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
import types


def _jitted(mod) -> list:
    """The module's own @triton.jit functions (interpreted or compiled), with their Python functions."""
    from triton.runtime.jit import KernelInterface

    out, seen = [], set()
    for val in vars(mod).values():
        fn = val
        while isinstance(fn, KernelInterface):  # @triton.autotune and @triton.heuristics wrap the jitted one
            fn = getattr(fn, "fn", None)
        if (isinstance(val, KernelInterface) and inspect.isfunction(fn) and fn.__module__ == mod.__name__
                and fn not in seen):
            seen.add(fn)
            out.append((fn.__name__, fn))
    return out


def _allowed(val) -> bool:
    import triton.language as tl
    from triton.runtime.jit import KernelInterface

    return (isinstance(val, (types.ModuleType, KernelInterface, tl.constexpr, tl.dtype))
            or getattr(val, "__triton_builtin__", False) or getattr(val, "__triton_aggregate__", False)
            or getattr(val, "__module__", "").startswith("triton.language")
            or (isinstance(val, tuple) and hasattr(val, "_fields")))


def bound_names(fn: ast.FunctionDef) -> set[str]:
    """Names a function binds itself: its arguments (and those of any lambda inside) and whatever it
    assigns, deletes or loops over. kata.replay uses it too."""
    names = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
    return names


def _kind(val) -> str:
    if inspect.isfunction(val):
        return "a plain Python function, not @triton.jit"
    t = type(val).__name__
    return f"{'an' if t[0] in 'aeiou' else 'a'} {t}"


def problems(mod, shown: str) -> list[str]:
    """One message per global that a @triton.jit function of `mod` (the learner's file, `shown` in the
    messages) reads and that Triton's GPU compiler would refuse."""
    out = []
    for name, fn in _jitted(mod):
        try:
            lines, first = inspect.getsourcelines(fn)
            tree = ast.parse(textwrap.dedent("".join(lines)))
        except (OSError, TypeError, SyntaxError):
            continue
        func = next((n for n in tree.body if isinstance(n, ast.FunctionDef)), None)
        if func is None:
            continue
        bound, seen = bound_names(func), set()
        for node in (n for stmt in func.body for n in ast.walk(stmt)):
            if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)) or node.id in bound | seen:
                continue
            if node.id not in fn.__globals__:  # a builtin (range, min, float...), or undefined: Triton says so itself
                continue
            val = fn.__globals__[node.id]
            if _allowed(val):
                continue
            seen.add(node.id)
            hint = (f"write `{node.id} = tl.constexpr({val!r})` at module level, or pass it to the kernel as an argument"
                    if isinstance(val, (int, float, bool)) else
                    f"decorate `{node.id}` with @triton.jit" if inspect.isfunction(val) else
                    "pass it to the kernel as an argument, or wrap a constant in tl.constexpr(...)")
            out.append(f"{shown}:{first + node.lineno - 1}: @triton.jit {name}() reads the global `{node.id}` "
                       f"({_kind(val)}). Triton's interpreter runs that on the CPU, but on a GPU the compiler "
                       f"refuses every global that is not a tl.constexpr, a module or a @triton.jit function "
                       f"(NameError: Cannot access global variable {node.id} from within @jit'ed function): {hint}.")
    return out
