"""`kata check`: prove every kata honest.

For each kata it proves that
  - the folder is complete: README (Idea, Task, How it is graded, Hints with at least two steps),
    kata.toml (its whole schema), tests, each learner file in katas/ and in solutions/, each control
    described, and each control that is a patch applying to the reference (kata.controls);
  - the stub fails, saying "not implemented yet", and neither crashes the build nor fails to import;
  - the reference passes every test that ran;
  - each naive control passes every correctness test and fails every performance gate that ran;
  - each wrong control fails at least one correctness test.
A claim that no test could settle on this machine (GPU-only gates on a CPU) is listed as unverified,
visibly, and is not counted as proven. The exit status is non-zero if any kata breaks the contract.

The tests run as a few pytest sessions over all selected katas at once (stubs, references, then the
first control of every kata, the second, ...), each writing --kata-report JSON. The untimed sessions run
first (`--parallel` of them at once); then the wall-clock tests, each session alone, never beside other
tests. A wrong control is judged on correctness only, so its performance tests are not run.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kata import schema
from kata.layout import Kata, KataError, find_root, resolve
from kata.controls import PatchError
from kata.controls import folder as control_folder
from kata.controls import present as controls_present
from kata.controls import problems as control_problems
from kata.report import Session, by_kata, first_line, is_perf, run_session, sessions, test_names

README_SECTIONS = ["## Idea", "## Task", "## How it is graded", "## Hints"]
BAD_STUB_WORDS = ("COMPILE ERROR", "DOES NOT IMPORT", "HARNESS ERROR", "MISSING FILE", "REJECTED")


@dataclass
class Verdict:
    kata: Kata
    problems: list[str] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    proven: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)        # neither proven nor a problem here (GPU-only runs)
    rows: dict[str, list[dict]] = field(default_factory=dict)  # "stub", "reference", control -> its rows

    @property
    def ok(self) -> bool:
        return not self.problems


# ------------------------------------------------------------------------------------ static checks

def toml_problems(k: Kata) -> list[str]:
    """kata.toml's schema problems that do not stop it loading (kata.schema), [grading] included."""
    data = tomllib.loads((k.dir / "kata.toml").read_text())
    out = [f"kata.toml: {msg}" for fatal, msg in schema.problems(data) if not fatal]
    tests = [t.read_text() for t in sorted(k.dir.glob("test_*.py"))]
    out += [f"kata.toml: [grading] weights names {name}, but no test file defines `def {name}(`"
            for name in schema.unknown_weights(data, tests)]
    return out


def _placeholders() -> list[re.Pattern]:
    """The lines of `kata new`'s README template that stand for text the author must write (the kata's
    file names, which `kata new` filled in, match anything)."""
    from kata.scaffold import README
    return [re.compile(".*".join(re.escape(part) for part in line.strip().split("{files}")) + "$")
            for line in README.splitlines() if re.match(r"(\d+\. )?<", line.strip())]


def static_problems(k: Kata) -> list[str]:
    out = toml_problems(k)
    readme = k.dir / "README.md"
    if not readme.exists():
        out.append("README.md is missing")
    else:
        text = readme.read_text()
        for sec in README_SECTIONS:
            if not re.search(rf"^{re.escape(sec)}", text, re.M):
                out.append(f"README.md has no '{sec}' section")
        if len(k.hints()) < 2:
            out.append("README.md needs at least two numbered hints, from a nudge to nearly the answer")
        marks = _placeholders()
        left = [line for line in text.splitlines() if any(m.match(line.strip()) for m in marks)]
        if left:
            out.append(f"README.md still holds {len(left)} line(s) of `kata new`'s placeholder text, such as "
                       f"{left[0].strip()!r}: write the kata's own")
    if not list(k.dir.glob("test_*.py")):
        out.append("no test_*.py in the kata folder")
    for f in k.files:
        if not (k.dir / f).exists():
            out.append(f"learner file {f} is missing from katas/{k.rel}")
        if not (k.solution_dir / f).exists():
            out.append(f"reference {f} is missing from solutions/{k.rel}")
    out += control_problems(k)
    return out


