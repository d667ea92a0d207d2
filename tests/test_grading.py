"""`kata grade`: points, the result model and its exporters, trust, crashes and hangs."""
import json
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from conftest import add_python_kata

from kata.layout import Kata
from kata.points import GradingConfig, Planned, allocate, score_kata
from kata.results import KataResult, Results, TestResult

SOLVED = "def double(xs):\n    return [2 * x for x in xs]\n"

# ---------------------------------------------------------------------- the platforms' published specs
# Gradescope: "Autograder Specifications", results.json format. Either a top-level score or per-test scores.
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
GRADESCOPE_SCHEMA = {
    "type": "object",
    "properties": {
        "score": {"type": "number"},
        "execution_time": {"type": "number"},
        "output": {"type": "string"},
        "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "test_name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
        "visibility": VISIBILITY,
        "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "score": {"type": "number"},
                "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]},
                "name": {"type": "string"},
                "name_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
                "number": {"type": "string"},
                "output": {"type": "string"},
                "output_format": {"enum": ["text", "html", "simple_format", "md", "ansi"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY,
                "extra_data": {"type": "object"},
            },
            "additionalProperties": False,
        }},
        "leaderboard": {"type": "array", "items": {"type": "object", "required": ["name", "value"]}},
    },
    "additionalProperties": False,
    "anyOf": [{"required": ["score"]},
              {"required": ["tests"], "properties": {"tests": {"items": {"required": ["score"]}}}}],
}
# PrairieLearn: "Externally graded questions", grading results (results.json).
PRAIRIELEARN_SCHEMA = {
    "type": "object",
    "required": ["gradable"],
    "properties": {
        "gradable": {"type": "boolean"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "points": {"type": "number", "minimum": 0},
        "max_points": {"type": "number", "minimum": 0},
        "message": {"type": "string"},
        "output": {"type": "string"},
        "format_errors": {"type": ["object", "array", "string"]},
        "images": {"type": "array"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string"},
                "description": {"type": "string"},
                "points": {"type": "number", "minimum": 0},
                "max_points": {"type": "number", "minimum": 0},
                "message": {"type": "string"},
                "output": {"type": "string"},
                "images": {"type": "array"},
            },
            "additionalProperties": False,
        }},
    },
    "additionalProperties": False,
    "if": {"properties": {"gradable": {"const": True}}},
    "then": {"required": ["score"]},
}


def gradescope_ok(data: dict) -> None:
    jsonschema.validate(data, GRADESCOPE_SCHEMA)
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))
    assert all(0 <= t["score"] <= t["max_score"] + 1e-9 for t in data["tests"])


def prairielearn_ok(data: dict) -> None:
    jsonschema.validate(data, PRAIRIELEARN_SCHEMA)
    assert data["points"] == pytest.approx(sum(t["points"] for t in data["tests"]))
    assert data["score"] == pytest.approx(data["points"] / data["max_points"], abs=1e-5)


# --------------------------------------------------------------------------------- the points rule

def _kata(points=10.0) -> Kata:
    return Kata(Path("/nowhere"), "99_demo/01_double", "Double", 1, "python", ["double.py"], points, ["cpu"], 20)


def _p(name, perf=False, weight=None, skip=None):
    return Planned(f"katas/99_demo/01_double/test_double.py::{name}", name.split("[")[0], perf, weight, skip)


def _row(name, outcome, message="", **metrics):
    return {"nodeid": f"katas/99_demo/01_double/test_double.py::{name}", "outcome": outcome, "message": message,
            "metrics": metrics, "duration": 0.1, "markers": []}


def test_points_pools_weights_and_parametrized_cases_add_up():
    tests = [_p("test_a"), _p("test_b[1]"), _p("test_b[2]"), _p("test_c"), _p("test_fast", perf=True)]
    m = allocate(GradingConfig(10), tests)
    assert sum(m.values()) == pytest.approx(10)
    assert m[tests[4].nodeid] == 3.0                      # default perf share: 30%
    assert m[tests[0].nodeid] == pytest.approx(7 / 3, abs=0.01)
    assert m[tests[1].nodeid] == pytest.approx(7 / 6, abs=0.01)  # one function's weight, split in two cases
    # @pytest.mark.points(n) weighs a test; kata.toml [grading] weights override the marker
    tests = [_p("test_a", weight=3), _p("test_b"), _p("test_fast", perf=True)]
    m = allocate(GradingConfig(10, perf_points=2), tests)
    assert [m[t.nodeid] for t in tests] == [6.0, 2.0, 2.0]
    m = allocate(GradingConfig(10, perf_points=2, weights={"test_a": 1}), tests)
    assert [m[t.nodeid] for t in tests] == [4.0, 4.0, 2.0]
    # only one kind of test: it takes every point
    assert sum(allocate(GradingConfig(5), [_p("test_a"), _p("test_b")]).values()) == 5


