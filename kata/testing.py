"""Assertions for kata tests that say what was expected, what came back, on which input, and where.

Works on numpy arrays and torch tensors alike (tensors are compared on the CPU in float64).
"""
from __future__ import annotations

import sys

import numpy as np


class Guarded:
    """An output buffer with poisoned margins on both sides, pre-filled with a poison value.

    `g.inner` is what the code under test writes; `g.check(name)` fails if anything outside it
    changed (an out-of-bounds write) and `unwritten()` finds elements still holding the poison."""

    def __init__(self, shape, dtype=np.float32, margin: int = 64, poison=np.nan):
        shape = tuple(np.atleast_1d(shape)) if not isinstance(shape, tuple) else shape
        n = int(np.prod(shape))
        self.margin = margin
        self.dtype = np.dtype(dtype)
        self.poison = poison
        self.full = np.full(n + 2 * margin, poison, dtype=self.dtype)
        self._before = self.full.copy()
        self.inner = self.full[margin:margin + n].reshape(shape)
        from kata import wire
        wire.guard_margins(self.full)  # a learner's process gets the margins too, and its stray writes come back

    def check_margins(self, what: str = "the output") -> None:
        __tracebackhide__ = True
        isz, m, n = self.dtype.itemsize, self.margin, self.inner.size
        diff = (self.full.view(np.uint8) != self._before.view(np.uint8)).reshape(-1, isz).any(axis=1)
        diff[m:m + n] = False
        hit = np.flatnonzero(diff)
        if hit.size:
            off = int(hit[0]) - m
            side = "before the start" if off < 0 else "past the end"
            raise AssertionError(
                f"OUT-OF-BOUNDS WRITE: {hit.size} element(s) written {side} of {what} (first at element "
                f"index {off}; the buffer holds {n}). Check your loop bounds and masks.")

    def unwritten(self) -> np.ndarray:
        if isinstance(self.poison, float) and np.isnan(self.poison):
            return np.argwhere(np.isnan(self.inner))
        return np.argwhere(self.inner == self.poison)


def _np(x):
    torch = sys.modules.get("torch")  # never import torch just to compare numpy arrays (1 s per test)
    if torch is not None and isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", copy=True)
        return x.double().numpy() if x.is_floating_point() else x.numpy()
    return np.asarray(x)


def _show_index(idx) -> str:
    return "[" + ", ".join(str(int(i)) for i in np.atleast_1d(idx)) + "]"


def assert_equal(got, want, *, what: str = "result", on: str = "", max_shown: int = 5) -> None:
    """Exact equality, NaN-aware (a NaN where a number was expected usually means 'never written')."""
    __tracebackhide__ = True
    g, w = _np(got), _np(want)
    ctx = f" on {on}" if on else ""
    if g.shape != w.shape:
        raise AssertionError(f"{what}{ctx}: shape {g.shape}, expected {w.shape}")
    bad = ~((g == w) | (np.isnan(g) & np.isnan(w) if g.dtype.kind == "f" else False))
    if bad.any():
        raise AssertionError(_mismatch_message(g, w, bad, what, ctx, max_shown))


def assert_close(got, want, *, atol: float, rtol: float = 0.0, what: str = "result", on: str = "",
                 max_shown: int = 5) -> None:
    """|got - want| <= atol + rtol*|want| elementwise, with a message listing the worst elements."""
    __tracebackhide__ = True
    g, w = _np(got).astype(np.float64), _np(want).astype(np.float64)
    ctx = f" on {on}" if on else ""
    if g.shape != w.shape:
        raise AssertionError(f"{what}{ctx}: shape {g.shape}, expected {w.shape}")
    with np.errstate(invalid="ignore"):
        err = np.abs(g - w)
        bad = ~(err <= atol + rtol * np.abs(w))
    bad &= ~(np.isnan(w) & np.isnan(g))
    if bad.any():
        raise AssertionError(_mismatch_message(g, w, bad, what, ctx, max_shown) +
                             f"\n  tolerance: atol={atol:g}, rtol={rtol:g}; largest error "
                             f"{np.nanmax(np.where(bad, err, 0)):.3g}")


def _mismatch_message(g, w, bad, what, ctx, max_shown) -> str:
    idx = np.argwhere(bad)
    n_nan = int(np.isnan(g[bad]).sum()) if g.dtype.kind == "f" else 0
    lines = [f"{what}{ctx}: {len(idx)} of {g.size} elements wrong (shape {g.shape})"]
    if n_nan:
        lines.append(f"  {n_nan} of them are NaN. Where a test pre-fills the output with NaN this means "
                     "never written (a mask or loop bound that stops early?); otherwise look for overflow "
                     "(exp of a large number), 0/0 or inf - inf")
    for i in idx[:max_shown]:
        t = tuple(i)
        lines.append(f"  at {_show_index(i)}: got {g[t].item()!r}, expected {w[t].item()!r}")
    if len(idx) > max_shown:
        lines.append(f"  ... and {len(idx) - max_shown} more; first wrong index {_show_index(idx[0])}, "
                     f"last {_show_index(idx[-1])}")
    return "\n".join(lines)


def assert_unchanged(before, after, *, what: str = "the input") -> None:
    __tracebackhide__ = True
    b, a = _np(before), _np(after)
    same = b.shape == a.shape and b.dtype == a.dtype and \
        np.ascontiguousarray(b).tobytes() == np.ascontiguousarray(a).tobytes()
    if not same:
        raise AssertionError(f"{what} was modified: inputs are read-only (write only to the output)")
