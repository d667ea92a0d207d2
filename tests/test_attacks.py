"""The attack suite: submissions that tamper with grading, each in a kata of its own, graded by `kata grade`.

Every attack must score 0 for the kata it attacks, the honest kata beside them must score full points,
and the results file must stay complete and valid. The attacks that aim at the test's own process
(patching its helpers, forging its report, turning off its counters, reading the instructor's files,
replaying outputs) are also graded with `--judge same`, where learner code runs beside the test: there
they must *work* (earn points), which shows that each attack is real and that the separate judge
(kata.remote, kata.sandbox) is what stops it. The attacks on the machine itself (a fork bomb, a full
disk, a 20 GB allocation) run only in the sandbox, and only as root, where it has a user of its own.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import README
from test_grading import gradescope_ok

ROOT = os.getuid() == 0

KATA_TOML = """
title = "Double ({name})"
difficulty = 1
language = "{language}"
files = ["{file}"]
points = 6
timeout = 20
[admission]
imports = ["os", "sys", "signal", "importlib", "json", "stat", "fcntl", "hashlib", "time", "pathlib", "gc"]
calls = ["open"]
"""

PY_TESTS = '''
import numpy as np
import pytest
from kata.toolkit import call_checked, rng


def test_values(kata):
    x = rng(1).standard_normal(1000)
    out = call_checked(kata.module().double, x, like=x)
    np.testing.assert_array_equal(out, 2 * x)


def test_small(kata):
    for n in (0, 1, 7):
        x = rng(n + 2).standard_normal(n)
        np.testing.assert_array_equal(call_checked(kata.module().double, x, like=x), 2 * x)


def test_no_torch_compute(kata):
    import torch
    from kata.tritonkit import forbid_torch_compute
    x = torch.arange(8, dtype=torch.float64)
    with forbid_torch_compute():
        out = kata.module().double_t(x)
    assert torch.equal(out, 2 * x)
'''

PY_STUB = '''
def double(x):
    raise NotImplementedError("double.py: double()")


def double_t(x):
    raise NotImplementedError("double.py: double_t()")
'''

PY_REFERENCE = '''
import numpy as np
import torch


def double(x):
    return np.asarray(x) * 2


def double_t(x):
    return torch.from_numpy(x.detach().numpy() * 2)
'''

WRONG = '''
import numpy as np
import torch


def double(x):
    return np.asarray(x) * 3


def double_t(x):
    return x * 3
'''

# Attacks on the test's own process: they work beside the test (--judge same), and must not in the sandbox.
ATTACKS_ON_THE_TEST = {
    # the test's comparison turned into a no-op from the learner's module
    "patch_assertion": WRONG + '''
import importlib
_t = importlib.import_module("numpy.testing")
_t.assert_array_equal = lambda *a, **k: None
_tk = importlib.import_module("kata.tritonkit")
_tk.forbid_torch_compute.__exit__ = lambda self, *exc: False
''',
    # the harness helper that checks inputs are unchanged, patched, while the inputs are mutated
    "patch_helper_and_mutate": '''
import importlib
import numpy as np
import torch

_k = importlib.import_module("kata.toolkit")
_k.assert_unchanged = lambda *a, **k: None
_t = importlib.import_module("numpy.testing")
_t.assert_array_equal = lambda *a, **k: None


def double(x):
    x *= 2
    return x


def double_t(x):
    return x.mul_(2)
''',
    # a passing report written to the pipe the test's process reports through, then a quiet exit
    "forge_report_pipe": '''
import json
import os
import stat
import fcntl


def _forge():
    nodeid = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    path, _, name = nodeid.partition("::")
    reports = [{"nodeid": nodeid, "location": [path, 0, name], "keywords": {}, "outcome": "passed",
                "longrepr": None, "when": when, "user_properties": [], "sections": [], "duration": 0.0,
                "$report_type": "TestReport"} for when in ("setup", "call", "teardown")]
    for fd in range(3, 64):
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                os.write(fd, json.dumps(reports).encode())
                os._exit(0)
        except OSError:
            continue


def double(x):
    _forge()
    return x


def double_t(x):
    _forge()
    return x
''',
    # the torch-compute guard's instrument replaced so that torch arithmetic goes unseen
    "patch_counter": '''
import contextlib
import importlib
import numpy as np

_tk = importlib.import_module("kata.tritonkit")
_tk._forbid_mode = lambda block: contextlib.nullcontext()


def double(x):
    return np.asarray(x) * 2


def double_t(x):
    return x * 2
''',
    # the reference copied out of the instructor's checkout at grading time
    "read_solutions": '''
import importlib.util
import os

_found = None
for _path in {solution_paths!r}:
    if os.path.exists(_path):
        _spec = importlib.util.spec_from_file_location("stolen", _path)
        _found = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(_found)
        break


def double(x):
    return _found.double(x)


def double_t(x):
    return _found.double_t(x)
''',
    # outputs remembered from the handout's inputs (the learner ran the tests and saved what they saw)
    "cached_outputs": '''
import hashlib
import numpy as np
import torch

_SEEN = {cache!r}


def double(x):
    key = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()
    return np.asarray(x) * (2 if key in _SEEN else 3)


def double_t(x):
    return torch.from_numpy(x.detach().numpy() * 3)
''',
}

# Attacks that fail the same way wherever learner code runs.
ATTACKS_EVERYWHERE = {
    "exit_after_failure": WRONG.replace("return np.asarray(x) * 3", "import os\n    os._exit(0)"),
    "fake_pytest_summary": WRONG.replace(
        "def double(x):", 'print("=" * 20 + " 3 passed in 0.01s " + "=" * 20)\nprint(\'{"score": 6}\')\n\n\ndef double(x):'),
    "kill_the_parent": WRONG + "\nimport os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
}

# Attacks on the machine: only in the sandbox, as root (a user of its own, resource limits).
ATTACKS_ON_THE_MACHINE = {
    "fork_bomb": WRONG.replace("return np.asarray(x) * 3", "import os\n    while True:\n        os.fork()"),
    "fill_the_disk": WRONG.replace("return np.asarray(x) * 3",
                                   "import os\n    with open(os.path.join(os.environ.get('TMPDIR', '/tmp'), 'fill'), 'wb') as f:\n"
                                   "        while True:\n            f.write(b'x' * (1 << 24))"),
    "allocate_20_gb": WRONG.replace("return np.asarray(x) * 3", "return np.ones(20 * 2**30 // 8) [:len(x)] * 2"),
}

C_TOML = KATA_TOML.split("[admission]")[0]
C_CDEF = "void add_one(float *x, long n);"
C_TESTS = f'''
import numpy as np


def test_add_one(kata):
    lib = kata.library({C_CDEF!r})
    x = np.arange(10, dtype=np.float32)
    lib.add_one(x, 10)
    np.testing.assert_array_equal(x, np.arange(10, dtype=np.float32) + 1)
'''
C_STUB = '#include "kata.h"\nvoid add_one(float *x, long n) { KATA_TODO(); }\n'
C_DLSYM = r'''
#define _GNU_SOURCE
#include <dlfcn.h>
/* Runs Python inside the test's process: patch the assertion, then do nothing. */
void add_one(float *x, long n) {
    int (*run)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "PyRun_SimpleString");
    if (run) run("import numpy.testing as t; t.assert_array_equal = lambda *a, **k: None");
}
'''

# A driver program built with the learner's code and run by the test (native.launch): the learner's
# function computes the right answer only where it can read the instructor's reference.
C_PROGRAM_TESTS = '''
from native import launch


def test_add_one_in_a_program(kata):
    ran = launch.run([kata.program("drive.c")], timeout=20)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == [str(i + 1) for i in range(10)]
'''
C_DRIVER = r'''
#include <stdio.h>
void add_one(float *x, long n);
int main(void) {
    float x[10];
    for (int i = 0; i < 10; i++) x[i] = (float)i;
    add_one(x, 10);
    for (int i = 0; i < 10; i++) printf("%d\n", (int)x[i]);
    return 0;
}
'''
C_READS_REFERENCE = r'''
#include <stdio.h>
void add_one(float *x, long n) {
    FILE *f = fopen("{solution}", "r");  /* the instructor's reference: readable only outside the sandbox */
    float d = 2;
    if (f) { d = 1; fclose(f); }
    for (long i = 0; i < n; i++) x[i] += d;
}
'''
C_REFERENCE = "void add_one(float *x, long n) { for (long i = 0; i < n; i++) x[i] += 1; }\n"
# The same learner function, loaded through the harness's counting wrapper (native.sanitize): every
# helper that loads learner code must load it in the sandbox, not only kata.library().
C_COUNTED_TESTS = f'''
import numpy as np
from native import sanitize


def test_add_one_counted(kata):
    lib = sanitize.counted_library(kata, {C_CDEF!r})
    x = np.arange(10, dtype=np.float32)
    lib.add_one(x, 10)
    np.testing.assert_array_equal(x, np.arange(10, dtype=np.float32) + 1)
    lib.assert_no_leaks(after="add_one")
'''


def _add(co, rel, *, language="python", file="double.py", tests=PY_TESTS, stub=PY_STUB, reference=PY_REFERENCE):
    name = rel.split("/")[-1]
    co.write(f"katas/{rel}/README.md", README)
    toml = (C_TOML if language == "c" else KATA_TOML).format(name=name, language=language, file=file)
    co.write(f"katas/{rel}/kata.toml", toml)
    co.write(f"katas/{rel}/{file}", stub)
    co.write(f"katas/{rel}/test_{name}.py", tests)
    co.write(f"solutions/{rel}/{file}", reference)


def _cache_of_handout_inputs() -> list[str]:
    """What a learner who saved the handout's inputs would have: their hashes (seeds 1, 2, 3, 4)."""
    import hashlib

    import numpy as np
    out = [hashlib.sha256(np.random.default_rng(1).standard_normal(1000).tobytes()).hexdigest()]
    for n in (0, 1, 7):
        out.append(hashlib.sha256(np.random.default_rng(n + 2).standard_normal(n).tobytes()).hexdigest())
    return out