def test_perf_earns_only_after_correctness_and_tiers_give_partial_credit():
    tests = [_p("test_a"), _p("test_b"), _p("test_fast", perf=True), _p("test_tiered", perf=True),
             _p("test_gpu", perf=True, skip="GPU tier: no CUDA GPU here")]
    rows = {r["nodeid"]: r for r in [_row("test_a", "passed"), _row("test_b", "passed"),
                                     _row("test_fast", "passed"), _row("test_tiered", "failed", "tier 2 only",
                                                                      tier=2, tiers=3),
                                     _row("test_gpu", "skipped", "GPU tier: no CUDA GPU here")]}
    k = score_kata(_kata(), GradingConfig(10, perf_points=3), tests, rows)
    by = {t.name.split("::")[1]: t for t in k.tests}
    assert by["test_fast"].points == 1.5 and by["test_fast"].status == "passed"
    assert by["test_tiered"].points == 1.0 and "tier 2 of 3" in by["test_tiered"].message
    # a test this grader cannot run: listed as not run, never passed, and its points go to the others
    assert by["test_gpu"].status == "skipped" and by["test_gpu"].points == 0 == by["test_gpu"].max_points
    assert "NOT RUN on this grader" in by["test_gpu"].message
    assert k.max_points == 10 and k.points == 9.5
    # one correctness failure closes the gate: the passing perf test is listed, not credited
    rows[tests[1].nodeid] = _row("test_b", "failed", "assert 1 == 2")
    k = score_kata(_kata(), GradingConfig(10, perf_points=3), tests, rows)
    by = {t.name.split("::")[1]: t for t in k.tests}
    assert by["test_fast"].status == "gated" and by["test_fast"].points == 0
    assert "correctness" in by["test_fast"].message
    assert k.points == 3.5
    # all-or-nothing correctness (kata.toml [grading] per_test = false)
    k = score_kata(_kata(), GradingConfig(10, perf_points=3, per_test=False), tests, rows)
    assert k.points == 0
    # skipped while running (learner code may call pytest.skip): earns nothing, keeps its maximum,
    # and closes the gate like a failure
    rows[tests[1].nodeid] = _row("test_b", "skipped", "lol")
    k = score_kata(_kata(), GradingConfig(10, perf_points=3), tests, rows)
    assert (k.tests[1].status, k.tests[1].points, k.tests[1].max_points) == ("skipped", 0, 3.5)
    assert k.tests[2].status == "gated" and k.max_points == 10
    # a test that never reported (the run stopped) scores 0 and says so
    del rows[tests[0].nodeid]
    k = score_kata(_kata(), GradingConfig(10, perf_points=3), tests, rows)
    assert k.tests[0].points == 0 and "did not report" in k.tests[0].message


