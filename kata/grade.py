"""`kata grade SUBMISSION [KATA ...]`: grade a learner's checkout with the instructor's tests only.

For each kata:
  1. A pristine tree is built from the instructor's checkout (the one `kata` runs in): the harness,
     pytest.ini, the root conftest.py and this kata's folder with its tests (hidden ones included).
     Never solutions/, never anything from the submission but:
  2. the learner files the kata names in kata.toml `files`, each a regular file (no symbolic links),
     read from SUBMISSION/katas/<kata>/ and written over the stubs. A missing file scores the kata 0,
     and so do files that are still the stubs (some tests pass for a stub: it builds, it imports).
  3. pytest runs there in a child process of its own session, with a clean environment (PYTHONPATH =
     the pristine tree only, no PYTEST_ADDOPTS), `-c` the instructor's pytest.ini, `-p no:cacheprovider`
     and a wall-clock limit. Each test already runs in a forked child (kata.isolation).
  4. The collected tests come back through a pipe before any test runs (kata.gradeplugin), the
     outcomes through --kata-report. A run that crashes or hangs scores every collected test 0, with
     the reason; the other katas are unaffected.
Only this process writes the results file: first at the start (every kata at 0, "not graded yet"),
then after each kata, each time whole (write and rename), so a valid file exists whatever happens.
"""
from __future__ import annotations

import itertools
import json
import re
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from kata.layout import Kata, KataError, find_root, resolve
from kata.points import GradingConfig, Planned, score_kata, zero_kata
from kata.report import read_report
from kata.results import FORMATS, KataResult, Results
from kata.signals import describe_signal
from kata.tree import add_harness, copy_tree

COLLECT_LIMIT = 300.0       # seconds for pytest to start and collect (instructor code only)
SLACK = 30.0                # added to the sum of the tests' own limits
MAX_FILE = 2 * 1024 * 1024  # a learner file larger than this is refused
NEVER_TAKEN = {"conftest.py", "pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini", "sitecustomize.py",
               "usercustomize.py", "kata.toml"}
_RUNNING: set[int] = set()  # sessions of the pytest runs in flight (killed if grading is stopped)
_STOPPING = threading.Event()
PENDING = "not graded: grading did not reach this kata (it stopped or is still running)"


# ------------------------------------------------------------------------------------ the submission

def locate_submission(path: Path) -> Path:
    """The learner's checkout: SUBMISSION itself, or its one sub-folder holding katas/ (an unpacked zip)."""
    if not path.exists():
        raise KataError(f"submission {path}: no such folder")
    if not path.is_dir():
        raise KataError(f"submission {path}: not a folder (expected the learner's checkout, with katas/ in it)")
    if (path / "katas").is_symlink():
        raise KataError(f"submission {path}: katas/ is a symbolic link; graders take only regular files")
    if (path / "katas").is_dir():
        return path
    inner = [d for d in sorted(path.iterdir()) if d.is_dir() and not d.is_symlink() and (d / "katas").is_dir()
             and not (d / "katas").is_symlink()]
    if len(inner) == 1:
        return inner[0]
    raise KataError(f"submission {path}: no katas/ folder in it (expected the learner's checkout)")


def take_learner_files(sub: Path, kata: Kata) -> tuple[dict[str, bytes], str]:
    """The kata's learner files from the submission, as bytes, or ({}, the reason none are taken)."""
    where = f"katas/{kata.rel}"
    for part in (sub / "katas" / kata.module, sub / "katas" / kata.rel):
        if part.is_symlink():
            return {}, f"REFUSED: {part.relative_to(sub)} is a symbolic link in the submission; not graded"
    files, missing = {}, []
    for name in kata.files:
        if name in NEVER_TAKEN or name.endswith(".pth"):
            return {}, f"not graded: kata.toml names {name} as a learner file, which a grader never takes"
        path = sub / "katas" / kata.rel / name
        if path.is_symlink():
            return {}, f"REFUSED: {where}/{name} is a symbolic link; submit the file itself"
        if not path.exists():
            missing.append(name)
            continue
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as e:
            return {}, f"REFUSED: {where}/{name} cannot be read: {e.strerror}"
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                return {}, f"REFUSED: {where}/{name} is not a regular file"
            if st.st_size > MAX_FILE:
                return {}, f"REFUSED: {where}/{name} is {st.st_size} bytes (the limit is {MAX_FILE})"
            files[name] = f.read()
    if missing:
        listed = ", ".join(f"{where}/{m}" for m in missing)
        return {}, f"MISSING FILE: {listed} is not in the submission, so this kata scores 0"
    return files, ""


