"""The --kata-report rows: written here (as a pytest plugin) and read here (by the commands).

  --kata-report FILE   write every test's outcome, message and metrics as JSON (check, grade, progress)

One row per test, sorted by node id:

    {"nodeid": "katas/<module>/<kata>/test_x.py::test_y[3]", "kata": "<module>/<kata>",
     "outcome": "passed" | "failed" | "skipped", "when": "setup" | "call" | "teardown",
     "message": the failure text (its last 4000 characters) or the skip reason,
     "duration": seconds, "markers": the test's markers among MARKERS,
     "metrics": {name: value} from kata.record(...)}

Readers: read_report(path), run_pytest(root, paths, extra, workers) (runs pytest and returns the rows;
sessions() and run_session() are its two halves, for a caller that schedules sessions itself),
by_kata(rows), is_perf(row), first_line(message), test_names(rows).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from kata.layout import KataError
from kata.session import kata_of

MARKERS = {"perf", "gpu", "wallclock", "interpret"}  # the markers a row lists
MESSAGE_LIMIT = 4000

# ------------------------------------------------------------------------------------------ writing


def pytest_addoption(parser):
    g = parser.getgroup("kata", "kata harness")
    g.addoption("--kata-report", metavar="FILE", help="write per-test outcomes and metrics as JSON")


class Reporter:
    """Collects reports (also those xdist workers send to the controller) and writes --kata-report."""

    def __init__(self, config, path: Path):
        self.config, self.path, self.rows = config, path, {}

    def pytest_runtest_logreport(self, report):
        row = self.rows.setdefault(report.nodeid, {
            "nodeid": report.nodeid, "outcome": "passed", "when": "call", "message": "",
            "duration": 0.0, "markers": [], "metrics": {}, "kata": None,
        })
        row["duration"] += getattr(report, "duration", 0.0)
        for k, v in getattr(report, "user_properties", []):
            if k == "kata":
                row["kata"] = v
            elif k == "markers":
                row["markers"] = v
            else:
                row["metrics"][k] = v
        if report.failed or (report.skipped and row["outcome"] == "passed"):
            if row["outcome"] != "failed":
                row["outcome"] = "failed" if report.failed else "skipped"
                row["when"] = report.when
                if report.skipped and isinstance(report.longrepr, tuple):
                    row["message"] = str(report.longrepr[2])
                else:
                    row["message"] = str(report.longreprtext)[-MESSAGE_LIMIT:]

    def pytest_sessionfinish(self, session):
        if hasattr(self.config, "workerinput"):
            return  # an xdist worker: the controller writes the file
        self.path.write_text(json.dumps(sorted(self.rows.values(), key=lambda r: r["nodeid"]), indent=1))


def pytest_sessionstart(session):
    path = session.config.getoption("kata_report")
    if path:
        session.config.pluginmanager.register(Reporter(session.config, Path(path)), "kata-reporter")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    kata = kata_of(item)
    if kata is not None:
        item.user_properties.append(("kata", kata.rel))
        item.user_properties.append(("markers", sorted({m.name for m in item.iter_markers()} & MARKERS)))


# ------------------------------------------------------------------------------------------ reading


def read_report(path: Path) -> list[dict]:
    """The rows a --kata-report file holds (OSError if there is none, ValueError if it is not JSON)."""
    return json.loads(path.read_text())


@dataclass(frozen=True)
class Session:
    """One pytest run over `paths`, of the tests `marker` selects, with `workers` xdist processes; `timed`
    sessions hold wall-clock tests and must run alone (never beside another session)."""
    paths: tuple[str, ...]
    extra: tuple[str, ...]
    marker: str
    workers: int
    timed: bool


def sessions(root: Path, paths: list[str], extra: list[str], workers: int, select: str | None = None,
             skip: str | None = None) -> list[Session]:
    """The sessions that run `paths`: the untimed tests with `workers` processes, and the wall-clock tests
    (if any file has them) alone and serially. `select` narrows both (a marker expression such as "gpu");
    `skip` (e.g. "perf") leaves those tests out of both."""
    plan = [("not wallclock", workers, False)]
    if any("wallclock" in t.read_text() for p in paths for t in (root / p).rglob("test_*.py")):
        plan.append(("wallclock", 0, True))
    out = []
    for marker, n, timed in plan:
        if select:
            marker = f"({select}) and {marker}"
        if skip:
            marker = f"{marker} and not ({skip})"
        out.append(Session(tuple(paths), tuple(extra), marker, n, timed))
    return out


def run_session(root: Path, s: Session) -> list[dict]:
    """Run one session and return its --kata-report rows."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        report = Path(tmp.name)
    cmd = [sys.executable, "-m", "pytest", *s.paths, *s.extra, "-q", "-p", "no:cacheprovider", "-m", s.marker,
           f"--kata-report={report}", "--tb=line", "-o", "addopts=--strict-markers"]
    if s.workers > 1:
        cmd += ["-n", str(s.workers)]
    try:
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env={**os.environ, "KATA_NO_SHRINK": "1"})
        if proc.returncode not in (0, 1, 5):
            tail = (proc.stdout + proc.stderr)[-3000:]
            raise KataError(f"pytest could not run ({' '.join(cmd[3:8])} ...), exit {proc.returncode}:\n{tail}")
        return read_report(report) if report.exists() and report.stat().st_size else []
    finally:
        report.unlink(missing_ok=True)


def run_pytest(root: Path, paths: list[str], extra: list[str], workers: int, select: str | None = None) -> list[dict]:
    """Run pytest over `paths` and return the per-test rows of --kata-report (two sessions: the
    wall-clock tests alone and serially, everything else with `workers` processes). `select` is a
    marker expression (e.g. "gpu") that narrows both sessions."""
    return [row for s in sessions(root, paths, extra, workers, select) for row in run_session(root, s)]


def by_kata(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows grouped by kata path ("<module>/<kata>")."""
    out: dict[str, list[dict]] = {}
    for r in rows:
        kata = r.get("kata") or _kata_from_nodeid(r["nodeid"])
        out.setdefault(kata, []).append(r)
    return out


def _kata_from_nodeid(nodeid: str) -> str:
    parts = nodeid.split("/")
    return "/".join(parts[1:3]) if parts[0] == "katas" else nodeid


def is_perf(row: dict) -> bool:
    """Is this row a performance gate (marker `perf`)?"""
    return "perf" in row.get("markers", [])


def test_names(rows: list[dict]) -> str:
    """The first few rows' test names, for a message."""
    shown = ", ".join(r["nodeid"].split("::", 1)[-1] for r in rows[:4])
    return shown + (f" and {len(rows) - 4} more" if len(rows) > 4 else "")


test_names.__test__ = False  # not a test, whatever pytest thinks of its name


def first_line(msg: str) -> str:
    """The first line of a failure message that says something (no "E ", file:line or xdist header)."""
    for line in msg.splitlines():
        line = re.sub(r"^E\s+", "", line.strip())
        if line and not re.match(r"^[\w/.-]+\.py:\d+", line) and not line.startswith("[gw"):
            return line[:160]
    return ""
