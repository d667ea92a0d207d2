"""`kata check` proves the contract, and catches katas that break it."""
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
