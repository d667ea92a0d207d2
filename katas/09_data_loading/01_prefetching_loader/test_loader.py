"""The prefetching loader, graded by an instrumented dataset: every dataset[i] call appends a line
("S position pid") to a log file, so the test knows exactly which items had been requested when each one
was delivered. Ordered delivery with items that finish out of order; the prefetch bound at every step;
that workers really run ahead while the consumer holds an item; errors and dead workers raised as
WorkerError; and after a normal end, an error, a break or a closed generator, no process left behind
(children of the test process listed from /proc). A wall-clock ratio against a serial loop is only a
coarse gate."""
import os
import signal
import time

import numpy as np
import pytest

from kata.timing import compare
from kata.toolkit import expect


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


def expect_no_children(after, grace=1.5):
    deadline = time.monotonic() + grace
    while children() and time.monotonic() < deadline:
        time.sleep(0.05)
    left = children()
    for pid, _ in left:     # the test's own children: killed, so a wrong loader cannot hang the run at exit
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    expect(not left, f"{after}: {len(left)} process(es) left behind: {left} (state Z is a zombie: a worker that "
                     "exited but was never joined). close() must stop and join every worker.")


def order_of(n, seed):
    return np.random.default_rng(seed).permutation(n).tolist()


def delays_of(n, seed, most=0.012):
    return (np.random.default_rng(seed).random(n) * most).tolist()


@pytest.mark.parametrize("workers,prefetch", [(1, 1), (2, 2), (3, 1), (4, 3)])
def test_delivers_in_order(kata, tmp_path, workers, prefetch):
    mod = kata.module()
    ds = Logged(40, tmp_path / "log", delays_of(40, workers))
    order = order_of(40, prefetch)[:30] + [3, 3, 0]   # a subset, a repeat, slow and fast items mixed
    with mod.PrefetchLoader(ds, order, num_workers=workers, prefetch=prefetch) as loader:
        got = [x["index"] for x in loader]
    expect(got == order, f"PrefetchLoader(num_workers={workers}, prefetch={prefetch}) delivered dataset indices "
                         f"{got}, expected {order}: keep items that finish early until their turn")
    expect_no_children(f"after a full pass with {workers} worker(s)")


def test_empty_order_and_second_pass(kata, tmp_path):
    mod = kata.module()
    ds = Logged(5, tmp_path / "log")
    with mod.PrefetchLoader(ds, [], num_workers=2) as loader:
        got = list(loader)
    expect(got == [], f"an empty order yielded {len(got)} items")
    loader = mod.PrefetchLoader(ds, [4, 1, 2], num_workers=2)
    first = [x["index"] for x in loader]
    second = [x["index"] for x in loader]
    loader.close()
    expect(first == second == [4, 1, 2], f"two passes over one loader gave {first} and {second}, expected [4, 1, 2] "
                                         "twice")
    expect_no_children("after two passes and close()")


@pytest.mark.parametrize("workers,prefetch", [(1, 2), (2, 2), (3, 3)])
def test_prefetch_is_bounded(kata, tmp_path, workers, prefetch):
    mod = kata.module()
    log = tmp_path / "log"
    n, bound = 30, workers * prefetch
    ds = Logged(n, log)
    worst = []
    with mod.PrefetchLoader(ds, list(range(n)), num_workers=workers, prefetch=prefetch) as loader:
        for k, item in enumerate(loader):
            time.sleep(0.01)            # a slow consumer: the workers run as far ahead as they are allowed
            s = len(started(log))
            worst.append(s - k)
            expect(s <= k + bound, f"when item {k} was delivered, {s} items had been requested from the dataset: "
                                   f"more than {k} delivered + num_workers * prefetch = {bound} outstanding. Bound "
                                   "the prefetch: send a new index only when one has been yielded.")
    kata.record(**{f"max_outstanding_{workers}x{prefetch}": max(worst)})


