"""`kata release`: the learner's copy (no solutions, controls or hidden tests; stubs proven to fail) and
the Gradescope autograder bundle."""
import json
import subprocess
import sys
import tomllib
import zipfile

from conftest import NAIVE, WRONG, add_python_kata


def _two_katas(co):
    add_python_kata(co, "99_demo/01_double", controls={"naive": NAIVE, "wrong_last": WRONG})
    add_python_kata(co, "99_demo/02_twice")
    (co.path / "katas/99_demo/02_twice/test_double.py").rename(co.path / "katas/99_demo/02_twice/test_twice.py")
    co.write("katas/99_demo/01_double/test_hidden_more.py", """
        def test_negative(kata):
            assert kata.module().double([-1]) == [-2]
        """)
    co.write(".kata_cache/learner/hints.json", "{}")
    co.write("docs/grading.md", "# Grading\n")
    co.write("docs/gpu-report/gpu_report.md", "| 99_demo/01_double | ok | wrong_last fails |\n")  # names the controls
    co.write("katas/99_demo/01_double/__pycache__/junk.pyc", "x")


def test_release_writes_the_learners_copy_and_proves_its_stubs_fail(checkout, tmp_path):
    _two_katas(checkout)
    dest = tmp_path / "learner"
    r = checkout.kata("release", str(dest))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "proof: the stub fails in 2 of 2 katas" in r.stdout
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()
                   and not p.relative_to(dest).as_posix().startswith(("kata/", "native/")))
    assert files == [".kata-stubs.json", "conftest.py", "docs/grading.md", "katas/99_demo/01_double/README.md",
                     "katas/99_demo/01_double/double.py", "katas/99_demo/01_double/kata.toml",
                     "katas/99_demo/01_double/test_double.py", "katas/99_demo/02_twice/README.md",
                     "katas/99_demo/02_twice/double.py", "katas/99_demo/02_twice/kata.toml",
                     "katas/99_demo/02_twice/test_twice.py", "pyproject.toml", "pytest.ini"]
    assert (dest / "kata" / "plugin.py").is_file()  # the harness travels with the copy
    meta = tomllib.loads((dest / "katas/99_demo/01_double/kata.toml").read_text())
    assert "controls" not in meta and meta["files"] == ["double.py"]  # control descriptions name the mistakes
    manifest = json.loads((dest / ".kata-stubs.json").read_text())
    assert set(manifest) == {"99_demo/01_double", "99_demo/02_twice"}
    # the learner's own `kata progress` knows the stubs without running anything
    p = subprocess.run([sys.executable, "-m", "kata.cli", "progress"], cwd=dest, env=checkout.env(),
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("not started") == 2 and "running the tests" not in p.stderr


def test_release_never_overwrites(checkout, tmp_path):
    _two_katas(checkout)
    dest = tmp_path / "learner"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")
    r = checkout.kata("release", str(dest))
    assert r.returncode == 2
    assert r.stderr.strip() == f"kata release: {dest}: already exists and is not empty; release never overwrites (name a new folder)"
    assert [p.name for p in dest.iterdir()] == ["mine.txt"] and (dest / "mine.txt").read_text() == "keep me"
    r = checkout.kata("release", "inside")
    assert r.returncode == 2 and "inside the checkout" in r.stderr
    r = checkout.kata("release")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    bundle = tmp_path / "b.zip"
    bundle.write_text("old")
    r = checkout.kata("release", "--gradescope", str(bundle))
    assert r.returncode == 2 and bundle.read_text() == "old"


def test_release_says_so_when_a_stub_does_not_fail(checkout, tmp_path):
    add_python_kata(checkout, stub="def double(xs):\n    return [2 * x for x in xs]\n")
    r = checkout.kata("release", str(tmp_path / "learner"))
    assert r.returncode == 1
    assert "FAIL 99_demo/01_double: stub: every test passed" in r.stdout
    assert "NOT fit to hand out" in r.stdout


def test_gradescope_bundle(checkout, tmp_path):
    _two_katas(checkout)
    bundle = tmp_path / "autograder.zip"
    r = checkout.kata("release", "--gradescope", str(bundle))
    assert r.returncode == 0, r.stderr
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        infos = {i.filename: i for i in z.infolist()}
        setup = z.read("setup.sh").decode()
        run = z.read("run_autograder").decode()
        for script in ("setup.sh", "run_autograder"):
            assert infos[script].external_attr >> 16 & 0o111, f"{script} must be executable"
            (tmp_path / script).write_bytes(z.read(script))
    assert "katas/99_demo/01_double/test_hidden_more.py" in names  # the grader runs hidden tests
    assert not any(n.startswith("solutions/") or "/controls/" in n or ".kata_cache" in n or "__pycache__" in n
                   for n in names)
    assert {"kata/grade.py", "kata/plugin.py", "pyproject.toml", "pytest.ini", "conftest.py"} <= set(names)
    torch_at = setup.index("torch==2.13.0")
    assert "download.pytorch.org/whl/cpu" in setup and torch_at < setup.index("pip install /autograder/source")
    assert ("kata grade /autograder/submission --format gradescope" in run
            and "--out /autograder/results/results.json" in run)
    for script in ("setup.sh", "run_autograder"):
        assert subprocess.run(["bash", "-n", str(tmp_path / script)]).returncode == 0
