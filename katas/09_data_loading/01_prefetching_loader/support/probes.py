"""What the loader tests do beside the learner's PrefetchLoader: build the instrumented dataset (Logged:
every dataset[i] appends "S position pid" to a log file in a folder of this process), drive the loader
as a training loop would, and look at this process's children afterwards (/proc). Each function returns
data (indices delivered, how many items had been requested at each delivery, pids, the exception raised,
the children left behind) for the test to judge; under `kata grade` this file runs in the learner's
process (kata.probe), the checks do not."""
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import numpy as np


class Logged:
    """dataset[i] = {"index": i, "pid": ..., "data": ...}; each call logged; delays in seconds."""

    def __init__(self, n, log, delays=None, fail_at=None, die_at=None, payload=16):
        self.n, self.log, self.fail_at, self.die_at, self.payload = n, str(log), fail_at, die_at, payload
        self.delays = delays if delays is not None else [0.0] * n
        self.parent = os.getpid()

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, f"S {i} {os.getpid()}\n".encode())
        os.close(fd)
        if self.delays[i]:
            time.sleep(self.delays[i])
        if i == self.fail_at:
            raise ValueError(f"sample {i} is corrupt")
        if i == self.die_at:
            if os.getpid() != self.parent:
                os._exit(7)                 # a worker killed (the OOM killer, a segfault in a decoder)
            raise ValueError(f"sample {i} killed its worker")
        return {"index": i, "pid": os.getpid(), "data": np.full(self.payload, i % 251, dtype=np.uint8)}


def started(log):
    try:
        with open(log) as f:
            return [int(line.split()[1]) for line in f if line.startswith("S ")]
    except FileNotFoundError:
        return []


def children():
    """(pid, state) of every live or zombie child of this process."""
    me, out = os.getpid(), []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == me:
                out.append((int(d), fields[0]))
    return out


def leftovers(grace=1.5):
    """The children still there after `grace` seconds, as (pid, state); then killed, so that a wrong
    loader cannot hang the run at exit."""
    deadline = time.monotonic() + grace
    while children() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = children()
    for pid, _ in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def _scenario(fn):
    """Runs fn(log) with a log file in a fresh folder; then "left": the children left behind."""
    d = Path(tempfile.mkdtemp(prefix="kata-loader-"))
    try:
        out = fn(d / "log")
    except BaseException:
        leftovers(0)
        raise
    else:
        out["left"] = leftovers()
        return out
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _error(mod, e):
    """An exception the loop raised, as data: (is it the learner's WorkerError, type name, message)."""
    return (isinstance(e, mod.WorkerError), type(e).__name__, str(e))


def deliver(mod, n, order, delays, workers, prefetch):
    """One pass, in a with block, over PrefetchLoader(Logged(n, delays), order). Returns {"got": the
    indices delivered, "left": ...}."""
    def run(log):
        with mod.PrefetchLoader(Logged(n, log, delays), order, num_workers=workers, prefetch=prefetch) as loader:
            return {"got": [x["index"] for x in loader]}
    return _scenario(run)


def empty_and_twice(mod, n, order):
    """list() of a loader over an empty order (in a with block); then two passes over one loader of
    `order`, and close(). Returns {"empty": the first list, "first", "second": the indices, "left": ...}."""
    def run(log):
        ds = Logged(n, log)
        with mod.PrefetchLoader(ds, [], num_workers=2) as loader:
            empty = list(loader)
        loader = mod.PrefetchLoader(ds, order, num_workers=2)
        first = [x["index"] for x in loader]
        second = [x["index"] for x in loader]
        loader.close()
        return {"empty": empty, "first": first, "second": second}
    return _scenario(run)


def requested_at_each_delivery(mod, n, workers, prefetch, pause):
    """A slow consumer (sleeps `pause` s per item) over PrefetchLoader(Logged(n), range(n)). Returns
    {"requested": for each item k delivered, how many dataset[i] calls had started by then, "left": ...}."""
    def run(log):
        seen = []
        with mod.PrefetchLoader(Logged(n, log), list(range(n)), num_workers=workers, prefetch=prefetch) as loader:
            for _ in loader:
                time.sleep(pause)
                seen.append(len(started(log)))
        return {"requested": seen}
    return _scenario(run)