@pytest.mark.perf
def test_workers_run_ahead(kata, tmp_path):
    """While the consumer holds item 0, the workers must compute items 1..bound-1 (in other processes)."""
    mod = kata.module()
    log = tmp_path / "log"
    ds = Logged(20, log, delays=[0.02] * 20)  # work for both workers, even when one starts late on a busy machine
    with mod.PrefetchLoader(ds, list(range(20)), num_workers=2, prefetch=2) as loader:
        it = iter(loader)
        first = next(it)
        deadline = time.monotonic() + 10
        while len(started(log)) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        s = started(log)
        rest = list(it)
    expect(len(s) >= 4, f"while the consumer held item 0 for 10 s, only {len(s)} item(s) had been requested "
                        "({s}); with 2 workers and prefetch=2, items 1-3 should be computed meanwhile: nothing "
                        "is prefetched")
    pids = {first["pid"]} | {x["pid"] for x in rest}
    expect(os.getpid() not in pids and len(pids) == 2,
           f"items were computed by processes {sorted(pids)} (the test is {os.getpid()}): expected 2 worker processes")


def test_dataset_error_is_raised_in_order(kata, tmp_path):
    mod = kata.module()
    order = order_of(30, 3)
    ds = Logged(30, tmp_path / "log", delays_of(30, 4), fail_at=order[6])
    got = []
    with pytest.raises(mod.WorkerError) as err, mod.PrefetchLoader(ds, order, num_workers=3, prefetch=2) as loader:
        for x in loader:
            got.append(x["index"])
    expect(got == order[:6], f"the dataset fails on item 6 (dataset[{order[6]}]): the items before it must be "
                             f"delivered first, got {got}, expected {order[:6]}")
    expect("sample" in str(err.value) and "corrupt" in str(err.value),
           f"WorkerError says {str(err.value)[:200]!r}: include the worker's exception message")
    expect_no_children("after a dataset error")


def test_dead_worker_is_an_error_not_a_hang(kata, tmp_path):
    mod = kata.module()
    ds = Logged(30, tmp_path / "log", die_at=5)
    t0 = time.monotonic()
    with pytest.raises(mod.WorkerError), mod.PrefetchLoader(ds, list(range(30)), num_workers=2, prefetch=2) as loader:
        for _ in loader:
            pass
    took = time.monotonic() - t0
    kata.record(dead_worker_detected_s=round(took, 2))
    expect(took < 20, f"a dead worker was noticed only after {took:.1f} s")
    expect_no_children("after a worker died")


@pytest.mark.parametrize("how", ["break_in_with", "generator_close", "consumer_raises", "close_mid_pass"])
def test_early_exit_leaves_no_process(kata, tmp_path, how):
    mod = kata.module()
    ds = Logged(50, tmp_path / "log", payload=1 << 20)   # 1 MiB items: workers block on a full pipe
    loader = mod.PrefetchLoader(ds, list(range(50)), num_workers=3, prefetch=2)
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
        with pytest.raises(KeyError), loader:
            for _ in loader:
                raise KeyError("the training step failed")
    else:
        it = iter(loader)
        next(it), next(it)
        loader.close()
        loader.close()                                   # idempotent
    expect_no_children(f"after leaving the loop early ({how.replace('_', ' ')})")


@pytest.mark.perf
@pytest.mark.wallclock
def test_faster_than_a_serial_loop(kata, tmp_path):
    """Coarse: 48 items of 10 ms (sleep: I/O-like, so a loaded machine hardly matters), 4 workers. The
    reference is about 3x faster than the serial loop; the gate is 1.5x."""
    mod = kata.module()
    ds = Logged(48, tmp_path / "log", delays=[0.01] * 48)

    def loader():
        with mod.PrefetchLoader(ds, list(range(48)), num_workers=4, prefetch=2) as it:
            for _ in it:
                pass

    def serial():
        for i in range(48):
            ds[i]

    r = compare(loader, serial, rounds=5, warmup=1, need=1.5)
    kata.record(speedup_vs_serial=round(r.speedup, 2))
    expect(r.speedup >= 1.5, f"4 workers over 48 items of 10 ms: {r.speedup:.2f}x the serial loop; expected at least "
                             "1.5x (about 3x is usual)")