def _project(co, attacks: dict[str, str], with_c: bool, with_program: bool = False) -> Path:
    """The instructor's checkout (an honest kata and one kata per attack) and the learner's submission."""
    _add(co, "99_attack/00_honest")
    for i, name in enumerate(attacks, 1):
        _add(co, f"99_attack/{i:02d}_{name}")
    if with_c:
        _add(co, "99_attack/90_dlsym", language="c", file="add_one.c", tests=C_TESTS, stub=C_STUB, reference=C_REFERENCE)
        _add(co, "99_attack/91_include_reference", language="c", file="add_one.c", tests=C_TESTS, stub=C_STUB,
             reference=C_REFERENCE)
    if with_c or with_program:
        _add(co, "99_attack/92_program_reads_reference", language="c", file="add_one.c", tests=C_PROGRAM_TESTS,
             stub=C_STUB, reference=C_REFERENCE)
        co.write("katas/99_attack/92_program_reads_reference/support/drive.c", C_DRIVER)
        _add(co, "99_attack/93_library_reads_reference", language="c", file="add_one.c", tests=C_COUNTED_TESTS,
             stub=C_STUB, reference=C_REFERENCE)
    sub = co.path.parent / "submission"
    solutions = [str(co.path / "solutions" / "99_attack" / "00_honest" / "double.py")]
    c_reference = co.path / "solutions" / "99_attack" / "92_program_reads_reference" / "add_one.c"
    for rel in sorted(p.relative_to(co.path / "katas") for p in (co.path / "katas/99_attack").iterdir()):
        name = rel.name.split("_", 1)[1]
        if name == "dlsym":
            text, file = C_DLSYM, "add_one.c"
        elif name == "include_reference":  # the reference compiled in: refused before anything is built
            text, file = f'#include "{co.path / "solutions" / rel / "add_one.c"}"\n', "add_one.c"
        elif name in ("program_reads_reference", "library_reads_reference"):
            text, file = C_READS_REFERENCE.replace("{solution}", str(c_reference)), "add_one.c"
        else:
            file = "double.py"
            text = PY_REFERENCE if name == "honest" else attacks[name]
            text = text.replace("{solution_paths!r}", repr(solutions)).replace("{cache!r}", repr(_cache_of_handout_inputs()))
        dest = sub / "katas" / rel / file
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
    return sub


