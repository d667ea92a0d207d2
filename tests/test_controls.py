"""Wrong controls stored as patches (kata.controls): applied outside the tree, checked by `kata check`,
and written from whole-file controls by `kata controls --to-patches`."""
import json

import pytest

from conftest import NAIVE, WRONG, add_python_kata
from kata.controls import PatchError, apply, make_patch, parse, size

REF = {"double.py": "def double(xs):\n    return [2 * x for x in xs]\n"}
PATCH = """\
--- a/double.py
+++ b/double.py
@@ -1,2 +1,2 @@
 def double(xs):
-    return [2 * x for x in xs]
+    return [2 * x for x in xs[:-1]]
"""


def test_make_and_apply_round_trip():
    control = {"double.py": REF["double.py"].replace("xs]", "xs[:-1]]")}
    patch = make_patch(REF, control)
    assert patch == PATCH
    assert apply(patch, REF) == control
    assert size(patch) == (1, 2)


def test_missing_final_newline_survives():
    ref, ctl = {"a.c": "int f(void)\n{\n  return 1;\n}"}, {"a.c": "int f(void)\n{\n  return 2;\n}"}
    patch = make_patch(ref, ctl)
    assert "\\ No newline at end of file" in patch
    assert apply(patch, ref) == ctl


def test_patch_applies_after_lines_added_above():
    moved = {"double.py": "# a comment the reference gained\n\n" + REF["double.py"]}
    assert apply(PATCH, moved)["double.py"].endswith("xs[:-1]]\n")


def test_patch_that_no_longer_applies_names_the_hunk():
    changed = {"double.py": "def double(xs):\n    return list(map(lambda x: 2 * x, xs))\n"}
    with pytest.raises(PatchError, match=r"hunk 1 of double.py .* no longer applies"):
        apply(PATCH, changed, where="controls/wrong_last.patch")


def test_patch_of_a_file_the_kata_does_not_have():
    with pytest.raises(PatchError, match="not one of the kata's files"):
        apply(PATCH.replace("double.py", "triple.py"), REF)


def test_not_a_patch():
    with pytest.raises(PatchError, match="holds no hunk"):
        parse("just words\n")


def test_check_runs_a_patch_control_and_leaves_the_tree_alone(checkout):
    add_python_kata(checkout, controls={"naive": NAIVE})
    checkout.write("katas/99_demo/01_double/kata.toml",
                   (checkout.path / "katas/99_demo/01_double/kata.toml").read_text() + 'wrong_last = "drops the last"\n')
    checkout.write("solutions/99_demo/01_double/controls/wrong_last.patch", PATCH)
    before = sorted(p.relative_to(checkout.path) for p in (checkout.path / "solutions").rglob("*"))
    r = checkout.kata("check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "wrong_last fails" in r.stdout
    assert sorted(p.relative_to(checkout.path) for p in (checkout.path / "solutions").rglob("*")) == before


def test_check_reports_a_patch_that_no_longer_applies(checkout):
    add_python_kata(checkout, controls={"naive": NAIVE},
                    reference="def double(xs):\n    return [x * 2 for x in xs]\n")
    checkout.write("katas/99_demo/01_double/kata.toml",
                   (checkout.path / "katas/99_demo/01_double/kata.toml").read_text() + 'wrong_last = "drops the last"\n')
    checkout.write("solutions/99_demo/01_double/controls/wrong_last.patch", PATCH)
    r = checkout.kata("check")
    assert r.returncode == 1
    assert "problem: controls/wrong_last.patch: hunk 1 of double.py" in r.stdout


def test_to_patches_converts_small_wrong_controls_only(checkout):
    add_python_kata(checkout, controls={"naive": NAIVE, "wrong_last": WRONG,
                                        "wrong_rewrite": "def double(xs):\n    out = []\n    for x in xs:\n"
                                                         "        out.append(x)\n    return out\n"})
    r = checkout.kata("controls", "--to-patches", "--max-changed", "4")
    assert r.returncode == 0, r.stdout + r.stderr
    ctl = checkout.path / "solutions/99_demo/01_double/controls"
    assert (ctl / "wrong_last.patch").is_file() and not (ctl / "wrong_last").exists()
    assert (ctl / "naive").is_dir() and (ctl / "wrong_rewrite").is_dir()
    assert "kept: naive controls stay whole files" in r.stdout
    r = checkout.kata("check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "wrong_last fails" in r.stdout


def test_grade_as_the_reference_and_as_a_patch_control(checkout, tmp_path):
    add_python_kata(checkout, controls={"naive": NAIVE})
    checkout.write("katas/99_demo/01_double/kata.toml",
                   (checkout.path / "katas/99_demo/01_double/kata.toml").read_text() + 'wrong_last = "drops the last"\n')
    checkout.write("solutions/99_demo/01_double/controls/wrong_last.patch", PATCH)
    scores = {}
    for which in ("reference", "wrong_last", "naive"):
        out = tmp_path / f"{which}.json"
        r = checkout.kata("grade", "--as", which, "--out", str(out))
        assert r.returncode == 0, r.stdout + r.stderr
        scores[which] = json.loads(out.read_text())
    assert scores["reference"]["points"] == 5
    assert 0 < scores["wrong_last"]["points"] < scores["naive"]["points"] < 5
    r = checkout.kata("grade", str(tmp_path), "--as", "reference")
    assert r.returncode == 2 and "not both" in r.stderr
