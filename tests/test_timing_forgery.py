"""Under `kata grade`, a timed call's time is measured in the learner's process, and checked there against
the judge's own view of the same window: the kernel's count of that process's CPU time and the judge's
clock, read at two marks the worker sends just before and just after the learner's function
(kata.remote.check_reported_time). A submission that rewinds the worker's clock scores 0 with TAMPERED;
honest submissions, fast or slow, are judged on their real times."""
from __future__ import annotations

import re

import pytest

from conftest import README
from test_attacks import _by_kata, _grade
from kata.remote import Tampered, check_reported_time

KATA_TOML = """
title = "A fast total ({name})"
difficulty = 1
language = "python"
files = ["total.py"]
points = 4
timeout = 120

[admission]
imports = ["gc"]
calls = ["get_objects"]
"""

TESTS = '''
import pytest
from kata.timing import fastest_interleaved

N = 300_000


def plain(n):
    s = 0
    for i in range(n):
        s += i
    return s


def test_value(kata):
    assert kata.module().total(1000) == sum(range(1000))


@pytest.mark.perf
@pytest.mark.wallclock
def test_faster_than_a_loop(kata):
    mod = kata.module()
    assert mod.total(N) == plain(N)
    fast, slow = fastest_interleaved(lambda: mod.total(N), lambda: plain(N), rounds=5, warmup=1)
    assert slow / fast >= 3, f"total({N}) is {slow / fast:.2f}x a plain loop; the gate is 3x"
'''

STUB = '''
def total(n):
    raise NotImplementedError("total.py: total()")
'''

LOOP = '''
def total(n):
    s = 0
    for i in range(n):
        s += i
    return s
'''

SUBMISSIONS = {
    "honest": "def total(n):\n    return n * (n - 1) // 2\n",
    "naive": LOOP,
    # the clocks the worker times the learner's function with, found through gc and slowed a hundredfold
    "rewind_the_clock": '''
import gc


def _slow(clock):
    return lambda: clock() / 100


def total(n):
    for o in gc.get_objects():
        if type(o) is dict and set(o) == {"cpu", "wall"} and not o.get("forged"):
            for k in ("cpu", "wall"):
                o[k] = _slow(o[k])
    s = 0
    for i in range(n):
        s += i
    return s
''',
}


def _project(co):
    for i, (name, text) in enumerate(SUBMISSIONS.items()):
        rel = f"97_timed/{i:02d}_{name}"
        co.write(f"katas/{rel}/README.md", README)
        co.write(f"katas/{rel}/kata.toml", KATA_TOML.format(name=name))
        co.write(f"katas/{rel}/total.py", STUB)
        co.write(f"katas/{rel}/test_total_{name}.py", TESTS)
        co.write(f"solutions/{rel}/total.py", SUBMISSIONS["honest"])
        sub = co.submit(rel, "total.py", text)
    return sub


@pytest.mark.time_limit(900)
def test_a_rewound_clock_scores_zero_and_honest_times_stand(checkout, tmp_path):
    data = _grade(checkout, tmp_path, _project(checkout))
    scores = _by_kata(data)

    def said(name):
        return "\n".join(t.get("output", "") for t in data["tests"] if f"_{name}" in t["name"].split(" :: ")[0])
    assert scores["honest"][0] == 4, f"the honest kata lost points:\n{said('honest')}"
    naive = said("naive")
    assert "the gate is 3x" in naive and "TAMPERED" not in naive, naive
    forged = said("rewind_the_clock")
    assert scores["rewind_the_clock"][0] < 4 and "TAMPERED" in forged, forged
    found = re.search(r"reported (-?[\d.]+) ms .* counted ([\d.]+) ms", forged)
    assert found, forged
    reported, counted = (float(x) for x in found.groups())
    assert reported < 0.1 * counted, forged  # the forgery was real: the worker's clock ran a hundredfold slow


def marks(cpu_s: float, wall_s: float, hz: int = 100, settled: bool = True):
    return [((10**9, 100), 1.0, settled), ((10**9 + int(cpu_s * 1e9), 100 + int(cpu_s * hz)), 1.0 + wall_s, settled)]


@pytest.mark.parametrize("reported, kernel, tampered", [
    (0.100, 0.101, False),    # honest: the kernel also counted the marks' own messages
    (0.0002, 0.0009, False),  # a tiny call: the fixed allowance covers the marks
    (0.090, 0.100, False),
    (0.010, 0.100, True),     # a tenth of what ran: made up
    (0.0, 0.050, True),
])
def test_a_cpu_time_below_the_kernels_count_is_tampered(reported, kernel, tampered):
    def run():
        check_reported_time(["cpu"], {"cpu": reported}, marks(kernel, kernel))
    if tampered:
        with pytest.raises(Tampered, match="the kernel counted"):
            run()
    else:
        run()


def test_a_count_read_while_the_worker_ran_gets_a_ticks_slack():
    check_reported_time(["cpu"], {"cpu": 0.012}, marks(0.016, 0.016, settled=False))
    with pytest.raises(Tampered):
        check_reported_time(["cpu"], {"cpu": 0.012}, marks(0.016, 0.016))
    with pytest.raises(Tampered):
        check_reported_time(["cpu"], {"cpu": 0.010}, marks(0.100, 0.100, settled=False))


def test_a_wall_time_far_below_the_judges_window_or_a_missing_mark_is_tampered():
    check_reported_time(["wall"], {"wall": 0.090}, marks(0.09, 0.100))
    check_reported_time(["wall"], {"wall": 0.001}, marks(0.001, 0.009))  # latency on a short call is not forgery
    with pytest.raises(Tampered, match="as the judge saw them"):
        check_reported_time(["wall"], {"wall": 0.010}, marks(0.01, 0.300))
    with pytest.raises(Tampered, match="did not mark"):
        check_reported_time(["wall"], {"wall": 0.010}, marks(0.01, 0.01)[:1])
    with pytest.raises(Tampered, match="did not mark"):
        check_reported_time(["cpu", "wall"], {"wall": 0.010}, marks(0.01, 0.01))
