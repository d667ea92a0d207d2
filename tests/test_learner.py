"""The learner's commands: progress, next, hint, diff, watch, doctor."""
import json
import subprocess
import sys
import time

from conftest import NAIVE, WRONG, add_python_kata

SOLVED = "def double(xs):\n    # twice each element\n    return [x * 2 for x in xs]\n"


def _four_katas(co):
    """fast (solved), passing (naive: fails the perf gate), failing (wrong), not started (the stub)."""
    for rel, impl in (("01_basics/01_double", SOLVED), ("01_basics/02_twice", NAIVE), ("01_basics/03_dbl", WRONG),
                      ("02_more/01_quad", None)):
        add_python_kata(co, rel)
        name = rel.split("_", 2)[-1]
        (co.path / f"katas/{rel}/test_double.py").rename(co.path / f"katas/{rel}/test_{name}.py")
        if impl:
            (co.path / f"katas/{rel}/double.py").write_text(impl)


def test_progress_next_hint_and_diff(checkout):
    _four_katas(checkout)
    r = checkout.kata("progress")
    assert r.returncode == 0, r.stderr
    assert "running the tests of 4 kata(s)" in r.stderr
    lines = {line.split()[1]: line for line in r.stdout.splitlines() if line.startswith("  ") and len(line.split()) > 2}
    assert " fast" in lines["01_double"] and " passing" in lines["02_twice"]
    assert " failing" in lines["03_dbl"] and " not started" in lines["01_quad"]
    assert "1 performance gate(s) to go" in lines["02_twice"]
    assert "2 of 4 katas pass (1 fast)" in r.stdout
    assert "next: 01_basics/03_dbl" in r.stdout
    assert "█" in r.stdout and "\033[" not in r.stdout  # block characters, but no colours off a terminal

    t = time.monotonic()
    again = checkout.kata("progress")
    assert again.stdout == r.stdout and "running" not in again.stderr  # from the cache
    assert time.monotonic() - t < 15

    r = checkout.kata("next")
    assert r.returncode == 1
    assert "next: 01_basics/03_dbl" in r.stdout and "1 failed, 2 passed" in r.stdout
    assert "kata hint 03_dbl" in r.stdout

    first = checkout.kata("hint", "dbl")
    second = checkout.kata("hint", "dbl")
    third = checkout.kata("hint", "dbl")
    assert "Hint 1 of 2" in first.stdout and "Multiply by two." in first.stdout
    assert "Hint 2 of 2" in second.stdout and "return [2 * x for x in xs]" in second.stdout
    assert "That was the last hint." in second.stdout
    assert "No more hints" in third.stdout
    assert "Hint 1 of 2" in checkout.kata("hint", "01_basics/01_double").stdout  # hints are per kata
    checkout.kata("hint", "dbl", "--reset")
    assert "Hint 1 of 2" in checkout.kata("hint", "dbl").stdout

    r = checkout.kata("diff", "dbl")
    assert r.returncode == 1
    assert r.stderr.strip().startswith("kata diff: 01_basics/03_dbl does not pass yet: failing")
    r = checkout.kata("diff", "01_double")
    assert r.returncode == 0, r.stderr
    assert "--- yours/double.py" in r.stdout and "+++ reference/double.py" in r.stdout
    assert "-    return [x * 2 for x in xs]" in r.stdout and "+    return [2 * x for x in xs]" in r.stdout
    # a classroom copy has no solutions/: diff says so instead of failing
    for p in sorted((checkout.path / "solutions/01_basics/01_double").iterdir()):
        p.unlink()
    (checkout.path / "solutions/01_basics/01_double").rmdir()
    r = checkout.kata("diff", "01_double")
    assert r.returncode == 1 and "ships without solutions" in r.stderr


def test_watch_reruns_when_the_file_is_saved(checkout):
    _four_katas(checkout)
    proc = subprocess.Popen([sys.executable, "-m", "kata.cli", "watch", "dbl", "--max-runs", "2", "--interval", "0.1"],
                            cwd=checkout.path, env=checkout.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("waiting for changes"):
            (checkout.path / "katas/01_basics/03_dbl/double.py").write_text(SOLVED)
    proc.wait(timeout=120)
    out = "".join(seen)
    assert proc.returncode == 0, out
    assert "run 1" in out and "run 2" in out
    assert "01_basics/03_dbl: failing" in out and "01_basics/03_dbl: fast" in out
    assert "progress" not in out


def test_doctor_reports_tools_and_what_is_skipped(checkout):
    add_python_kata(checkout)
    gpu_kata = checkout.path / "katas/99_demo/01_double/kata.toml"
    gpu_kata.write_text(gpu_kata.read_text().replace("timeout = 20", 'timeout = 20\ntiers = ["cpu", "gpu"]'))
    env = {**checkout.env(), "KATA_FORCE_CPU": "1"}
    r = subprocess.run([sys.executable, "-m", "kata.cli", "doctor"], cwd=checkout.path, env=env,
                       capture_output=True, text=True, timeout=120)
    for word in ("python", "torch", "triton", "gcc", "g++", "nvcc", "valgrind", "GPU"):
        assert f"  {word} " in r.stdout, word
    assert "Triton kernels run in the interpreter" in r.stdout
    assert "99_demo/01_double: its GPU-tier tests" in r.stdout
    assert r.returncode in (0, 1)


def test_bad_input_gets_one_line(checkout):
    _four_katas(checkout)
    for args, want in ((["hint", "nope"], "kata hint: no kata matches 'nope' (try `kata list`)"),
                       (["hint", "01_basics"], "kata hint: '01_basics' names 3 katas (a module?); name one kata"),
                       (["diff", "nope"], "kata diff: no kata matches 'nope'"),
                       (["watch", "nope"], "kata watch: no kata matches 'nope'"),
                       (["progress", "nope"], "kata progress: no kata matches 'nope'")):
        r = checkout.kata(*args)
        assert r.returncode == 2 and r.stderr.strip().startswith(want) and len(r.stderr.strip().splitlines()) == 1, r.stderr
    # a broken cache is rebuilt, not an error
    cache = checkout.path / ".kata_cache/learner/hints.json"
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    assert "Hint 1 of 2" in checkout.kata("hint", "dbl").stdout
    assert json.loads(cache.read_text()) == {"01_basics/03_dbl": 1}
    # a malformed release manifest or kata.toml is one line; the learner's files stay as they were
    (checkout.path / ".kata-stubs.json").write_text("[oops")
    before = (checkout.path / "katas/01_basics/03_dbl/double.py").read_text()
    r = checkout.kata("progress")
    assert r.returncode == 2 and r.stderr.strip().startswith("kata progress: .kata-stubs.json: not valid JSON")
    (checkout.path / ".kata-stubs.json").unlink()
    (checkout.path / "katas/02_more/01_quad/kata.toml").write_text("title = [\n")
    r = checkout.kata("next")
    assert r.returncode == 2 and "kata.toml: not valid TOML" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (checkout.path / "katas/01_basics/03_dbl/double.py").read_text() == before
