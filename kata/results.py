"""The one result model of grading, and its exporters.

A grade is a list of KataResult, each a list of TestResult: one row per test the instructor's tests
define, with its points, status and message. Everything a platform wants is derived from it:

  to_gradescope()     Gradescope's results.json (tests with score/max_score/status/output/visibility)
  to_prairielearn()   PrairieLearn's results.json (gradable, score in 0..1, points, tests)
  to_junit()          JUnit XML (one <testsuite> per kata), for CI dashboards
  to_dict()           plain JSON: the model itself, loadable again with Results.from_dict()

Statuses:
  passed    the test passed and earned its points (a perf test may earn part of them: a tier)
  failed    the test ran and failed
  skipped   the test did not run here (a GPU-tier test on a CPU grader): it earns nothing
  gated     a performance test, not credited because a correctness test of its kata failed
  error     the test could not run: the learner file is missing, or the kata's test run crashed or hung
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field

STATUSES = ("passed", "failed", "skipped", "gated", "error")
HIDDEN_PREFIX = "test_hidden_"  # hidden tests: graded, left out of the learner's copy


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    kata: str                 # "01_computer_architecture/03_cache_blocking"
    name: str                 # "test_transpose.py::test_small[7]" (the node id inside the kata folder)
    status: str               # one of STATUSES
    points: float
    max_points: float
    message: str = ""
    metrics: dict = field(default_factory=dict)
    perf: bool = False
    hidden: bool = False
    duration: float = 0.0

    @property
    def title(self) -> str:
        return f"{self.kata} :: {self.name}"


@dataclass
class KataResult:
    kata: str
    title: str
    tests: list[TestResult]
    message: str = ""         # a kata-wide problem: missing file, crash, time-out, not graded

    @property
    def points(self) -> float:
        return round(sum(t.points for t in self.tests), 4)

    @property
    def max_points(self) -> float:
        return round(sum(t.max_points for t in self.tests), 4)

    def count(self, status: str) -> int:
        return sum(t.status == status for t in self.tests)

    def summary(self) -> str:
        if self.message:
            return self.message.splitlines()[0]
        n = len(self.tests)
        parts = [f"{self.count('passed')} of {n} tests passed"]
        for status, words in (("gated", "perf not credited (correctness first)"), ("skipped", "not run here")):
            if self.count(status):
                parts.append(f"{self.count(status)} {words}")
        return ", ".join(parts)


@dataclass
class Results:
    katas: list[KataResult]
    execution_time: float = 0.0
    complete: bool = True     # False while grading runs, or if it died: the file still scores what it has
    note: str = ""            # a run-wide message (e.g. "grading stopped: ...")

    @property
    def points(self) -> float:
        return round(sum(k.points for k in self.katas), 4)

    @property
    def max_points(self) -> float:
        return round(sum(k.max_points for k in self.katas), 4)

    def tests(self) -> list[TestResult]:
        return [t for k in self.katas for t in k.tests]

    # -------------------------------------------------------------------------------- summary text

    def summary(self) -> str:
        width = max((len(k.kata) for k in self.katas), default=10)
        lines = [f"kata grade: {_num(self.points)} of {_num(self.max_points)} points"]
        if self.note:
            lines.append(self.note)
        for k in self.katas:
            lines.append(f"  {k.kata:<{width}}  {_num(k.points):>6} / {_num(k.max_points):<5} {k.summary()}")
        skipped = sum(t.status == "skipped" for t in self.tests())
        if skipped:
            lines.append(f"{skipped} test(s) were NOT RUN (skipped, e.g. the GPU tier on a CPU grader): listed, "
                         "never counted as passed; each one's message says why.")
        gated = sum(t.status == "gated" for t in self.tests())
        if gated:
            lines.append(f"{gated} performance test(s) earn nothing until every correctness test of their kata passes.")
        return "\n".join(lines)

    # ----------------------------------------------------------------------------------- exporters

    def to_gradescope(self) -> dict:
        tests = []
        for i, k in enumerate(self.katas, 1):
            for j, t in enumerate(k.tests, 1):
                row = {
                    "name": t.title,
                    "number": f"{i}.{j}",
                    "score": t.points,
                    "max_score": t.max_points,
                    "output": _test_output(t),
                    "tags": [k.kata] + (["perf"] if t.perf else []),
                    "visibility": "after_due_date" if t.hidden else "visible",
                }
                if t.status in ("passed", "failed", "gated", "error"):
                    # A skipped test gets no status: it was not run, and it is never shown as passed.
                    row["status"] = "passed" if t.status == "passed" else "failed"
                tests.append(row)
        return {
            "score": self.points,
            "execution_time": round(self.execution_time),
            "output": self.summary(),
            "stdout_visibility": "hidden",
            "tests": tests,
        }

    def to_prairielearn(self) -> dict:
        tests = [{
            "name": t.title,
            "description": k.title,
            "points": t.points,
            "max_points": t.max_points,
            "message": _status_word(t) + (f": {t.message.splitlines()[0]}" if t.message else ""),
            "output": _test_output(t),
        } for k in self.katas for t in k.tests]
        return {
            "gradable": True,
            "score": round(self.points / self.max_points, 6) if self.max_points else 0.0,
            "points": self.points,
            "max_points": self.max_points,
            "message": self.summary().splitlines()[0] + (f" ({self.note})" if self.note else ""),
            "output": self.summary(),
            "tests": tests,
        }

    def to_junit(self) -> str:
        suites = ET.Element("testsuites", name="kata grade", tests=str(len(self.tests())),
                            failures=str(sum(t.status in ("failed", "gated") for t in self.tests())),
                            errors=str(sum(t.status == "error" for t in self.tests())),
                            skipped=str(sum(t.status == "skipped" for t in self.tests())),
                            time=f"{self.execution_time:.3f}")
        for k in self.katas:
            suite = ET.SubElement(suites, "testsuite", name=k.kata, tests=str(len(k.tests)),
                                  failures=str(k.count("failed") + k.count("gated")), errors=str(k.count("error")),
                                  skipped=str(k.count("skipped")), time=f"{sum(t.duration for t in k.tests):.3f}")
            props = ET.SubElement(suite, "properties")
            for name, value in (("title", k.title), ("points", _num(k.points)), ("max_points", _num(k.max_points))):
                ET.SubElement(props, "property", name=name, value=_xml(value))
            for t in k.tests:
                case = ET.SubElement(suite, "testcase", classname=k.kata.replace("/", "."), name=_xml(t.name),
                                     time=f"{t.duration:.3f}")
                cprops = ET.SubElement(case, "properties")
                for name, value in (("points", _num(t.points)), ("max_points", _num(t.max_points)),
                                    *((f"metric.{m}", str(v)) for m, v in sorted(t.metrics.items()))):
                    ET.SubElement(cprops, "property", name=name, value=_xml(value))
                first = _xml(t.message.splitlines()[0] if t.message else t.status)[:300]
                if t.status == "skipped":
                    ET.SubElement(case, "skipped", message=first)
                elif t.status in ("failed", "gated"):
                    ET.SubElement(case, "failure", message=first).text = _xml(t.message)
                elif t.status == "error":
                    ET.SubElement(case, "error", message=first).text = _xml(t.message)
        ET.indent(suites)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"

    def to_dict(self) -> dict:
        return {"format": "kata-results/1", "points": self.points, "max_points": self.max_points,
                "complete": self.complete, "note": self.note, "execution_time": round(self.execution_time, 3),
                "katas": [{"kata": k.kata, "title": k.title, "points": k.points, "max_points": k.max_points,
                           "message": k.message, "tests": [asdict(t) for t in k.tests]} for k in self.katas]}

    @classmethod
    def from_dict(cls, data: dict) -> "Results":
        katas = [KataResult(k["kata"], k["title"], [TestResult(**t) for t in k["tests"]], k.get("message", ""))
                 for k in data["katas"]]
        return cls(katas, data.get("execution_time", 0.0), data.get("complete", True), data.get("note", ""))

    def render(self, fmt: str) -> str:
        if fmt == "junit":
            return self.to_junit()
        data = {"gradescope": self.to_gradescope, "prairielearn": self.to_prairielearn, "json": self.to_dict}[fmt]()
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


FORMATS = ("gradescope", "prairielearn", "junit", "json")


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


def _status_word(t: TestResult) -> str:
    return {"passed": "passed", "failed": "FAILED", "skipped": "NOT RUN (skipped)",
            "gated": "NOT CREDITED (correctness first)", "error": "ERROR"}[t.status]


def _test_output(t: TestResult) -> str:
    head = f"{_status_word(t)}: {_num(t.points)} of {_num(t.max_points)} points"
    body = [head]
    if t.message:
        body.append(t.message.strip())
    if t.metrics:
        body.append("measured: " + ", ".join(f"{k}={v}" for k, v in sorted(t.metrics.items())))
    return "\n".join(body)[:8000]


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """Text safe for XML 1.0: a crash can leave control characters in a message."""
    return _XML_BAD.sub("?", str(text))