def test_exporters_follow_the_published_formats():
    tests = [TestResult("99_demo/01_double", "test_double.py::test_a", "passed", 2.5, 2.5, duration=0.2),
             TestResult("99_demo/01_double", "test_double.py::test_b", "failed", 0, 2.5, "assert [2] == [2, 4]\x00\x1b"),
             TestResult("99_demo/01_double", "test_double.py::test_fast", "gated", 0, 2, "not credited", perf=True),
             TestResult("99_demo/01_double", "test_double.py::test_gpu", "skipped", 0, 1, "NOT RUN", perf=True),
             TestResult("99_demo/01_double", "test_hidden_x.py::test_h", "passed", 2, 2, hidden=True,
                        metrics={"calls": 3})]
    crashed = [TestResult("99_demo/02_twice", "(the whole kata)", "error", 0, 5, "CRASH: SIGSEGV")]
    res = Results([KataResult("99_demo/01_double", "Double", tests),
                   KataResult("99_demo/02_twice", "Twice", crashed, "CRASH: SIGSEGV")], execution_time=3.2)
    gs = json.loads(res.render("gradescope"))
    gradescope_ok(gs)
    assert gs["score"] == 4.5
    statuses = [t.get("status") for t in gs["tests"]]
    assert statuses == ["passed", "failed", "failed", None, "passed", "failed"]  # skipped: never "passed"
    assert gs["tests"][4]["visibility"] == "after_due_date"
    pl = json.loads(res.render("prairielearn"))
    prairielearn_ok(pl)
    assert pl["max_points"] == 15 and "NOT RUN" in pl["tests"][3]["message"]
    suites = ET.fromstring(res.render("junit"))
    assert suites.tag == "testsuites" and suites.get("tests") == "6"
    assert (suites.get("failures"), suites.get("errors"), suites.get("skipped")) == ("2", "1", "1")
    case = suites.find("testsuite/testcase[@name='test_double.py::test_b']")
    assert case.find("failure") is not None and "\x00" not in case.find("failure").text
    again = Results.from_dict(json.loads(res.render("json")))
    assert again.to_dict() == res.to_dict()


# ------------------------------------------------------------------------------- grading a checkout

def _two_katas(co):
    add_python_kata(co, "99_demo/01_double")
    add_python_kata(co, "99_demo/02_twice")
    (co.path / "katas/99_demo/02_twice/test_double.py").rename(co.path / "katas/99_demo/02_twice/test_twice.py")
    co.write("katas/99_demo/01_double/test_hidden_more.py", """
        def test_negative(kata):
            assert kata.module().double([-1, 0]) == [-2, 0]
        """)
    co.write("katas/99_demo/01_double/test_gpu_tier.py", """
        import pytest

        @pytest.mark.gpu
        @pytest.mark.perf
        def test_fast_on_a_gpu(kata):
            assert False, "only a GPU grader runs this"
        """)


def _submission(co, name="sub", solved=("01_double",)) -> Path:
    """The learner's checkout: `solved` katas solved, the others started (a comment) but still stubs."""
    sub = co.path.parent / name
    shutil.copytree(co.path / "katas", sub / "katas", ignore=shutil.ignore_patterns("test_hidden_*"))
    for stub in sub.glob("katas/99_demo/*/double.py"):
        stub.write_text("# my notes: start here\n" + stub.read_text())
    for k in solved:
        (sub / "katas/99_demo" / k / "double.py").write_text(SOLVED)
    return sub


def _env(checkout, tmp_path) -> dict:
    """The checkout's environment, with the grader's temporary trees under tmp_path (to find leftovers)."""
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {**checkout.env(), "TMPDIR": str(tmp_path / "tmp"), "KATA_FORCE_CPU": "1"}


def _grade(checkout, tmp_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kata.cli", "grade", *args], cwd=checkout.path,
                          env=_env(checkout, tmp_path), capture_output=True, text=True, timeout=300)


def _no_leftovers(tmp_path) -> None:
    time.sleep(0.3)
    left = subprocess.run(["pgrep", "-f", str(tmp_path / "tmp")], capture_output=True, text=True).stdout
    assert left.strip() == "", "the grader left processes running"


def _scores(tests, key):
    return {t["name"]: t[key] for t in tests}


