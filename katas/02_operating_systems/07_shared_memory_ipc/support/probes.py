"""What the shared-memory tests do beside the learner's module: call create/attach/release, look up in
/proc/self/maps where the tensors' data lies, list /dev/shm, pickle the handle, write and read through
the tensors, attach from a forked child and from an independent Python process. Each function returns
data (where each tensor lives, what was read back, what /dev/shm holds, the pickled handle) for the
test to judge; under `kata grade` this file runs in the learner's process (kata.probe), the checks do
not."""
import math
import multiprocessing as mp
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

SHM = Path("/dev/shm")


def shm_names():
    return {p.name for p in SHM.iterdir()} if SHM.exists() else set()


def mapping_of(ptr: int):
    """The /proc/self/maps path of the mapping holding address ptr ('' if anonymous)."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        if lo <= ptr < hi:
            return parts[5] if len(parts) > 5 else ""
    return None


def in_segment(t: torch.Tensor) -> str | None:
    """None if t's data lies in a /dev/shm mapping, else a description of where it is."""
    where = mapping_of(t.data_ptr())
    if where is not None and where.startswith("/dev/shm/"):
        return None
    return "private memory (a copy)" if not where else f"a mapping of {where}"


def _what(t):
    """(type name, shape, dtype name) of what came back, as far as it has them."""
    return (type(t).__name__, tuple(getattr(t, "shape", ())), str(getattr(t, "dtype", "")))


def create_and_attach(mod, shape, dtype_name):
    """t, h = create(shape, dtype); if t is a tensor of that shape and dtype: "handle" = pickle.dumps(h),
    and (if it has elements) "zero" = is it all zeros, "where" = in_segment(t), then t's last element set
    to 1; u = attach(h): "u" = what u is, and (if it has elements) "same" = same address as t or in the
    segment, "u_last" = u's last element; release(h). Returns those and "t" = what t is, "left" = the
    /dev/shm names that appeared and are still there."""
    dtype = getattr(torch, dtype_name)
    before = shm_names()
    t, h = mod.create(shape, dtype)
    out = {"t": _what(t)}
    if not (isinstance(t, torch.Tensor) and tuple(t.shape) == tuple(shape) and t.dtype == dtype):
        return out
    try:
        out["handle"], out["element_size"] = pickle.dumps(h), t.element_size()
        n = math.prod(shape)
        if n:
            out["zero"] = bool((t == 0).all())
            out["where"] = in_segment(t)
            t.view(-1)[-1] = 1
        u = mod.attach(h)
        out["u"] = _what(u)
        if n and isinstance(u, torch.Tensor) and u.numel() == n:
            out["same"] = u.data_ptr() == t.data_ptr() or in_segment(u) is None
            out["u_last"] = u.view(-1)[-1].item()
    finally:
        mod.release(h)
    out["left"] = sorted(shm_names() - before)
    return out


def _child(conn, m, handle_bytes):
    try:
        h = pickle.loads(handle_bytes)
        t = m.attach(h)
        # numpy only from here: torch's thread pool does not survive fork, and the grader's own calls
        # must not hang the child
        x = t.numpy()
        report = {"sum": float(x.sum(dtype="float64")), "where": in_segment(t), "shape": tuple(t.shape)}
        x[::2] = -1.0                      # the parent must see this
        conn.send(report)
        conn.recv()                        # the parent has written t[1] = 1234
        conn.send({"t1": float(x[1])})
    except Exception as e:  # noqa: BLE001
        conn.send({"error": f"{type(e).__name__}: {e}"})
    finally:
        conn.close()


def share_with_child(mod, n):
    """t, h = create((n,), float32), filled with arange(n); a forked child attaches h (pickled), reports
    its sum, shape and where it lies, and writes -1 into every other element. Then "parent_sees" = does
    t show those -1s; the parent writes t[1] = 1234 and the child reports what it reads at [1]; release.
    Returns {"first": the child's first report, "parent_sees", "second": its second report, "left": the
    /dev/shm names that appeared and are still there}; a report with "error" ends it early."""
    before = shm_names()
    t, h = mod.create((n,), torch.float32)
    out = {}
    try:
        t.numpy()[:] = np.arange(n, dtype=np.float32)
        ctx = mp.get_context("fork")
        a, b = ctx.Pipe()
        p = ctx.Process(target=_child, args=(b, mod, pickle.dumps(h)), daemon=True)  # never outlives the probe
        p.start()
        out["first"] = r = a.recv() if a.poll(30) else {"error": "no answer in 30 s"}
        if "error" in r:
            p.kill()
            return out
        out["parent_sees"] = bool((t.numpy()[::2] == -1).all())
        t.numpy()[1] = 1234.0
        a.send("go")
        out["second"] = a.recv() if a.poll(30) else {"error": "no answer in 30 s"}
        p.join(30)
    finally:
        mod.release(h)
    out["left"] = sorted(shm_names() - before)
    return out


CONSUMER = r"""
import importlib.util, pickle, sys
spec = importlib.util.spec_from_file_location("shm_learner", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
t = m.attach(pickle.loads(bytes.fromhex(sys.argv[2])))
t += 1
print(float(t.double().sum()))
# As this process exits, its resource tracker (if attach started one) cleans up what is still registered.
# Wait for that here, so that the parent looks at /dev/shm after it, not during it.
import os
from multiprocessing import resource_tracker
tr = resource_tracker._resource_tracker
if getattr(tr, "_pid", None):
    os.close(tr._fd)
    os.waitpid(tr._pid, 0)
"""


def independent_process(mod, n):
    """t, h = create((n,), float64); a separate Python process loads the learner's file, attaches h, adds
    1 and exits. Returns {"rc", "stderr": its exit status and stderr, "sum": t's sum after it, "gone": the
    /dev/shm names that were there before it and are not after, "sum_again": the sum of a new attach(h)
    if none is gone}; stops after "rc" if it failed. release(h) at the end (a FileNotFoundError from it ignored)."""
    t, h = mod.create((n,), torch.float64)
    before = shm_names()
    out = {}
    try:
        proc = subprocess.run([sys.executable, "-c", CONSUMER, mod.__file__, pickle.dumps(h).hex()],
                              capture_output=True, text=True, timeout=80,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        out["rc"], out["stderr"] = proc.returncode, proc.stderr
        if proc.returncode != 0:
            return out
        out["sum"] = float(t.sum())
        out["gone"] = sorted(before - shm_names())
        if not out["gone"]:
            out["sum_again"] = float(mod.attach(h).sum())
    finally:
        try:
            mod.release(h)
        except FileNotFoundError:
            pass
    return out