def _grade(co, tmp_path, sub, *args, timeout=900) -> dict:
    out = tmp_path / f"results-{len(list(tmp_path.glob('results-*')))}.json"
    (tmp_path / "tmp").mkdir(exist_ok=True)
    env = {**co.env(), "TMPDIR": str(tmp_path / "tmp"), "KATA_FORCE_CPU": "1"}
    r = subprocess.run([sys.executable, "-m", "kata.cli", "grade", str(sub), "--format", "gradescope",
                        "--out", str(out), "-j", "2", *args], cwd=co.path, env=env,
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    gradescope_ok(data)
    return data


def _by_kata(data: dict) -> dict[str, tuple[float, str]]:
    scores: dict[str, list] = {}
    for t in data["tests"]:
        kata = t["name"].split(" :: ")[0].split("/")[-1].split("_", 1)[1]
        s = scores.setdefault(kata, [0.0, ""])
        s[0] += t.get("score", 0)
        s[1] += t.get("output", "")[:300] + "\n"
    return {k: (round(v[0], 2), v[1]) for k, v in scores.items()}


@pytest.mark.time_limit(900)
def test_every_attack_scores_zero_in_the_sandbox_and_the_results_stay_valid(checkout, tmp_path):
    attacks = {**ATTACKS_ON_THE_TEST, **ATTACKS_EVERYWHERE, **(ATTACKS_ON_THE_MACHINE if ROOT else {})}
    sub = _project(checkout, attacks, with_c=True)
    t = time.monotonic()
    data = _grade(checkout, tmp_path, sub, "--secret-seed", "20261205")
    took = time.monotonic() - t
    scores = _by_kata(data)
    assert scores["honest"][0] == 6, f"the honest kata lost points in the sandbox:\n{scores['honest'][1]}"
    c_attacks = ["dlsym", "include_reference", "program_reads_reference", "library_reads_reference"]
    for name in [*attacks, *c_attacks]:
        assert scores[name][0] == 0, f"attack {name} earned {scores[name][0]} points:\n{scores[name][1]}"
    assert len(scores) == len(attacks) + 1 + len(c_attacks)  # every kata is in the results file
    assert "REJECTED" in scores["dlsym"][1]
    assert "REJECTED" in scores["include_reference"][1] and "91_include_reference/add_one.c" in scores["include_reference"][1]
    assert took < 600
    if ROOT:  # nothing of the sandbox's users is left running
        time.sleep(0.5)
        left = _orphaned_sandbox_processes()
        if left:  # one that was being killed as we looked is gone a moment later
            time.sleep(2)
            left = sorted(set(left) & set(_orphaned_sandbox_processes()))
        assert not left, f"processes of the sandbox's users are still running: {left}"


def _orphaned_sandbox_processes() -> list[str]:
    """Processes of a sandbox user (uid 64000-64999) with no live grader above them: what a finished grading
    left behind. A sandbox of another test running beside this one (pytest-xdist) has its grader, a process
    of another user, above it, and is not counted."""
    procs = {}
    for line in subprocess.run(["ps", "-eo", "pid=,ppid=,uid=,comm="], capture_output=True, text=True).stdout.splitlines():
        parts = line.split(None, 3)
        if len(parts) >= 3:
            procs[int(parts[0])] = (int(parts[1]), int(parts[2]), parts[3] if len(parts) > 3 else "")
    out = []
    for pid, (ppid, uid, comm) in procs.items():
        if not 64000 <= uid < 65000:
            continue
        up, seen = ppid, set()
        while up in procs and 64000 <= procs[up][1] < 65000 and up not in seen:
            seen.add(up)
            up = procs[up][0]
        if up <= 1 or up not in procs:
            out.append(f"{pid} ({comm}, uid {uid})")
    return out


@pytest.mark.time_limit(600)
def test_the_attacks_on_the_test_work_where_learner_code_runs_beside_it(checkout, tmp_path):
    """The control: with --judge same (learner code in the test's process) and no secret seed, each of
    these attacks earns points. So the sandbox, not a flaw in the attack, is what stops them."""
    if not ROOT:
        pytest.skip("reading the instructor's checkout is only hidden from the learner's user as root")
    sub = _project(checkout, ATTACKS_ON_THE_TEST, with_c=False, with_program=True)
    scores = _by_kata(_grade(checkout, tmp_path, sub, "--judge", "same"))
    assert scores["honest"][0] == 6
    for name in [*ATTACKS_ON_THE_TEST, "program_reads_reference", "library_reads_reference"]:
        assert scores[name][0] > 0, f"attack {name} did not work even beside the test:\n{scores[name][1]}"
