"""`kata check` proves the contract, and catches katas that break it."""
from pathlib import Path

from conftest import NAIVE, WRONG, add_python_kata


def test_honest_kata_passes(checkout):
    add_python_kata(checkout, controls={"naive": NAIVE, "wrong_last": WRONG})
    r = checkout.kata("check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok   99_demo/01_double" in r.stdout
    assert "naive passes correctness, fails 1 gate(s)" in r.stdout


def test_stub_replaced_by_solution_fails_check(checkout):
    add_python_kata(checkout, stub="def double(xs):\n    return [2 * x for x in xs]\n")
    r = checkout.kata("check")
    assert r.returncode == 1
    assert "FAIL 99_demo/01_double" in r.stdout
    assert "stub: every test passed" in r.stdout
    assert "broken: 99_demo/01_double" in r.stdout


def test_failing_reference_fails_check(checkout):
    add_python_kata(checkout, reference=WRONG)
    r = checkout.kata("check")
    assert r.returncode == 1
    assert "reference: 1 test(s) fail" in r.stdout


def test_wrong_control_that_passes_fails_check(checkout):
    add_python_kata(checkout, controls={"wrong_not_really": "def double(xs):\n    return [x + x for x in xs]\n"})
    r = checkout.kata("check")
    assert r.returncode == 1
    assert "the tests miss this mistake" in r.stdout


def test_naive_control_passing_gate_fails_check(checkout):
    add_python_kata(checkout, controls={"naive": "def double(xs):\n    return list(map((2).__mul__, xs))\n"})
    r = checkout.kata("check")
    assert r.returncode == 1
    assert "the gate does not" in r.stdout


def test_stub_that_does_not_import_fails_check(checkout):
    add_python_kata(checkout, stub="def double(xs)\n    pass\n")
    r = checkout.kata("check")
    assert r.returncode == 1
    assert "must compile/import cleanly" in r.stdout


def test_missing_readme_section_and_undescribed_control(checkout):
    add_python_kata(checkout, controls={"naive": NAIVE})
    readme = checkout.path / "katas/99_demo/01_double/README.md"
    readme.write_text(readme.read_text().replace("## Task", "## Todo"))
    checkout.write("solutions/99_demo/01_double/controls/wrong_extra/double.py", WRONG)
    r = checkout.kata("check")
    assert r.returncode == 1
    assert "no '## Task' section" in r.stdout
    assert "controls/wrong_extra/ is not described" in r.stdout


def test_unknown_kata_is_one_clear_line(checkout):
    add_python_kata(checkout)
    r = checkout.kata("check", "no_such_kata")
    assert r.returncode == 2
    assert r.stderr.strip() == "kata check: no kata matches 'no_such_kata' (try `kata list`)"


def test_timed_sessions_run_alone_after_the_untimed_ones_run_together(monkeypatch):
    """`--parallel N` runs untimed sessions N at once; a wall-clock session never overlaps another."""
    import threading
    import time

    import kata.check as ck
    from kata.report import Session

    spans, lock = [], threading.Lock()

    def fake_session(root, s):
        t = time.monotonic()
        time.sleep(0.2)
        with lock:
            spans.append((s.timed, t, time.monotonic()))
        return [{"nodeid": f"katas/9/{s.marker}::t", "outcome": "passed"}]

    monkeypatch.setattr(ck, "run_session", fake_session)
    plan = {f"run{i}": [Session(("p",), (), f"m{i}", 0, False), Session(("p",), (), f"w{i}", 0, True)]
            for i in range(4)}
    rows = ck.run_plan(Path("."), plan, parallel=4)
    assert [len(r) for r in rows.values()] == [2, 2, 2, 2]
    untimed = [s for s in spans if not s[0]]
    timed = sorted(s for s in spans if s[0])
    assert max(u[1] for u in untimed) < min(u[2] for u in untimed), "the untimed sessions should overlap"
    assert max(u[2] for u in untimed) <= timed[0][1], "a timed session started beside an untimed one"
    assert all(a[2] <= b[1] for a, b in zip(timed, timed[1:])), "two timed sessions overlapped"


def test_wrong_controls_are_not_timed_but_naive_ones_are(checkout, monkeypatch):
    """A wrong control is judged on correctness only: its perf tests are left out of its sessions."""
    import kata.check as ck
    from kata.layout import resolve

    add_python_kata(checkout, controls={"naive": NAIVE, "wrong_last": WRONG})
    seen = {}
    monkeypatch.setattr(ck, "run_plan", lambda root, plan, parallel, say: seen.update(plan) or
                        {label: [] for label in plan})
    ck.check(checkout.path, resolve(checkout.path, []), quiet=True)
    markers = {label.split("(")[-1].rstrip(")"): [s.marker for s in ss] for label, ss in seen.items()}
    assert markers["naive"] and all("perf" not in m for m in markers["naive"]), markers
    assert markers["wrong_last"] and all(m.endswith("and not (perf)") for m in markers["wrong_last"]), markers