# ------------------------------------------------------------------------------------------ verdicts

def judge_stub(v: Verdict, rows: list[dict]) -> None:
    failed = [r for r in rows if r["outcome"] == "failed"]
    if not rows:
        v.problems.append("stub: no test ran")
    elif not failed:
        v.problems.append(f"stub: every test passed ({len(rows)}): the stub must fail (is it the solution?)")
    else:
        bad = [r for r in failed if any(w in r["message"] for w in BAD_STUB_WORDS)]
        if bad:
            v.problems.append(f"stub: must compile/import cleanly, but: {first_line(bad[0]['message'])}")
        elif not any("not implemented yet" in r["message"].lower() for r in failed):
            v.problems.append("stub: fails, but no failure says 'not implemented yet' "
                              f"(first: {first_line(failed[0]['message'])})")
        else:
            v.proven.append(f"stub fails ({len(failed)}/{len(rows)})")


def judge_reference(v: Verdict, rows: list[dict]) -> None:
    failed = [r for r in rows if r["outcome"] == "failed"]
    ran = [r for r in rows if r["outcome"] != "skipped"]
    skipped = [r for r in rows if r["outcome"] == "skipped"]
    if failed:
        v.problems.append(f"reference: {len(failed)} test(s) fail: {test_names(failed)}: "
                          f"{first_line(failed[0]['message'])}")
    elif not ran:
        v.problems.append("reference: no test ran here")
    else:
        v.proven.append(f"reference passes ({len(ran)})")
    if skipped:
        v.unverified.append(f"reference: {len(skipped)} test(s) skipped here ({first_line(skipped[0]['message'])})")


def judge_control(v: Verdict, name: str, rows: list[dict], select: str | None = None) -> None:
    """`select` set: only the tests it selects ran (e.g. the GPU tier on a GPU machine), so a control whose
    mistake only unselected tests catch, or a kata whose gates are all unselected, is a note, not a problem."""
    kind = Kata.control_kind(name)
    if select and kind == "naive" and not [r for r in rows if is_perf(r)]:
        v.notes.append(f"{name}: no performance gate among the '{select}' tests (its gates are proven by the "
                       "CPU check)")
        rows = [r for r in rows if r["outcome"] == "failed"]  # still: no selected correctness test may fail
        if rows:
            v.problems.append(f"{name}: a naive control must pass correctness, but {test_names(rows)} failed: "
                              f"{first_line(rows[0]['message'])}")
        return
    if select and kind != "naive":
        checks = [r for r in rows if not is_perf(r) and r["outcome"] != "skipped"]
        if checks and not any(r["outcome"] == "failed" for r in checks):
            v.notes.append(f"{name}: no '{select}' test catches it; the CPU check must")
            return
    correctness = [r for r in rows if not is_perf(r)]
    perf = [r for r in rows if is_perf(r)]
    ran = lambda rs: [r for r in rs if r["outcome"] != "skipped"]  # noqa: E731
    if kind == "naive":
        broken = [r for r in correctness if r["outcome"] == "failed"]
        if broken:
            v.problems.append(f"{name}: a naive control must pass correctness, but {test_names(broken)} failed: "
                              f"{first_line(broken[0]['message'])}")
        gates = ran(perf)
        passed = [r for r in gates if r["outcome"] == "passed"]
        if passed:
            v.problems.append(f"{name}: passes the performance gate {test_names(passed)}: the gate does not "
                              "separate slow from fast")
        if not perf:
            v.problems.append(f"{name}: the kata has a naive control but no @pytest.mark.perf test")
        elif not gates:
            v.unverified.append(f"{name}: its performance gates did not run here (GPU tier)")
        elif not broken and not passed:
            v.proven.append(f"{name} passes correctness, fails {len(gates)} gate(s)")
    else:
        checks = ran(correctness)
        failed = [r for r in checks if r["outcome"] == "failed"]
        skipped = len(correctness) - len(checks)
        if failed:
            v.proven.append(f"{name} fails ({first_line(failed[0]['message'])[:60]})")
        elif not checks:
            v.unverified.append(f"{name}: no correctness test ran here (GPU tier)")
        elif skipped:
            # The mistake may only show where the skipped tests run (e.g. a launch grid on a GPU).
            v.unverified.append(f"{name}: the {len(checks)} correctness tests that ran here pass; "
                                f"{skipped} skipped here (GPU tier) must catch it")
        else:
            v.problems.append(f"{name}: a wrong control must fail correctness, but all {len(checks)} "
                              "correctness tests passed: the tests miss this mistake")