def _is_stub(root: Path, kata: Kata, name: str, data: bytes) -> bool:
    """Is this learner file the instructor's stub, whitespace aside? Some tests pass for a stub by
    design (it compiles, it imports): an untouched kata must not earn them."""
    try:
        stub = (root / "katas" / kata.rel / name).read_bytes()
    except OSError:
        return False
    return b"".join(stub.split()) == b"".join(data.split())


def instructor_submission(root: Path, katas: list[Kata], which: str, dest: Path) -> Path:
    """A submission made of the instructor's own files, to prove the points: the references
    (`which` = "reference") or one control of each kata that has it (a patch applied, in a copy:
    kata.controls.folder). A kata without that control gets no files, so it scores 0."""
    from kata.controls import folder as control_folder

    for k in katas:
        if which == "reference":
            src = k.solution_dir
        elif which in k.controls:
            src = control_folder(k, which, root)
        else:
            continue
        d = dest / "katas" / k.rel
        d.mkdir(parents=True, exist_ok=True)
        for f in k.files:
            if (src / f).is_file():
                shutil.copy2(src / f, d / f)
    return dest


# ------------------------------------------------------------------------------------- the batch

def build_tree(root: Path, kata: Kata, dest: Path) -> None:
    """The instructor's checkout minus solutions/, the harness's own tests, docs and other katas."""
    def skip(rel: str) -> bool:
        top = rel.split("/")[0]
        if top in ("solutions", "tests", "docs"):
            return True
        if top == "katas":
            parts = rel.split("/")
            # keep loose files in katas/ and katas/<module>/, and the whole of this kata's folder
            if len(parts) == 2 and (root / rel).is_dir():
                return parts[1] != kata.module
            if len(parts) == 3 and (root / rel).is_dir():
                return rel != f"katas/{kata.rel}"
        return False

    copy_tree(root, dest, skip)
    add_harness(root, dest)


@dataclass
class Batch:
    planned: list[Planned] | None  # None: collection never reported
    rows: list[dict]
    problem: str = ""