def run_ahead(mod, n, delay, workers, prefetch, need, wait):
    """Take item 0 of PrefetchLoader(Logged(n, delays=[delay] * n), range(n)) and hold it until `need`
    items were requested (at most `wait` s); then the rest. Returns {"requested": the positions
    requested by then, "pids": the pid in each item, "me": this process's pid, "left": ...}."""
    def run(log):
        ds = Logged(n, log, delays=[delay] * n)
        with mod.PrefetchLoader(ds, list(range(n)), num_workers=workers, prefetch=prefetch) as loader:
            it = iter(loader)
            first = next(it)
            deadline = time.monotonic() + wait
            while len(started(log)) < need and time.monotonic() < deadline:
                time.sleep(0.01)
            s = started(log)
            rest = list(it)
        return {"requested": s, "pids": [first["pid"]] + [x["pid"] for x in rest], "me": os.getpid()}
    return _scenario(run)


def failing(mod, n, order, delays, workers, prefetch, fail_at=None, die_at=None):
    """A pass (in a with block) over PrefetchLoader(Logged(n, delays, fail_at, die_at), order) until it
    raises. Returns {"got": the indices delivered before, "error": (is WorkerError, type name, message)
    or None if nothing was raised, "took": seconds, "left": ...}."""
    def run(log):
        got, error = [], None
        t0 = time.monotonic()
        try:
            with mod.PrefetchLoader(Logged(n, log, delays, fail_at=fail_at, die_at=die_at), order,
                                    num_workers=workers, prefetch=prefetch) as loader:
                for x in loader:
                    got.append(x["index"])
        except Exception as e:  # noqa: BLE001 (judged by the test)
            error = _error(mod, e)
        return {"got": got, "error": error, "took": time.monotonic() - t0}
    return _scenario(run)


def early_exit(mod, how, n=50, payload=1 << 20):
    """Leave a pass over PrefetchLoader(Logged(n, payload), range(n), 3 workers, prefetch 2) early:
    "break_in_with", "generator_close", "consumer_raises" (a KeyError raised in the loop, in a with
    block) or "close_mid_pass" (close() twice). Returns {"raised": whether that KeyError came out of
    the with block (consumer_raises), "left": ...}."""
    def run(log):
        loader = mod.PrefetchLoader(Logged(n, log, payload=payload), list(range(n)), num_workers=3, prefetch=2)
        raised = None
        if how == "break_in_with":
            with loader:
                for k, _ in enumerate(loader):
                    if k == 2:
                        break
        elif how == "generator_close":
            it = iter(loader)
            next(it)
            it.close()
        elif how == "consumer_raises":
            raised = False
            try:
                with loader:
                    for _ in loader:
                        raise KeyError("the training step failed")
            except KeyError:
                raised = True
        else:
            it = iter(loader)
            next(it), next(it)
            loader.close()
            loader.close()                                   # idempotent
        return {"raised": raised}
    return _scenario(run)


def loader_pass(mod, n, delay, workers, prefetch):
    """One pass (in a with block) over PrefetchLoader(Logged(n, delays=[delay] * n), range(n))."""
    d = Path(tempfile.mkdtemp(prefix="kata-loader-"))
    try:
        with mod.PrefetchLoader(Logged(n, d / "log", delays=[delay] * n), list(range(n)), num_workers=workers,
                                prefetch=prefetch) as it:
            for _ in it:
                pass
    finally:
        shutil.rmtree(d, ignore_errors=True)


def serial_pass(n, delay):
    """dataset[i] for i in range(n), here, of Logged(n, delays=[delay] * n)."""
    d = Path(tempfile.mkdtemp(prefix="kata-loader-"))
    try:
        ds = Logged(n, d / "log", delays=[delay] * n)
        for i in range(n):
            ds[i]
    finally:
        shutil.rmtree(d, ignore_errors=True)
