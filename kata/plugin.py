"""The pytest plugin's entry point (loaded by the root conftest.py): it registers the harness's
plugin modules, each owning its options, hooks and fixtures, as pytest's own modules do.

  kata.session             --solutions, --impl, --impl-map: which kata a test belongs to, which files it tests
  kata.gpu                 the GPU probe, Triton's interpreter switch, GPU-tier skips, the `device` fixture
  kata.hypothesis_profile  reproducible Hypothesis examples
  kata.isolation           --no-isolation, --kata-timeout: each test in a forked child with a time limit
  kata.judging             --kata-judge separate (kata grade): learner code in a sandboxed worker
  kata.failures            failure messages rewritten by kind (COMPILE ERROR, NOT IMPLEMENTED YET, ...)
  kata.report              --kata-report: every test's outcome, message and metrics as JSON
  kata.context             the `kata` fixture (KataContext)

The markers (perf, gpu, wallclock, interpret, time_limit, points) are declared in pytest.ini.
"""
from __future__ import annotations

pytest_plugins = [
    "kata.session",
    "kata.gpu",
    "kata.hypothesis_profile",
    "kata.isolation",
    "kata.judging",
    "kata.failures",
    "kata.report",
    "kata.context",
]

_MOVED = {"has_gpu": "kata.gpu", "KataContext": "kata.context", "LearnerImportError": "kata.context"}


def __getattr__(name: str):
    """Names tests and tools imported from here before the split (loaded lazily: importing them at
    the top would import those plugin modules before pytest registers, and assertion-rewrites, them)."""
    if name in _MOVED:
        import importlib
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module 'kata.plugin' has no attribute {name!r}")
