"""The prefetching loader, graded by an instrumented dataset: every dataset[i] call appends a line
("S position pid") to a log file, so the test knows exactly which items had been requested when each one
was delivered. Ordered delivery with items that finish out of order; the prefetch bound at every step;
that workers really run ahead while the consumer holds an item; errors and dead workers raised as
WorkerError; and after a normal end, an error, a break or a closed generator, no process left behind
(children of the consumer's process listed from /proc). A wall-clock ratio against a serial loop is only
a coarse gate.

The dataset, the loops that drive the loader and the look at /proc run beside the learner's code
(support/probes.py: the consumer's process is the learner's); they return what was delivered, requested
and left behind, and every check is here."""
import numpy as np
import pytest

from kata.timing import compare
from kata.toolkit import expect


def probe(kata):
    return kata.probe("probes.py")


def expect_no_children(left, after):
    """`left`: the (pid, state) of the consumer's children still there 1.5 s after the loop (then killed)."""
    expect(not left, f"{after}: {len(left)} process(es) left behind: {left} (state Z is a zombie: a worker that "
                     "exited but was never joined). close() must stop and join every worker.")


def expect_worker_error(error, what):
    """`error`: (is it the learner's WorkerError, type name, message) of what the loop raised, or None."""
    expect(error is not None, f"{what}: the loop ended without an exception: raise WorkerError")
    expect(error[0], f"{what}: the loop raised {error[1]}: {error[2][:200]!r}, expected WorkerError")


def order_of(n, seed):
    return np.random.default_rng(seed).permutation(n).tolist()


def delays_of(n, seed, most=0.012):
    return (np.random.default_rng(seed).random(n) * most).tolist()


@pytest.mark.parametrize("workers,prefetch", [(1, 1), (2, 2), (3, 1), (4, 3)])
def test_delivers_in_order(kata, workers, prefetch):
    order = order_of(40, prefetch)[:30] + [3, 3, 0]   # a subset, a repeat, slow and fast items mixed
    r = probe(kata).deliver(kata.module(), 40, order, delays_of(40, workers), workers, prefetch)
    got = r["got"]
    expect(got == order, f"PrefetchLoader(num_workers={workers}, prefetch={prefetch}) delivered dataset indices "
                         f"{got}, expected {order}: keep items that finish early until their turn")
    expect_no_children(r["left"], f"after a full pass with {workers} worker(s)")


def test_empty_order_and_second_pass(kata):
    r = probe(kata).empty_and_twice(kata.module(), 5, [4, 1, 2])
    got, first, second = r["empty"], r["first"], r["second"]
    expect(got == [], f"an empty order yielded {len(got)} items")
    expect(first == second == [4, 1, 2], f"two passes over one loader gave {first} and {second}, expected [4, 1, 2] "
                                         "twice")
    expect_no_children(r["left"], "after two passes and close()")


@pytest.mark.parametrize("workers,prefetch", [(1, 2), (2, 2), (3, 3)])
def test_prefetch_is_bounded(kata, workers, prefetch):
    n, bound = 30, workers * prefetch
    # a slow consumer (10 ms per item): the workers run as far ahead as they are allowed
    requested = probe(kata).requested_at_each_delivery(kata.module(), n, workers, prefetch, 0.01)["requested"]
    worst = []
    for k, s in enumerate(requested):
        worst.append(s - k)
        expect(s <= k + bound, f"when item {k} was delivered, {s} items had been requested from the dataset: "
                               f"more than {k} delivered + num_workers * prefetch = {bound} outstanding. Bound "
                               "the prefetch: send a new index only when one has been yielded.")
    kata.record(**{f"max_outstanding_{workers}x{prefetch}": max(worst)})


@pytest.mark.perf
def test_workers_run_ahead(kata):
    """While the consumer holds item 0, the workers must compute items 1..bound-1 (in other processes)."""
    # 20 items of 20 ms (work for both workers, even when one starts late on a busy machine); item 0 held
    # until 4 items were requested, for at most 10 s
    r = probe(kata).run_ahead(kata.module(), 20, 0.02, 2, 2, 4, 10)
    s = r["requested"]
    expect(len(s) >= 4, f"while the consumer held item 0 for 10 s, only {len(s)} item(s) had been requested "
                        "({s}); with 2 workers and prefetch=2, items 1-3 should be computed meanwhile: nothing "
                        "is prefetched")
    pids = set(r["pids"])
    expect(r["me"] not in pids and len(pids) == 2,
           f"items were computed by processes {sorted(pids)} (the consumer is {r['me']}): expected 2 worker processes")


def test_dataset_error_is_raised_in_order(kata):
    order = order_of(30, 3)
    r = probe(kata).failing(kata.module(), 30, order, delays_of(30, 4), 3, 2, fail_at=order[6])
    got, err = r["got"], r["error"]
    expect_worker_error(err, f"the dataset fails on item 6 (dataset[{order[6]}])")
    expect(got == order[:6], f"the dataset fails on item 6 (dataset[{order[6]}]): the items before it must be "
                             f"delivered first, got {got}, expected {order[:6]}")
    expect("sample" in err[2] and "corrupt" in err[2],
           f"WorkerError says {err[2][:200]!r}: include the worker's exception message")
    expect_no_children(r["left"], "after a dataset error")


def test_dead_worker_is_an_error_not_a_hang(kata):
    r = probe(kata).failing(kata.module(), 30, list(range(30)), None, 2, 2, die_at=5)
    expect_worker_error(r["error"], "a worker dies on dataset[5]")
    took = r["took"]
    kata.record(dead_worker_detected_s=round(took, 2))
    expect(took < 20, f"a dead worker was noticed only after {took:.1f} s")
    expect_no_children(r["left"], "after a worker died")


@pytest.mark.parametrize("how", ["break_in_with", "generator_close", "consumer_raises", "close_mid_pass"])
def test_early_exit_leaves_no_process(kata, how):
    # 50 items of 1 MiB (workers block on a full pipe), 3 workers, prefetch 2, left after an item or two
    r = probe(kata).early_exit(kata.module(), how, 50, 1 << 20)
    expect(how != "consumer_raises" or r["raised"], "a KeyError raised in the loop did not come out of the with block: "
                                                    "__exit__ must not swallow the consumer's exception")
    expect_no_children(r["left"], f"after leaving the loop early ({how.replace('_', ' ')})")


@pytest.mark.perf
@pytest.mark.wallclock
def test_faster_than_a_serial_loop(kata):
    """Coarse: 48 items of 10 ms (sleep: I/O-like, so a loaded machine hardly matters), 4 workers. The
    reference is about 3x faster than the serial loop; the gate is 1.5x. Both passes run in the learner's
    process (support/probes.py), each timed there."""
    mod, pr = kata.module(), probe(kata)

    def loader():
        pr.loader_pass(mod, 48, 0.01, 4, 2)

    def serial():
        pr.serial_pass(48, 0.01)

    r = compare(loader, serial, rounds=5, warmup=1, need=1.5)
    kata.record(speedup_vs_serial=round(r.speedup, 2))
    expect(r.speedup >= 1.5, f"4 workers over 48 items of 10 ms: {r.speedup:.2f}x the serial loop; expected at least "
                             "1.5x (about 3x is usual)")