def _grading_env(tree: Path, fd: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST_", "KATA_"))}
    if os.environ.get("KATA_FORCE_CPU"):
        env["KATA_FORCE_CPU"] = os.environ["KATA_FORCE_CPU"]
    env.update(PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1", KATA_ROOT=str(tree),
               KATA_CACHE=str(tree / ".kata_cache"), KATA_GRADE_FD=str(fd))
    return env


def _kill_session(sid: int) -> None:
    """SIGKILL every process of the session pytest leads (its forked test children have process
    groups of their own, but stay in its session)."""
    pids = {sid}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == sid:
                pids.add(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class Judging:
    """How learner code is run (kata.judging): `separate` (a sandboxed worker, the default) or `same`;
    `hide`: folders the worker must not see; `secret`: the instructor's secret seed, or None."""
    judge: str = "separate"
    hide: tuple = ()
    secret: int | None = None
    uid_base: int = 64000


_UIDS = itertools.count((os.getpid() * 37) % 1000)


def judging_options(j: Judging, tree: Path, kata: Kata) -> list[str]:
    """pytest's options for one kata's run."""
    out = []
    if j.secret is not None:
        out += [f"--kata-secret-seed={j.secret}"]
    if j.judge != "separate":
        return out
    from kata.sandbox import free_uid
    out += ["--kata-judge=separate", f"--kata-sandbox-uid={free_uid(j.uid_base + next(_UIDS))}"]
    for path in j.hide:
        out += [f"--kata-hide={path}"]
    return out + preloads(tree, kata)


def preloads(tree: Path, kata: Kata) -> list[str]:
    """What the sandbox's zygote imports before it is confined, for this kata: only what its tests and
    files use (a zygote and test children that hold torch fork and exit more slowly in every test)."""
    out = []
    folder = tree / "katas" / kata.rel
    text = "\n".join(p.read_text(errors="replace") for p in [*folder.glob("test*.py"), *folder.glob("support/*.py"),
                                                             *(folder / f for f in kata.files)]
                    if p.suffix == ".py" and p.is_file())
    if kata.language == "triton" or "tritonkit" in text or "OpCensus" in text:  # the worker tapes calls with it
        out += ["--kata-preload=kata.tritonkit"]
    if re.search(r"^(import torch|from torch)", text, re.M):  # imported at the top: once, before the zygote
        out += ["--kata-preload=torch"]
    if re.search(r"torch\.compile\(|^\s*(import|from) torch\._dynamo|torch\.library\.|opcheck\(", text, re.M):  # ~2 s a worker otherwise
        out += ["--kata-preload=torch._dynamo"]
    if kata.language in ("c", "cpp", "asm", "cuda"):
        out += ["--kata-preload=native.ffi", "--kata-preload=_cffi_backend"]
    # The harness modules a probe (kata.probe) imports: the worker cannot read the instructor's checkout
    # once it is confined, so they are imported before.
    probes = "\n".join(p.read_text(errors="replace") for p in folder.glob("support/*.py"))
    for package, names in re.findall(r"^\s*from ((?:kata|native)(?:\.\w+)*) import ([\w, ]+)", probes, re.M):
        out += [f"--kata-preload={package}"] + [f"--kata-preload={package}.{n.strip()}" for n in names.split(",")
                                                 if package in ("kata", "native") and n.strip()]
    out += [f"--kata-preload={m}" for m in re.findall(r"^\s*import ((?:kata|native)\.[\w.]+)", probes, re.M)]
    return list(dict.fromkeys(out))


def run_batch(tree: Path, kata: Kata, time_limit: float | None, judging: Judging = Judging("same")) -> Batch:
    report, log = tree / ".kata-report.json", tree / ".pytest-output.txt"
    rfd, wfd = os.pipe()
    cmd = [sys.executable, "-m", "pytest", f"katas/{kata.rel}", "-p", "kata.gradeplugin", "-p", "no:cacheprovider",
           "-c", str(tree / "pytest.ini"), "--rootdir", str(tree), "--confcutdir", str(tree),
           f"--kata-report={report}", "-q", "--tb=short", *judging_options(judging, tree, kata)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=tree, env=_grading_env(tree, wfd), stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, pass_fds=(wfd,), start_new_session=True)
    _RUNNING.add(proc.pid)
    os.close(wfd)
    chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: _drain(rfd, chunks), daemon=True)
    reader.start()
    start = time.monotonic()
    deadline, limited, timed_out, budget = start + COLLECT_LIMIT, False, None, COLLECT_LIMIT
    try:
        while proc.poll() is None:
            if _STOPPING.is_set():
                return Batch(None, [], "not graded: grading was stopped")
            if not limited and not reader.is_alive():
                limited = True
                budget = time_limit or (SLACK + sum(r.get("time_limit", 60.0) for r in _parse(chunks) or []))
                deadline = time.monotonic() + budget
            if time.monotonic() > deadline:
                timed_out = time.monotonic() - start
                break
            time.sleep(0.05)
    finally:
        _kill_session(proc.pid)  # a time-out, or anything learner code left running
        proc.wait()
        _RUNNING.discard(proc.pid)
    reader.join(5)
    rows = _parse(chunks)
    planned = None if rows is None else [
        Planned(r["nodeid"], r["function"], bool(r["perf"]), r.get("weight"), r.get("skip")) for r in rows]
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    rc = proc.returncode
    if timed_out:
        what = "collecting its tests took" if not limited else "its tests ran"
        return Batch(planned, [], f"TIME-OUT: this kata's test run was stopped: {what} longer than {budget:.0f} s. "
                                  "Each test has a limit of its own, so something hung the test run itself "
                                  "(a stopped or deadlocked process?). Every test of the kata scores 0.")
    if rc is not None and rc < 0:
        return Batch(planned, [], f"CRASH: this kata's test run died with {describe_signal(-rc)}; "
                                  "every test of the kata scores 0.")
    if rc not in (0, 1, 5):
        return Batch(planned, [], f"the tests could not run (pytest exit status {rc}); every test scores 0.\n{tail}")
    try:
        results = read_report(report)
    except (OSError, ValueError):
        return Batch(planned, [], f"CRASH: this kata's test run ended (status {rc}) without a report; "
                                  "every test of the kata scores 0.")
    return Batch(planned, results, "" if planned else "no tests were collected for this kata")


def _drain(fd: int, chunks: list[bytes]) -> None:
    with os.fdopen(fd, "rb") as f:
        while data := f.read(65536):
            chunks.append(data)


def _parse(chunks: list[bytes]) -> list[dict] | None:
    try:
        rows = json.loads(b"".join(chunks))
        return rows if isinstance(rows, list) else None
    except ValueError:
        return None


# ----------------------------------------------------------------------------------------- grading

def grade_kata(root: Path, sub: Path, kata: Kata, work: Path, time_limit: float | None,
               judging: Judging = Judging("same")) -> KataResult:
    if _STOPPING.is_set():
        return zero_kata(kata, PENDING)
    try:
        cfg = GradingConfig.of(kata)
    except KataError as e:
        return zero_kata(kata, f"not graded: {e}")
    files, problem = take_learner_files(sub, kata)
    if problem:
        return zero_kata(kata, problem)
    if all(_is_stub(root, kata, name, data) for name, data in files.items()):
        listed = ", ".join(f"katas/{kata.rel}/{name}" for name in files)
        return zero_kata(kata, f"NOT ATTEMPTED: {listed} is still the stub as handed out, so this kata "
                               "scores 0 (it was not run)")
    tree = work / kata.rel.replace("/", "__")
    build_tree(root, kata, tree)
    for name, data in files.items():
        (tree / "katas" / kata.rel / name).write_bytes(data)
    try:
        batch = run_batch(tree, kata, time_limit, judging)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    if batch.problem or not batch.planned:
        return zero_kata(kata, batch.problem or "no tests were collected", batch.planned, cfg)
    wanted = {p.nodeid for p in batch.planned}
    rows = {r["nodeid"]: r for r in batch.rows if r.get("nodeid") in wanted}  # only tests the grader expects
    return score_kata(kata, cfg, batch.planned, rows)


def grade(root: Path, sub: Path, katas: list[Kata], *, time_limit: float | None = None, jobs: int = 1,
          on_update=lambda results: None, log=lambda line: None, judge: str = "separate",
          secret: int | None = None) -> Results:
    start = time.monotonic()
    done: dict[str, KataResult] = {}
    _STOPPING.clear()

    def snapshot(complete: bool, note: str = "") -> Results:
        return Results([done.get(k.rel) or zero_kata(k, PENDING) for k in katas],
                       time.monotonic() - start, complete, note)

    on_update(snapshot(False, "grading in progress (or stopped before it finished)"))
    work = tempfile.TemporaryDirectory(prefix="kata-grade-", ignore_cleanup_errors=True)
    pool = ThreadPoolExecutor(max(1, jobs))
    try:
        judging = Judging(judge, (str(root), str(sub.resolve())), secret)
        futures = {pool.submit(grade_kata, root, sub, k, Path(work.name), time_limit, judging): k for k in katas}
        for fut in as_completed(futures):
            k = futures[fut]
            try:
                done[k.rel] = fut.result()
            except Exception as e:  # noqa: BLE001 - a grader bug on one kata must not lose the others
                done[k.rel] = zero_kata(k, f"not graded: the grader failed on this kata: {type(e).__name__}: {e}")
            log(f"  {k.rel}: {done[k.rel].points:g} / {done[k.rel].max_points:g}  {done[k.rel].summary()}")
            on_update(snapshot(False, "grading in progress (or stopped before it finished)"))
    except BaseException as e:
        _STOPPING.set()
        on_update(snapshot(False, f"grading stopped: {type(e).__name__}: {e}"))
        for sid in list(_RUNNING):
            _kill_session(sid)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        work.cleanup()
    final = snapshot(True)
    on_update(final)
    return final


# ----------------------------------------------------------------------------------------- the CLI

class _Writer:
    """Writes the results file whole each time (a temporary file renamed over it)."""

    def __init__(self, out: Path | None, fmt: str):
        self.out, self.fmt = out, fmt

    def __call__(self, results: Results) -> None:
        if self.out is None:
            return
        tmp = self.out.with_name(f".{self.out.name}.{os.getpid()}.tmp")
        tmp.write_text(results.render(self.fmt))
        os.replace(tmp, self.out)


def _check_out(out: str | None, root: Path, submission: Path) -> Path | None:
    if out is None:
        return None
    p = Path(out).resolve()
    for guard, what in ((submission.resolve(), "the submission"), (root / "katas", "katas/"),
                        (root / "solutions", "solutions/")):
        if p == guard or guard in p.parents:
            raise KataError(f"--out {out}: that is inside {what}; write the results somewhere else")
    if p.is_dir():
        raise KataError(f"--out {out}: is a folder; name a file")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise KataError(f"--out {out}: cannot create its folder: {e.strerror}") from None
    return p


def _env_seed() -> int | None:
    value = os.environ.get("KATA_SECRET_SEED", "").strip()
    if not value:
        return None
    try:
        return int(value, 0)
    except ValueError:
        raise KataError(f"KATA_SECRET_SEED should be a whole number, not {value!r}") from None


def _stop(signum, frame):
    raise SystemExit(128 + signum)  # the results file is then rewritten, saying grading stopped


def add_parser(sub) -> None:
    p = sub.add_parser("grade", help="grade a learner's checkout with the instructor's tests "
                                     "(Gradescope, PrairieLearn, JUnit or JSON results)")
    p.add_argument("submission", nargs="?", help="the learner's checkout (a folder holding katas/)")
    p.add_argument("katas", nargs="*", help="katas or modules to grade (default: all)")
    p.add_argument("--format", choices=FORMATS, default="json", help="results format (default json)")
    p.add_argument("--out", metavar="FILE", help="write the results here (default: standard output)")
    p.add_argument("--time-limit", type=float, metavar="S",
                   help="stop a kata's tests after S seconds (default: the sum of its tests' limits + 30 s)")
    p.add_argument("--as", dest="as_", metavar="reference|CONTROL",
                   help="instead of a submission, grade the instructor's references or one control of each "
                        "kata (e.g. wrong_tail; a patch is applied in a copy): proves the points")
    p.add_argument("--judge", choices=("separate", "same"), default="separate",
                   help="separate (default): learner code runs in a sandboxed process of its own, the tests "
                        "apart from it; same: beside the tests, as `pytest` runs it (docs/grading.md)")
    p.add_argument("--secret-seed", type=int, metavar="N", default=_env_seed(),
                   help="mix N into every seed the tests set, so graded inputs are new to the learner "
                        "(default: $KATA_SECRET_SEED, else none)")
    p.add_argument("-j", "--jobs", type=int, default=1,
                   help="grade this many katas at once (default 1; more makes wall-clock gates noisy)")
    p.set_defaults(func=run)


def run(args) -> int:
    root = find_root()
    if args.as_ and args.submission and not Path(args.submission).is_dir():
        # `kata grade --as reference 12_triton`: the first name is a kata, not a submission
        args.katas, args.submission = [args.submission, *args.katas], None
    if bool(args.submission) == bool(args.as_):
        raise KataError("name a submission, or --as reference|CONTROL (not both)")
    katas = resolve(root, args.katas)
    if not katas:
        raise KataError("no katas to grade")
    if args.as_:
        with tempfile.TemporaryDirectory(prefix="kata-as-") as tmp:
            args.submission, args.as_ = str(instructor_submission(root, katas, args.as_, Path(tmp))), None
            return run(args)
    submission = Path(args.submission)
    out = _check_out(args.out, root, submission)
    write = _Writer(out, args.format)
    say = (lambda line: print(line, flush=True)) if out else (lambda line: print(line, file=sys.stderr, flush=True))
    try:
        sub = locate_submission(submission)
    except KataError as e:
        write(Results([zero_kata(k, f"not graded: {e}") for k in katas], note=f"not graded: {e}"))
        raise
    signal.signal(signal.SIGTERM, _stop)
    say(f"kata grade: {len(katas)} kata(s) from {sub}")
    try:
        results = grade(root, sub, katas, time_limit=args.time_limit, jobs=args.jobs, on_update=write, log=say,
                        judge=args.judge, secret=args.secret_seed)
    except Exception as e:  # noqa: BLE001 - the file already says what was graded; say what broke
        print(f"kata grade: grading failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    if out is None:
        sys.stdout.write(results.render(args.format))
        print(results.summary(), file=sys.stderr)
    else:
        print(results.summary())
        print(f"wrote {args.format} results to {out}")
    return 0
