"""Failure messages a learner can act on: a failed test's report rewritten by the kind of failure.

  native.build.BuildError        COMPILE ERROR: what was built, and the compiler's output
  native.build.ToolchainMissing  TOOLCHAIN MISSING: ... (run `kata doctor`)
  native.measure.MeasureError    MEASUREMENT FAILED: ...
  NotImplementedError            NOT IMPLEMENTED YET: the stub's message, and where it was raised
  an exception whose class sets `learner_facing = True` (the `kata` fixture's import errors,
  native.sanitize's findings): its message alone, without a traceback
"""
from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from kata.layout import display_path
from kata.session import impl_dir, kata_of, root_of


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if call.excinfo is None or rep.outcome != "failed":
        return
    from native.build import BuildError, ToolchainMissing
    from native.measure import MeasureError

    exc = call.excinfo.value
    if isinstance(exc, BuildError):
        rep.longrepr = f"COMPILE ERROR: {exc.what}\n\n{exc.output}"
    elif isinstance(exc, ToolchainMissing):
        rep.longrepr = f"TOOLCHAIN MISSING: {exc} (run `kata doctor`)"
    elif isinstance(exc, MeasureError):
        rep.longrepr = f"MEASUREMENT FAILED: {exc}"
    elif getattr(exc, "learner_facing", False):
        rep.longrepr = str(exc)
    elif isinstance(exc, NotImplementedError):
        where = learner_frame(call.excinfo.tb, item)
        msg = str(exc)
        if msg.lower().startswith("not implemented yet"):
            msg = msg[len("not implemented yet"):].lstrip(" :")
        rep.longrepr = "NOT IMPLEMENTED YET: " + (msg or "this function is still a stub") + (
            f"\n  raised at {where}" if where else "")


def learner_frame(tb, item) -> str | None:
    """"path:line in function()" of the innermost frame of `tb` in the learner's files, if any."""
    kata = kata_of(item)
    if kata is None:
        return None
    impl, root = impl_dir(item.config, kata), root_of(item.config)
    learner_files = {str(impl / f) for f in kata.files}
    where = None
    for frame, lineno in traceback.walk_tb(tb):
        fn = frame.f_code.co_filename
        if fn in learner_files:
            where = f"{display_path(Path(fn), root)}:{lineno} in {frame.f_code.co_name}()"
    return where
