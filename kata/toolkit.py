"""The test toolkit: what kata tests import instead of copying.

    expect(ok, message)              fail the test with `message` (no traceback) unless `ok`
    describe(x)                      "(3, 333) float16 on cuda with strides (1, 3) (not contiguous)"
    randn(shape, dtype, device, seed, scale)   seeded normal tensor, the same on every machine
    rng(seed)                        a seeded numpy Generator
    call_checked(fn, *args, ...)     call learner code the way every kata does: inputs cloned and checked
                                     unchanged afterwards, outputs guarded (Triton), and the result's
                                     type, shape, dtype and device checked, each with its own message

Assertions on values live in `kata.testing` (assert_equal, assert_close, Guarded, assert_unchanged).
"""
from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest

from kata.testing import assert_unchanged


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


def randn(shape, dtype=None, device="cpu", seed: int = 0, scale: float = 1.0):
    """`scale * N(0, 1)` of `shape`, drawn on the CPU from a seeded generator (the same numbers on every
    machine and device), then cast to `dtype` and moved to `device`."""
    import torch
    g = torch.Generator().manual_seed(seed)
    t = scale * torch.randn(shape, generator=g, dtype=torch.float32)
    return t.to(dtype=dtype or torch.float32, device=device)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


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


def call_checked(fn, *args, name: str | None = None, on: str = "", guard: bool = False,
                 like=None, shape=None, dtype=None, device=None, returns=None, **kwargs):
    """Call `fn(*args, **kwargs)` and check what a hundred wrong submissions get wrong around the call.

    - every array/tensor argument is snapshotted first and must be unchanged afterwards;
    - with `guard=True` (Triton katas) torch allocations inside the call come back NaN-filled between
      poisoned margins, so unwritten elements and out-of-bounds stores show;
    - the result must be `returns` (a type, default: the type of `like` if given), with `like`'s shape,
      dtype and device unless `shape`, `dtype` or `device` say otherwise.
    Returns the result. `name` names the call in messages (default: the function's name)."""
    __tracebackhide__ = True
    name = name or f"{getattr(fn, '__name__', 'the function')}(...)"
    ctx = f" on {on}" if on else ""
    saved = [(f"argument {i + 1}", a, _snapshot(a)) for i, a in enumerate(args) if _is_array(a)]
    saved += [(f"argument {k}", a, _snapshot(a)) for k, a in kwargs.items() if _is_array(a)]
    if guard:
        from kata.tritonkit import guard_allocations
        cm = guard_allocations()
    else:
        cm = contextlib.nullcontext()
    with cm:
        out = fn(*args, **kwargs)
    for what, a, before in saved:
        assert_unchanged(_contig(before), _contig(a), what=f"{what} of {name}{ctx}")
    if like is not None:
        shape = tuple(like.shape) if shape is None else shape
        dtype = like.dtype if dtype is None else dtype
        if device is None and hasattr(like, "device"):
            device = like.device
        returns = type(like) if returns is None else returns
    if returns is not None:
        expect(isinstance(out, returns),
               f"{name}{ctx} returned {describe(out)}, expected a {getattr(returns, '__name__', returns)}")
    if shape is not None:
        expect(tuple(out.shape) == tuple(shape),
               f"{name}{ctx} returned shape {tuple(out.shape)}, expected {tuple(shape)}")
    if dtype is not None:
        expect(out.dtype == dtype, f"{name}{ctx} returned dtype {out.dtype}, expected {dtype}: a silent dtype "
                                   "change (an fp32 accumulator stored as is, an int promoted) is a wrong answer")
    if device is not None:
        expect(str(out.device) == str(device) or getattr(out.device, "type", None) == getattr(device, "type", device),
               f"{name}{ctx} returned a tensor on {out.device}; the inputs are on {device}")
    return out
