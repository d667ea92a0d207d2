"""`kata new` scaffolds a kata in the contract's shape; `kata check` validates kata.toml's whole schema."""
import re

from conftest import NAIVE, WRONG, add_python_kata
from kata import schema


def test_new_kata_like_another_has_the_contract_shape(checkout):
    add_python_kata(checkout, controls={"naive": NAIVE, "wrong_last": WRONG})
    r = checkout.kata("controls", "--to-patches")
    assert r.returncode == 0, r.stdout + r.stderr
    r = checkout.kata("new", "99_demo/02_triple", "--like", "99_demo/01_double")
    assert r.returncode == 0, r.stdout + r.stderr
    k, s = checkout.path / "katas/99_demo/02_triple", checkout.path / "solutions/99_demo/02_triple"
    assert sorted(p.name for p in k.iterdir()) == ["README.md", "kata.toml", "test_triple.py", "triple.py"]
    readme = (k / "README.md").read_text()
    for section in ("## Idea", "## Task", "## How it is graded, and why", "## Hints"):
        assert f"\n{section}\n" in readme
    toml = (k / "kata.toml").read_text()
    assert 'title = "Triple"' in toml and 'files = ["triple.py"]' in toml
    assert (s / "triple.py").is_file() and (s / "controls/naive/triple.py").is_file()
    assert "+++ b/triple.py" in (s / "controls/wrong_last.patch").read_text()
    r = checkout.kata("check", "99_demo/02_triple")  # the README is still the template: not landable
    assert r.returncode != 0 and "placeholder text" in r.stdout, r.stdout + r.stderr
    (k / "README.md").write_text(re.sub(r"(?m)^(\d+\. )?<.*\n(?:[^#\d\n].*\n)*", r"\1Written.\n", readme))
    r = checkout.kata("check", "99_demo/02_triple")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok   99_demo/02_triple" in r.stdout


def test_new_refuses_a_bad_name_and_an_existing_kata(checkout):
    add_python_kata(checkout)
    r = checkout.kata("new", "99_demo/Triple", "--like", "01_double")
    assert r.returncode == 2 and "MODULE/NN_name" in r.stderr
    r = checkout.kata("new", "99_demo/01_double", "--like", "01_double")
    assert r.returncode == 2 and "exists already" in r.stderr


def test_schema_reports_every_problem():
    found = schema.problems({"title": "", "difficulty": 9, "language": "rust", "files": ["a/b.c"], "points": 0,
                             "tiers": ["tpu"], "colour": "red", "controls": {"oops": "x", "wrong_a": ""},
                             "grading": {"perf_points": 50, "per_test": "yes", "weights": {"t": -1}, "bonus": 1}})
    fatal = [m for f, m in found if f]
    other = [m for f, m in found if not f]
    assert any("'title' should be non-empty" in m for m in fatal)
    assert any("language 'rust'" in m for m in fatal)
    assert any("files should list" in m for m in fatal)
    assert any("tiers ['tpu']" in m for m in fatal)
    assert any("control 'oops' should be named" in m for m in fatal)
    assert any("'difficulty' is 9" in m for m in other)
    assert any("'points' is 0" in m for m in other)
    assert any("unknown key 'colour'" in m for m in other)
    assert any("wrong_a should be described" in m for m in other)
    assert any("[grading] unknown key 'bonus'" in m for m in other)
    assert any("perf_points should be a number from 0 to points" in m for m in other)
    assert any("per_test should be true or false" in m for m in other)
    assert any("weights should map" in m for m in other)


def test_check_reports_grading_problems_per_kata(checkout):
    add_python_kata(checkout)
    toml = checkout.path / "katas/99_demo/01_double/kata.toml"
    demo = re.sub(r"\[grading\]\njudge = .*\njudge_why = .*\n", "", toml.read_text())  # the demo's own table
    toml.write_text(demo.replace("[controls]", "colour = \"red\"\n[grading]\nperf_points = 9\n"
                                             "weights = {test_value = 2}\n[controls]"))
    r = checkout.kata("check")
    assert r.returncode == 1
    assert "kata.toml: unknown key 'colour'" in r.stdout
    assert "[grading] perf_points should be a number from 0 to points (5)" in r.stdout
    assert "weights names test_value, but no test file defines `def test_value(`" in r.stdout


def test_a_fatal_schema_problem_is_one_clear_line(checkout):
    add_python_kata(checkout)
    toml = checkout.path / "katas/99_demo/01_double/kata.toml"
    toml.write_text(toml.read_text().replace('language = "python"', 'language = "rust"'))
    r = checkout.kata("check")
    assert r.returncode == 2
    assert "kata.toml: language 'rust' is not one of" in r.stderr
