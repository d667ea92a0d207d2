"""Run one test in a forked child so learner code cannot take the test run down.

The child runs pytest's whole protocol for the item (set-up, call, tear-down) and sends the reports
back through a pipe; the parent waits with a deadline. A child that dies by a signal (a segfault in a
C library's constructor, an out-of-bounds store in the Triton interpreter, an abort) or runs past its
time limit becomes one failed test with a message that names what happened, and the run goes on.

Why fork and not a worker per call: tests call learner code directly, gradcheck and hypothesis
included, and the parent never runs learner code or touches CUDA, so a fork is cheap (a few ms) and safe.

  --no-isolation       run tests in this process (for pdb); a crash in learner code then ends the run
  --kata-timeout S     override every test's time limit (seconds)

A test's limit (time_limit(item)): --kata-timeout, else its @pytest.mark.time_limit(s), else the
kata's `timeout` from kata.toml.
"""
from __future__ import annotations

import os
import json
import select
import signal
import sys
import time
import traceback
import warnings

import pytest
from _pytest.reports import TestReport
from _pytest.runner import runtestprotocol

from kata.session import kata_of
from kata.signals import describe_signal

DEFAULT_LIMIT = 120.0  # a test outside any kata (seconds)


def pytest_addoption(parser):
    g = parser.getgroup("kata", "kata harness")
    g.addoption("--no-isolation", action="store_true", help="run tests in-process (debugging with pdb)")
    g.addoption("--kata-timeout", type=float, metavar="S", help="override every test's time limit (seconds)")


def time_limit(item) -> float:
    """Seconds this test may run before it is stopped."""
    override = item.config.getoption("kata_timeout", None)
    if override:
        return override
    m = item.get_closest_marker("time_limit")
    if m:
        return float(m.args[0])
    kata = kata_of(item)
    return kata.timeout if kata else DEFAULT_LIMIT


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if item.config.getoption("no_isolation") or not hasattr(os, "fork"):
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    kata = kata_of(item)
    for rep in run_isolated(item, nextitem, time_limit(item), kata.language if kata else None):
        item.ihook.pytest_runtest_logreport(report=rep)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


# ------------------------------------------------------------------------------------- the fork

def _child(item, nextitem, wfd: int) -> None:
    os.setpgid(0, 0)  # our own process group: a time-out kills everything learner code started
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        hook = item.config.hook
        payload = json.dumps([hook.pytest_report_to_serializable(config=item.config, report=r) for r in reports],
                             default=repr).encode()
    except BaseException:  # noqa: BLE001 - anything here is a harness failure to report, not to hide
        payload = json.dumps({"harness_error": traceback.format_exc()}).encode()
    with os.fdopen(wfd, "wb") as w:
        w.write(payload)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _failure(item, when: str, message: str, duration: float) -> TestReport:
    return TestReport(item.nodeid, item.location, {k: 1 for k in item.keywords}, "failed",
                      message, when, [], duration=duration, user_properties=list(item.user_properties))


def run_isolated(item, nextitem, timeout: float, language: str | None = None) -> list[TestReport]:
    rfd, wfd = os.pipe()
    start = time.monotonic()
    with warnings.catch_warnings():
        # Python 3.12 warns on forking a process with threads (torch's import starts some). The parent
        # never runs learner code or CUDA, so nothing the child needs is held by those threads.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os.close(rfd)
        _child(item, nextitem, wfd)
    os.close(wfd)
    chunks, deadline, status = [], start + timeout, None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([rfd], [], [], min(left, 0.5))
            if ready:
                data = os.read(rfd, 1 << 20)
                if not data:
                    break  # child closed the pipe: it is done or dead
                chunks.append(data)
            else:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    # The child is gone but the pipe is still open: a process it started (a daemon the
                    # test left waiting, say) holds a copy. All the child wrote is in the pipe already.
                    status = st
                    chunks += _drain(rfd)
                    break
        if status is None and time.monotonic() >= deadline:
            _kill(pid)
            os.waitpid(pid, 0)
            return [_failure(item, "call",
                             f"TIME-OUT: the test ran past its limit of {timeout:g} s and was stopped.\n"
                             "An endless loop (a loop condition that never changes, a spin-wait with nobody "
                             "to release it) or far too slow code. The limit is the kata's `timeout`.",
                             timeout)]
        if status is None:
            _, status = os.waitpid(pid, 0)
        _kill_group(pid)  # whatever the test started and left behind goes with it
    except KeyboardInterrupt:
        _kill(pid)
        os.waitpid(pid, 0)
        raise
    finally:
        os.close(rfd)
    duration = time.monotonic() - start
    if os.WIFSIGNALED(status):
        return [_failure(item, "call",
                         f"CRASH: the test process died with {describe_signal(os.WTERMSIG(status), language)}.\n"
                         "It happened while running the code under test (loading it included); the rest "
                         "of the run goes on. Run this one test alone with `-s` to see what it printed.",
                         duration)]
    try:
        # JSON, never pickle: the child ran learner code, and unpickling what it sent could run code here.
        payload = json.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else "?"
        return [_failure(item, "call",
                         f"CRASH: the test process exited (status {code}) before reporting: the code under "
                         "test called exit() or os._exit().", duration)]
    if isinstance(payload, dict):
        return [_failure(item, "call", "HARNESS ERROR (not your code):\n" + str(payload.get("harness_error")), duration)]
    hook = item.config.hook
    for d in payload:
        if isinstance(d.get("longrepr"), list):  # a skip's (path, line, reason): JSON made it a list
            d["longrepr"] = tuple(d["longrepr"])
    return [hook.pytest_report_from_serializable(config=item.config, data=d) for d in payload]


def _drain(fd: int) -> list[bytes]:
    os.set_blocking(fd, False)
    out = []
    try:
        while data := os.read(fd, 1 << 20):
            out.append(data)
    except BlockingIOError:
        pass
    return out


def _kill_group(pid: int) -> None:
    """Every process still in the child's group (the child made it, with its own pid as the id)."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kill(pid: int) -> None:
    """The child (not yet waited for) and its process group."""
    _kill_group(pid)
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def pytest_collection_finish(session):
    # torch imports some modules lazily on first use (symbolic shapes and sympy on the first backward):
    # import them once here, before forking, instead of once in every test's child.
    if "torch" in sys.modules:
        try:
            import torch.fx.experimental.symbolic_shapes  # noqa: F401
        except Exception:  # noqa: BLE001
            pass