# ------------------------------------------------------------------------------------------- driver

def clashing_modules(root: Path) -> dict[str, list[str]]:
    """Python files under katas/ that share a base name with one in another kata folder. pytest imports
    test files (and the helpers they import) by base name: two `test_attention.py` cannot be collected
    in one session, and two `helpers.py` would silently shadow each other."""
    seen: dict[str, list[str]] = {}
    for p in sorted((root / "katas").glob("*/*/*.py")):
        seen.setdefault(p.name, []).append(str(p.parent.relative_to(root / "katas")))
    return {name: dirs for name, dirs in seen.items() if len(set(dirs)) > 1 and name != "__init__.py"}


def judge_options(root: Path, katas: list[Kata]) -> list[str]:
    """pytest's options for checking as `kata grade` runs learner code: in kata.sandbox's worker, with
    what the worker should import before it is confined (what any of the session's katas needs)."""
    from kata.grade import preloads
    return ["--kata-judge=separate", *sorted({o for k in katas for o in preloads(root, k)})]



def run_plan(root: Path, plan: dict[str, list[Session]], parallel: int = 1, say=None) -> dict[str, list[dict]]:
    """Run every session of `plan` (a run's label -> its sessions) and return each run's rows. The untimed
    sessions go first, `parallel` at a time; then the timed ones (wall-clock tests), one after another, so
    nothing else runs beside them."""
    rows: dict[str, list[dict]] = {label: [] for label in plan}
    untimed = [(label, s) for label, ss in plan.items() for s in ss if not s.timed]
    timed = [(label, s) for label, ss in plan.items() for s in ss if s.timed]

    def one(item):
        label, s = item
        if say:
            say(label + (" (timed, alone)" if s.timed else ""))
        return run_session(root, s)

    with ThreadPoolExecutor(max(1, parallel)) as pool:
        for (label, _), got in zip(untimed, pool.map(one, untimed)):
            rows[label] += got
    for item in timed:
        rows[item[0]] += one(item)
    return rows


