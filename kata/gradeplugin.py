"""A pytest plugin for `kata grade` (loaded with `-p kata.gradeplugin`; inert without KATA_GRADE_FD).

Right after collection, before any test runs (so before any learner code runs), it sends the grader
the list of collected tests through a pipe the grader opened (file descriptor KATA_GRADE_FD), then
closes that pipe. The forked children that run learner code are started later and never hold it, so
the list of tests that must be scored cannot be shortened by code under test. Each entry: node id,
test function, whether it is a `perf` test, its `points(n)` weight, its time limit, and the reason it
is skipped on this machine, if it is skipped before it runs (a `skip` marker, such as the one
kata.gpu gives GPU-tier tests without a GPU, or a `skipif` whose condition is True).
"""
from __future__ import annotations

import json
import os

import pytest

_FD = "KATA_GRADE_FD"


def _static_skip(item) -> str | None:
    for mark in item.iter_markers("skip"):
        return str(mark.kwargs.get("reason") or (mark.args[0] if mark.args else "skipped"))
    for mark in item.iter_markers("skipif"):
        conditions = mark.args or ([mark.kwargs["condition"]] if "condition" in mark.kwargs else [])
        if any(c is True for c in conditions):
            return str(mark.kwargs.get("reason", "skipped"))
    return None


def _limit(item) -> float:
    # Imported here, not at the top: `-p kata.gradeplugin` loads this module before the root conftest.py
    # registers kata.isolation as a plugin, and a plugin module imported earlier is not assertion-rewritten.
    from kata.isolation import time_limit

    try:
        return float(time_limit(item))
    except Exception:  # noqa: BLE001 - a missing option only makes the batch limit less tight
        return 120.0


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    fd = os.environ.pop(_FD, None)
    if fd is None:
        return
    rows = []
    for item in items:
        mark = item.get_closest_marker("points")
        weight = float(mark.args[0]) if mark and mark.args else None
        rows.append({
            "nodeid": item.nodeid,
            "function": getattr(item, "originalname", None) or item.name.split("[")[0],
            "perf": item.get_closest_marker("perf") is not None,
            "weight": weight,
            "time_limit": _limit(item),
            "skip": _static_skip(item),
        })
    with os.fdopen(int(fd), "w") as pipe:
        pipe.write(json.dumps(rows))


def pytest_unconfigure(config):
    fd = os.environ.pop(_FD, None)  # collection never finished: close the pipe so the grader sees EOF
    if fd is not None:
        try:
            os.close(int(fd))
        except OSError:
            pass