def test_one_solved_kata_scores_its_points_and_cheats_change_nothing(checkout, tmp_path):
    _two_katas(checkout)
    clean = _submission(checkout)
    cheat = _submission(checkout, "cheat")
    marker = tmp_path / "submission-code-ran"
    evil = f"open({str(marker)!r}, 'w').write('ran')\n"
    pass_all = ("import pytest\n" + evil +
                "@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
                "    out = yield\n    rep = out.get_result()\n    rep.outcome = 'passed'\n")
    for rel in ("conftest.py", "katas/conftest.py", "katas/99_demo/conftest.py", "katas/99_demo/02_twice/conftest.py"):
        (cheat / rel).write_text(pass_all)
    for test in cheat.glob("katas/99_demo/*/test_*.py"):
        test.write_text("def test_values():\n    pass\n")  # gutted
    (cheat / "katas/99_demo/02_twice/test_hidden_more.py").write_text("def test_negative():\n    pass\n")
    (cheat / "pytest.ini").write_text("[pytest]\naddopts = -p no:kata.plugin\n")
    (cheat / "katas/99_demo/02_twice/pytest.ini").write_text("[pytest]\n")
    (cheat / "sitecustomize.py").write_text(evil)
    (cheat / "katas/99_demo/02_twice/sitecustomize.py").write_text(evil)
    (cheat / "katas/99_demo/02_twice/evil.pth").write_text(f"import os; {evil}")

    procs = [subprocess.Popen([sys.executable, "-m", "kata.cli", "grade", str(sub), "--format", fmt,
                               "--out", str(tmp_path / f"{fmt}.json")], cwd=checkout.path, env=_env(checkout, tmp_path),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for sub, fmt in ((clean, "gradescope"), (cheat, "prairielearn"))]
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, out + err
    gs = json.loads((tmp_path / "gradescope.json").read_text())
    pl = json.loads((tmp_path / "prairielearn.json").read_text())
    gradescope_ok(gs)
    prairielearn_ok(pl)

    assert gs["score"] == 5 and pl["points"] == 5 and pl["max_points"] == 10 and pl["score"] == 0.5, \
        gs["tests"][0]["output"][-1500:]
    names = [t["name"] for t in gs["tests"]]
    assert names == [t["name"] for t in pl["tests"]]
    assert "99_demo/01_double :: test_hidden_more.py::test_negative" in names  # hidden tests are graded ...
    gpu = next(t for t in gs["tests"] if "test_fast_on_a_gpu" in t["name"])
    assert "status" not in gpu and gpu["score"] == gpu["max_score"] == 0 and "NOT RUN on this grader" in gpu["output"]
    hidden = next(t for t in gs["tests"] if "hidden" in t["name"])
    assert hidden["visibility"] == "after_due_date" and hidden["status"] == "passed"  # ... and shown after the deadline
    assert _scores(gs["tests"], "score") == _scores(pl["tests"], "points")  # the cheats changed nothing
    assert all(t["score"] == 0 for t in gs["tests"] if t["name"].startswith("99_demo/02_twice"))
    assert sum(t["score"] for t in gs["tests"] if t["name"].startswith("99_demo/01_double")) == 5
    gated = next(t for t in gs["tests"] if t["name"].endswith("test_twice.py::test_few_calls"))
    assert gated["status"] == "failed" and "correctness" in gated["output"]
    assert "NOT IMPLEMENTED YET" in next(t for t in gs["tests"] if t["name"].endswith("test_twice.py::test_values"))["output"]
    assert not marker.exists(), "code from the submission's conftest/sitecustomize/.pth ran"


def test_crashing_and_hanging_katas_still_give_a_complete_results_file(checkout, tmp_path):
    add_python_kata(checkout, "99_demo/01_double")
    for name in ("02_crash", "03_hang"):
        add_python_kata(checkout, f"99_demo/{name}")
        (checkout.path / f"katas/99_demo/{name}/test_double.py").rename(checkout.path / f"katas/99_demo/{name}/test_{name[3:]}.py")
    sub = _submission(checkout)
    # Learner code that kills, or stops, the pytest process that runs the tests (not just its own test).
    (sub / "katas/99_demo/02_crash/double.py").write_text("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n")
    (sub / "katas/99_demo/03_hang/double.py").write_text("import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n")
    out = tmp_path / "results.json"
    t = time.monotonic()
    r = _grade(checkout, tmp_path, str(sub), "--format", "gradescope", "--out", str(out), "--time-limit", "6", "-j", "3")
    assert r.returncode == 0, r.stdout + r.stderr
    assert time.monotonic() - t < 120
    gs = json.loads(out.read_text())
    gradescope_ok(gs)
    by_kata = {}
    for test in gs["tests"]:
        by_kata.setdefault(test["name"].split(" :: ")[0], []).append(test)
    assert sorted(by_kata) == ["99_demo/01_double", "99_demo/02_crash", "99_demo/03_hang"]
    assert all(len(tests) == 3 for tests in by_kata.values())  # every expected test is listed
    assert sum(t["score"] for t in by_kata["99_demo/01_double"]) == 5
    assert all(t["score"] == 0 and "CRASH" in t["output"] and "SIGKILL" in t["output"] for t in by_kata["99_demo/02_crash"])
    assert all(t["score"] == 0 and "TIME-OUT" in t["output"] for t in by_kata["99_demo/03_hang"])
    assert sum(t["max_score"] for t in gs["tests"]) == 15
    _no_leftovers(tmp_path)


def test_missing_or_symlinked_learner_files_score_zero_with_a_reason(checkout, tmp_path):
    _two_katas(checkout)
    add_python_kata(checkout, "99_demo/03_untouched")
    (checkout.path / "katas/99_demo/03_untouched/test_double.py").rename(
        checkout.path / "katas/99_demo/03_untouched/test_untouched.py")
    sub = _submission(checkout)
    shutil.copy(checkout.path / "katas/99_demo/03_untouched/double.py", sub / "katas/99_demo/03_untouched/double.py")
    (sub / "katas/99_demo/02_twice/double.py").unlink()
    outside = tmp_path / "elsewhere.py"
    outside.write_text(SOLVED)
    (sub / "katas/99_demo/01_double/double.py").unlink()
    (sub / "katas/99_demo/01_double/double.py").symlink_to(outside)
    out = tmp_path / "r.json"
    r = _grade(checkout, tmp_path, str(sub), "--format", "json", "--out", str(out))
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["points"] == 0 and data["max_points"] == 15 and data["complete"] is True
    msgs = {k["kata"]: k["message"] for k in data["katas"]}
    # a stub as handed out is not run: tests a stub passes by design (it builds, it imports) earn nothing
    assert msgs["99_demo/03_untouched"].startswith("NOT ATTEMPTED: katas/99_demo/03_untouched/double.py is still the stub")
    assert "symbolic link" in msgs["99_demo/01_double"]
    assert "MISSING FILE: katas/99_demo/02_twice/double.py" in msgs["99_demo/02_twice"]
    assert "MISSING FILE" in r.stdout


def test_bad_input_is_one_clear_line_and_a_results_file_when_possible(checkout, tmp_path):
    _two_katas(checkout)
    sub = _submission(checkout)
    out = tmp_path / "r.json"
    r = checkout.kata("grade", str(tmp_path / "nope"), "--format", "gradescope", "--out", str(out))
    assert r.returncode == 2 and r.stderr.strip() == f"kata grade: submission {tmp_path / 'nope'}: no such folder"
    gs = json.loads(out.read_text())  # the platform still gets a valid file that says why
    gradescope_ok(gs)
    assert gs["score"] == 0 and "no such folder" in gs["tests"][0]["output"]
    r = checkout.kata("grade", str(sub), "no_such_kata", "--out", str(out))
    assert r.returncode == 2 and r.stderr.strip() == "kata grade: no kata matches 'no_such_kata' (try `kata list`)"
    learner_file = sub / "katas/99_demo/01_double/double.py"
    before = learner_file.read_text()
    r = checkout.kata("grade", str(sub), "--out", str(learner_file))
    assert r.returncode == 2 and "inside the submission" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert learner_file.read_text() == before
    r = checkout.kata("grade", str(learner_file), "--out", str(out))
    assert r.returncode == 2 and "not a folder" in r.stderr
    (checkout.path / "katas/99_demo/02_twice/kata.toml").write_text("title = \n")
    r = checkout.kata("grade", str(sub), "--out", str(out))
    assert r.returncode == 2 and "kata.toml: not valid TOML" in r.stderr


def test_the_results_file_is_valid_while_grading_and_after_it_is_stopped(checkout, tmp_path):
    add_python_kata(checkout, "99_demo/01_hang")
    sub = _submission(checkout, solved=())
    (sub / "katas/99_demo/01_hang/double.py").write_text("import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\n")
    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "kata.cli", "grade", str(sub), "--out", str(out),
                             "--time-limit", "300"], cwd=checkout.path, env=_env(checkout, tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    first = json.loads(out.read_text())
    assert first["complete"] is False and first["points"] == 0 and first["max_points"] == 5
    while time.monotonic() < deadline and not subprocess.run(["pgrep", "-f", f"gradeplugin.*{tmp_path / 'tmp'}"],
                                                             capture_output=True).stdout:
        time.sleep(0.1)  # until the kata's pytest run is under way
    time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    last = json.loads(out.read_text())
    assert last["complete"] is False and "grading stopped" in last["note"]
    assert "not graded" in last["katas"][0]["message"]
    _no_leftovers(tmp_path)
