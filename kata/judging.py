"""Who runs the learner's code at grading: the test's own process, or a sandboxed worker.

  --kata-judge same       (the default, what a learner's `pytest` does) learner code runs in the test's
                          forked child, beside the assertions
  --kata-judge separate   (what `kata grade` runs) learner code runs in a worker of kata.sandbox; the
                          test, and so the verdict, runs where no learner code ever ran (kata.remote)
  --kata-hide PATH        a folder the worker must not see (the instructor's checkout, the submission)
  --kata-sandbox-uid N    the user the worker runs as when grading as root (default: a free one from 64000)
  --kata-preload MOD      a module the worker imports before it is confined (e.g. kata.tritonkit)
  --kata-secret-seed N    mix N into every seed the tests set (kata.toolkit.graded_seed, numpy's and
                          torch's seeding, Hypothesis): inputs the learner's copy never produced

Under `separate`, a test still runs beside the learner's code (the judge is "shared") when its kata
says so in kata.toml (`[grading] judge = "shared"`, with `judge_why`), or the test is marked
`@pytest.mark.judge_shared(why)`: `shared_reason(item)` says why.
GPU-tier tests are separated too: tensors on the GPU cross as data, each process has its own CUDA context,
and GPU time is measured apart from learner Python (kata.timing.gpu_ms, kata.replay).
"""
from __future__ import annotations

import os

import pytest

from kata.session import kata_of

SECRET: int | None = None
_SANDBOX = None     # the zygote, in the pytest process (and inherited by each test's child)
_JUDGE = None       # this test process's connection to its worker
_RUNNER = None      # and to the worker that runs programs built with the learner's code (native.launch)
_REPLAYER = None    # and to the worker that re-runs a call's tape to re-derive what the test measured (kata.replay)
_SEPARATE = False


def pytest_addoption(parser):
    g = parser.getgroup("kata", "kata harness")
    g.addoption("--kata-judge", choices=("same", "separate"), default="same",
                help="separate: run learner code in a sandboxed worker, the test apart from it (kata grade)")
    g.addoption("--kata-hide", action="append", default=[], metavar="PATH", help="a folder the worker must not see")
    g.addoption("--kata-sandbox-uid", type=int, default=None, metavar="N", help="the worker's user when run as root")
    g.addoption("--kata-preload", action="append", default=[], metavar="MOD", help="imported by the worker first")
    g.addoption("--kata-secret-seed", type=int, default=None, metavar="N", help="mix N into the tests' seeds")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    global _SANDBOX, _SEPARATE
    seed = config.getoption("kata_secret_seed", None)
    if seed is not None:
        _use_secret(int(seed))
    if config.getoption("kata_judge", "same") != "separate":
        return
    if config.getoption("no_isolation", False):
        raise pytest.UsageError("--kata-judge separate needs the per-test isolation: drop --no-isolation")
    from kata.sandbox import Sandbox
    import importlib

    import kata.remote  # noqa: F401 - imported once here: each test's forked child would import it again
    for name in config.getoption("kata_preload") or ():
        # imported here, before the zygote is forked: it inherits them, and the tests' own imports of the
        # same modules later cost nothing (torch would otherwise be imported twice per kata)
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    uid = config.getoption("kata_sandbox_uid", None)
    if uid is None and os.getuid() == 0:
        from kata.sandbox import free_uid
        uid = free_uid()
    _SANDBOX = Sandbox(hide=config.getoption("kata_hide") or [], uid=uid,
                       preload=tuple(config.getoption("kata_preload") or ())).start()
    _SEPARATE = True
    from kata import trust
    trust.program_runner = run_program


def pytest_report_header(config):
    if _SANDBOX is not None:
        return [f"kata judge: separate; learner code in a worker: {_SANDBOX.report}"]
    return []


def pytest_unconfigure(config):
    global _SANDBOX
    if _SANDBOX is not None:
        _SANDBOX.stop()
        _SANDBOX = None


def pytest_runtest_logfinish(nodeid, location):
    if _SANDBOX is not None and _JUDGE is None and _RUNNER is None and _REPLAYER is None:  # the pytest process: kill what the test's workers left
        _SANDBOX.reap()


def separate() -> bool:
    """Does learner code run in a worker in this run (--kata-judge separate)?"""
    return _SEPARATE


def shared_reason(item) -> str | None:
    """Why this test runs beside the learner's code under --kata-judge separate (None: it does not)."""
    if not _SEPARATE:
        return "the judge is not separate in this run"
    kata = kata_of(item)
    if kata is not None and kata.judge == "shared":
        return kata.judge_why or "the kata's tests need the learner's code in their own process"
    marker = item.get_closest_marker("judge_shared")
    if marker is not None:
        return str(marker.args[0]) if marker.args else "the test needs the learner's code in its own process"
    return None


def judge():
    """This test process's worker (started on first use; the test's child is fresh, so one per test)."""
    global _JUDGE
    if _JUDGE is None:
        from kata.remote import Judge
        sock, pid, crash = _SANDBOX.spawn()
        _JUDGE = Judge(sock, pid, crash)
    return _JUDGE


def replayer():
    """A worker of this test process that loads no learner module: it re-runs the tape of a call made
    inside count_bytes, forbid_torch_compute, guard_allocations or OpCensus (kata.replay) and measures
    there, where no learner Python runs."""
    global _REPLAYER
    if _REPLAYER is None:
        from kata.remote import Judge
        sock, pid, crash = _SANDBOX.spawn()
        _REPLAYER = Judge(sock, pid, crash)
    return _REPLAYER


def run_program(argv: list[str], **how):
    """Run a program built with the learner's code in the sandbox (kata.trust.program_runner: what
    native.launch calls under a separate judge), in this test process's worker for programs: one of its
    own, without the address-space limit of the workers that load learner code (AddressSanitizer needs
    none; each program it runs gets one unless asked otherwise)."""
    global _RUNNER
    if _RUNNER is None:
        from kata.remote import Judge
        sock, pid, crash = _SANDBOX.spawn(program=True)
        _RUNNER = Judge(sock, pid, crash)
    return _RUNNER.run_program(argv, **how)


# ------------------------------------------------------------------------------------ secret seeds

def _use_secret(secret: int) -> None:
    """Every seed a test sets, mixed with the instructor's secret: numpy's, torch's and Python's seeding
    functions are wrapped here (the worker inherits the same wrapping, so a learner function that
    seeds torch itself agrees with the test's oracle), and Hypothesis draws from the secret."""
    global SECRET
    SECRET = secret
    import random

    import numpy as np

    from kata.toolkit import graded_seed

    def wrap(owner, name):
        orig = getattr(owner, name)

        def seeded(seed=None, *args, **kwargs):
            return orig(graded_seed(seed) if isinstance(seed, int) else seed, *args, **kwargs)
        seeded.__wrapped__ = orig
        setattr(owner, name, seeded)

    wrap(np.random, "default_rng")
    wrap(np.random, "seed")
    wrap(random, "seed")
    try:
        import torch
        wrap(torch, "manual_seed")
        wrap(torch.random, "manual_seed")
    except ImportError:
        pass
    try:
        from hypothesis import settings
        settings.register_profile("kata-secret", parent=settings.get_profile("kata"), derandomize=False)
        settings.load_profile("kata-secret")
        import hypothesis.core
        hypothesis.core.global_force_seed = secret
    except ImportError:
        pass