def check(root: Path, katas: list[Kata], workers: int = 0, quiet: bool = False,
          select: str | None = None, judge: str = "same", parallel: int = 1) -> list[Verdict]:
    """Prove `katas` honest. `select` (a marker expression such as "gpu") runs only the tests it selects,
    as `kata gpu-report` does on a GPU machine; each verdict keeps its rows for reports. `judge`:
    "separate" runs every implementation as `kata grade` does (kata.judging). `parallel`: how many
    untimed pytest sessions run at once (the timed ones always run alone)."""
    verdicts = {k.rel: Verdict(k, static_problems(k)) for k in katas}
    clashes = clashing_modules(root)
    for k in katas:
        learner = set(k.files)
        for name, dirs in clashes.items():
            if k.rel in dirs and name not in learner:
                others = ", ".join(d for d in dirs if d != k.rel)
                verdicts[k.rel].problems.append(
                    f"{name} has the same name as a file in {others}: pytest imports tests by base name, "
                    "so give test and helper files names unique to the kata (e.g. test_<kata>.py)")
    paths = [f"katas/{k.rel}" for k in katas]
    judged = judge_options(root, katas) if judge == "separate" else []

    # Every run: its label, its sessions, and which row set of which kata it fills.
    plan: dict[str, list[Session]] = {}
    owners: dict[str, dict[str, str]] = {}
    plan[f"stubs ({len(katas)} katas)"] = sessions(root, paths, judged, workers, select)
    owners[f"stubs ({len(katas)} katas)"] = {k.rel: "stub" for k in katas}
    plan["references (pytest --solutions)"] = sessions(root, paths, ["--solutions", *judged], workers, select)
    owners["references (pytest --solutions)"] = {k.rel: "reference" for k in katas}
    mapfiles: list[str] = []
    rounds = max((len(k.controls) for k in katas), default=0)
    for i in range(rounds):
        batch, folders = {}, {}
        for k in katas:
            c = list(k.controls)[i] if len(k.controls) > i else None
            if c is None or c not in controls_present(k):
                continue  # (a missing control is already a problem)
            try:
                folders[k.rel] = str(control_folder(k, c, root))
            except PatchError:
                continue  # (a patch that does not apply is already a problem)
            batch[k.rel] = c
        # A naive control is judged on its gates; any other only on correctness, so its perf tests do not run.
        for naive in (True, False):
            group = {rel: c for rel, c in batch.items() if (Kata.control_kind(c) == "naive") == naive}
            if not group:
                continue
            with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                json.dump({rel: folders[rel] for rel in group}, f)
                mapfiles.append(f.name)
            label = f"controls, round {i + 1} of {rounds} ({', '.join(sorted(set(group.values())))[:80]})"
            plan[label] = sessions(root, [f"katas/{rel}" for rel in group], [f"--impl-map={f.name}", *judged],
                                   workers, select, skip=None if naive else "perf")
            owners[label] = group

    t0 = time.monotonic()

    def say(what: str) -> None:
        if not quiet:
            print(f"kata check [{time.monotonic() - t0:4.0f} s]: {what}", flush=True)

    try:
        rows = run_plan(root, plan, parallel, say)
    finally:
        for m in mapfiles:
            os.unlink(m)
    say("done")
    for label, group in owners.items():
        by = by_kata(rows[label])
        for rel, key in group.items():
            v = verdicts[rel]
            v.rows[key] = by.get(rel, [])
            if key == "stub":
                judge_stub(v, v.rows[key])
            elif key == "reference":
                judge_reference(v, v.rows[key])
            else:
                judge_control(v, key, v.rows[key], select)
    return list(verdicts.values())


def print_verdicts(verdicts: list[Verdict]) -> None:
    for v in verdicts:
        mark = "ok  " if v.ok else "FAIL"
        print(f"{mark} {v.kata.rel}: " + "; ".join(v.proven))
        for p in v.problems:
            print(f"       problem: {p}")
        for u in v.unverified:
            print(f"       unverified here: {u}")
        for n in v.notes:
            print(f"       note: {n}")
    broken = [v for v in verdicts if not v.ok]
    n_unv = sum(1 for v in verdicts if v.unverified)
    print(f"\nkata check: {len(verdicts) - len(broken)} of {len(verdicts)} katas keep the contract"
          + (f"; {n_unv} with claims unverified on this machine" if n_unv else ""))
    if broken:
        print("broken: " + ", ".join(v.kata.rel for v in broken))


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="prove every kata honest: stub fails, reference passes, controls behave")
    p.add_argument("katas", nargs="*", help="modules or katas (path under katas/ or a unique part); default all")
    p.add_argument("-n", "--workers", type=int, default=0, help="pytest-xdist workers for the non-wall-clock tests")
    p.add_argument("--parallel", type=int, default=1,
                   help="untimed pytest sessions at once (default 1); timed tests always run alone")
    p.add_argument("--judge", choices=("same", "separate"), default="same",
                   help="separate: learner code in the sandboxed worker, as `kata grade` runs it (default: same, "
                        "as a learner's pytest runs it)")
    p.set_defaults(func=run)


def run(args) -> int:
    root = find_root()
    katas = resolve(root, args.katas)
    if not katas:
        raise KataError("no katas to check")
    t = time.monotonic()
    if args.parallel < 1:
        raise KataError(f"kata check: --parallel must be at least 1, got {args.parallel}")
    verdicts = check(root, katas, workers=args.workers, judge=args.judge, parallel=args.parallel)
    print_verdicts(verdicts)
    print(f"({time.monotonic() - t:.0f} s)")
    return 0 if all(v.ok for v in verdicts) else 1
