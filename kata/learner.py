"""The learner's commands: progress, next, hint, watch, diff.

A kata's state, for the learner:
  not started   its files are the stubs as released (.kata-stubs.json, written by `kata release`; in
                an instructor's checkout, git HEAD's version when that is still a stub), or its tests
                fail only with "not implemented yet"
  failing       a correctness test fails
  passing       every correctness test that ran passes; a performance gate fails (or none could run here)
  fast          every test that ran passes, performance gates included (GPU-tier gates skipped on a
                CPU are named in the note, never counted as passed)
  not run here  every test was skipped on this machine (a GPU-only kata without a GPU)
Results of the last run of each kata are cached in .kata_cache/learner/, keyed by the hashes of its
learner files, tests and kata.toml, so `kata progress` re-runs only what changed.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from kata.report import by_kata, first_line, is_perf, run_pytest
from kata.layout import Kata, KataError, all_katas, find_root, resolve
from kata.term import Term
from kata.tree import MANIFEST

STUB_MARKERS = (b"NotImplementedError", b"KATA_TODO", b"kata_todo")
LABELS = {"not started": ("·", ".", "dim"), "failing": ("✗", "x", "red"), "passing": ("✓", "+", "cyan"),
          "fast": ("★", "*", "green"), "not run here": ("–", "-", "yellow"), "changed": ("?", "?", "yellow")}


# --------------------------------------------------------------------------------------------- state

def cache_dir(root: Path) -> Path:
    env = os.environ.get("KATA_CACHE")
    return (Path(env) if env else root / ".kata_cache") / "learner"


def _read_json(path: Path, default):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return default  # caches are disposable: a broken one is simply rebuilt


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)


def fingerprint(k: Kata) -> str:
    h = hashlib.sha256()
    for p in [*(k.dir / f for f in k.files), k.dir / "kata.toml", *sorted(k.dir.glob("test_*.py"))]:
        h.update(p.name.encode() + b"\0")
        h.update(p.read_bytes() if p.is_file() else b"<missing>")
    return h.hexdigest()


def _manifest(root: Path) -> dict:
    path = root / MANIFEST
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        assert isinstance(data, dict)
        return data
    except (ValueError, AssertionError):
        raise KataError(f"{MANIFEST}: not valid JSON; restore it from your release "
                        "(it lists the stubs' hashes)") from None


def untouched(root: Path, k: Kata, manifest: dict) -> bool | None:
    """Are the learner files still the stubs? None when there is nothing to compare with."""
    if k.rel in manifest:
        want = manifest[k.rel]
        return all((k.dir / f).is_file() and hashlib.sha256((k.dir / f).read_bytes()).hexdigest() == want.get(f)
                   for f in k.files)
    for f in k.files:
        rel = f"katas/{k.rel}/{f}"
        try:
            head = subprocess.run(["git", "-C", str(root), "show", f"HEAD:{rel}"], capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if head.returncode != 0 or not any(m in head.stdout for m in STUB_MARKERS):
            return None  # untracked, no git, or HEAD holds the learner's own work: let the tests decide
        if not (k.dir / f).is_file() or (k.dir / f).read_bytes() != head.stdout:
            return False
    return True


@dataclass
class Status:
    kata: Kata
    state: str
    passed: int = 0
    failed: int = 0
    total: int = 0
    note: str = ""

    @property
    def solved(self) -> bool:
        return self.state in ("passing", "fast")


def classify(k: Kata, rows: list[dict]) -> Status:
    failed = [r for r in rows if r["outcome"] == "failed"]
    passed = [r for r in rows if r["outcome"] == "passed"]
    skipped = [r for r in rows if r["outcome"] == "skipped"]
    st = Status(k, "failing", len(passed), len(failed), len(rows))
    corr_failed = [r for r in failed if not is_perf(r)]
    if not rows:
        st.note = "no test ran (a broken test file?)"
    elif not passed and not failed:
        st.state, st.note = "not run here", first_line(skipped[0]["message"])[:70]
    elif not passed and all("not implemented yet" in r["message"].lower() for r in failed):
        st.state = "not started"
    elif corr_failed:
        st.note = f"{len(failed)} of {len(rows)} tests fail"
    elif failed:
        st.state, st.note = "passing", f"{len(failed)} performance gate(s) to go"
    elif any(is_perf(r) for r in rows) and not any(is_perf(r) for r in passed):
        st.state, st.note = "passing", "its performance gates did not run here (GPU tier)"
    else:
        gpu = sum(is_perf(r) for r in skipped)
        st.state, st.note = "fast", f"{gpu} GPU-tier gate(s) not run here" if gpu else ""
    return st


def _cache_file(root: Path, k: Kata) -> Path:
    return cache_dir(root) / "results" / (k.rel.replace("/", "__") + ".json")


def save_run(root: Path, k: Kata, rows: list[dict], fp: str | None = None) -> None:
    _write_json(_cache_file(root, k), {"fingerprint": fp or fingerprint(k), "when": time.time(), "rows": rows})


def cached(root: Path, k: Kata) -> list[dict] | None:
    data = _read_json(_cache_file(root, k), {})
    return data.get("rows") if isinstance(data, dict) and data.get("fingerprint") == fingerprint(k) else None


def batches(katas: list[Kata]) -> list[list[Kata]]:
    """Split katas into pytest sessions in which no two test files share a name (pytest's default
    import mode refuses two test_vector_add.py in one session)."""
    out: list[tuple[set, list[Kata]]] = []
    for k in katas:
        names = {p.name for p in k.dir.glob("test_*.py")}
        for seen, group in out:
            if not names & seen:
                seen |= names
                group.append(k)
                break
        else:
            out.append((names, [k]))
    return [g for _, g in out]


def statuses(root: Path, katas: list[Kata], run: bool = True, say=lambda line: None) -> list[Status]:
    manifest = _manifest(root)
    found: dict[str, Status] = {}
    stale = []
    for k in katas:
        if untouched(root, k, manifest):
            found[k.rel] = Status(k, "not started")
        elif (rows := cached(root, k)) is not None:
            found[k.rel] = classify(k, rows)
        else:
            stale.append(k)
    if stale and run:
        say(f"running the tests of {len(stale)} kata(s) changed since their last run ...")
        for group in batches(stale):
            fps = {k.rel: fingerprint(k) for k in group}
            for k, rows, problem in _run_group(root, group):
                if problem:
                    found[k.rel] = Status(k, "failing", note=problem)
                    continue
                save_run(root, k, rows, fps[k.rel])
                found[k.rel] = classify(k, rows)
    for k in stale:
        found.setdefault(k.rel, Status(k, "changed", note="changed since its last run (not run now)"))
    return [found[k.rel] for k in katas]


def _run_group(root: Path, group: list[Kata]):
    """(kata, rows, problem) for each kata of one pytest session; a session that cannot run (a test file
    that does not import) is retried kata by kata, so one broken kata does not hide the others."""
    try:
        by = by_kata(run_pytest(root, [f"katas/{k.rel}" for k in group], [], 0))
        return [(k, by.get(k.rel, []), "") for k in group]
    except KataError:
        if len(group) == 1:
            k = group[0]
            return [(k, [], f"its tests do not run (a test file does not import?): see `pytest katas/{k.rel}`")]
        return [item for k in group for item in _run_group(root, [k])]


def run_visible(root: Path, k: Kata) -> tuple[int, Status]:
    """Run one kata's tests with pytest's output on the learner's terminal; cache and classify."""
    fp = fingerprint(k)
    with tempfile.TemporaryDirectory(prefix="kata-run-") as tmp:
        report = Path(tmp) / "report.json"
        rc = subprocess.run([sys.executable, "-m", "pytest", f"katas/{k.rel}", "-q", "-p", "no:cacheprovider",
                             f"--kata-report={report}"], cwd=root).returncode
        rows = _read_json(report, [])
    if rc in (0, 1, 5) and isinstance(rows, list):
        save_run(root, k, rows, fp)
    return rc, classify(k, rows if isinstance(rows, list) else [])


def one_kata(root: Path, name: str) -> Kata:
    hits = resolve(root, [name])
    if len(hits) != 1:
        raise KataError(f"'{name}' names {len(hits)} katas (a module?); name one kata, e.g. {hits[0].rel}")
    return hits[0]


# ------------------------------------------------------------------------------------------ progress

def _line(t: Term, s: Status, width: int) -> str:
    fancy, plain, color = LABELS[s.state]
    title = s.kata.title if len(s.kata.title) <= 38 else s.kata.title[:37] + t.sym("…", ">")
    note = f"  {t.c(s.note, 'dim')}" if s.note else ""
    mark, state = t.c(t.sym(fancy, plain), color), t.c(f"{s.state:<12}", color)
    return f"  {mark} {s.kata.name:<{width}} {title:<38} {state}{note}".rstrip()


def show_progress(t: Term, sts: list[Status]) -> None:
    width = max(len(s.kata.name) for s in sts)
    modules: dict[str, list[Status]] = {}
    for s in sts:
        modules.setdefault(s.kata.module, []).append(s)
    mwidth = max(len(m) for m in modules)
    for mod, group in modules.items():
        fast = sum(s.state == "fast" for s in group)
        passing = sum(s.state == "passing" for s in group)
        t.print(f"{t.c(f'{mod:<{mwidth}}', 'bold')}  {t.bar(fast, passing, len(group), 20)}  "
                f"{fast + passing} of {len(group)}")
        for s in group:
            t.print(_line(t, s, width))
    fast = sum(s.state == "fast" for s in sts)
    passing = sum(s.state == "passing" for s in sts)
    started = sum(s.state not in ("not started", "not run here") for s in sts)
    pct = round(100 * (fast + 0.5 * passing) / len(sts))
    t.print("")
    t.print(f"{t.c('overall', 'bold')}  {t.bar(fast, passing, len(sts), 40)}  {pct}%")
    t.print(f"  {fast + passing} of {len(sts)} katas pass ({fast} fast), {started} started   "
            f"{t.c(t.sym('█', '#'), 'green')} fast  {t.c(t.sym('▓', '='), 'cyan')} passing  "
            f"{t.c(t.sym('░', '.'), 'dim')} to do")
    todo = [s for s in sts if not _done(s)]
    if todo:
        t.print(f"  next: {todo[0].kata.rel} ({todo[0].kata.title}): `kata next` runs it")


def run_progress(args) -> int:
    root = find_root()
    katas = resolve(root, args.katas)
    if not katas:
        raise KataError("no katas here")
    t = Term()
    sts = statuses(root, katas, run=not args.no_run, say=lambda line: print(line, file=sys.stderr, flush=True))
    show_progress(t, sts)
    return 0


# --------------------------------------------------------------------------------------------- next

def _done(s: Status) -> bool:
    return s.solved or s.state == "not run here"


def run_next(args) -> int:
    root = find_root()
    t = Term()
    manifest = _manifest(root)
    for k in all_katas(root):
        if not untouched(root, k, manifest) and (rows := cached(root, k)) is not None:
            if _done(classify(k, rows)):
                continue
        files = ", ".join(f"katas/{k.rel}/{f}" for f in k.files)
        t.print(t.c(f"next: {k.rel}: {k.title}", "bold"))
        t.print(f"  read katas/{k.rel}/README.md, edit {files}\n")
        rc, st = run_visible(root, k)
        if _done(st):
            t.print(t.c(f"\n{k.rel}: {st.state}; moving on.\n", "green"))
            continue
        t.print(f"\n{k.rel}: {st.state}{f' ({st.note})' if st.note else ''}. "
                f"Stuck? `kata hint {k.name}`. Re-run on save: `kata watch {k.name}`.")
        return rc
    t.print(t.c("Every kata passes. `kata progress` shows which are fast too.", "green"))
    return 0


# --------------------------------------------------------------------------------------------- hint

def run_hint(args) -> int:
    root = find_root()
    k = one_kata(root, args.kata)
    t = Term()
    path = cache_dir(root) / "hints.json"
    state = _read_json(path, {})
    state = state if isinstance(state, dict) else {}
    if args.reset:
        state.pop(k.rel, None)
        _write_json(path, state)
        t.print(f"hints for {k.rel} reset: `kata hint {args.kata}` shows hint 1 again")
        return 0
    try:
        hints = k.hints()
    except OSError:
        hints = []
    if not hints:
        t.print(f"{k.rel} has no hints in its README.")
        return 0
    shown = int(state.get(k.rel, 0)) if str(state.get(k.rel, 0)).isdigit() else 0
    if shown >= len(hints):
        t.print(f"No more hints for {k.rel}: all {len(hints)} shown. The last one was:\n")
        t.print(_wrap(hints[-1]))
        t.print(f"\n(`kata hint {args.kata} --reset` starts again from hint 1)")
        return 0
    state[k.rel] = shown + 1
    _write_json(path, state)
    t.print(t.c(f"Hint {shown + 1} of {len(hints)}", "bold") + f" · {k.rel} ({k.title})\n")
    t.print(_wrap(hints[shown]))
    t.print("\n" + (f"(`kata hint {args.kata}` again for the next one)" if shown + 1 < len(hints)
                    else "That was the last hint."))
    return 0


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=96, initial_indent="  ", subsequent_indent="  ")


# --------------------------------------------------------------------------------------------- diff

def run_diff(args) -> int:
    root = find_root()
    k = one_kata(root, args.kata)
    t = Term()
    st = statuses(root, [k], say=lambda line: print(line, file=sys.stderr, flush=True))[0]
    if not st.solved:
        why = f" ({st.note})" if st.note else ""
        print(f"kata diff: {k.rel} does not pass yet: {st.state}{why}. The reference is shown only once "
              "its tests pass.", file=sys.stderr)
        return 1
    if not k.solution_dir.is_dir():
        print(f"kata diff: no reference for {k.rel} in this copy (a classroom release ships without solutions/)",
              file=sys.stderr)
        return 1
    t.print(t.c(f"{k.rel} passes ({st.state}). Your file against the reference:", "bold") + "   "
            + t.c("- yours", "red") + "   " + t.c("+ reference", "green"))
    for f in k.files:
        mine, ref = k.dir / f, k.solution_dir / f
        if not ref.is_file():
            t.print(f"  (no reference for {f})")
            continue
        lines = list(difflib.unified_diff(mine.read_text(errors="replace").splitlines(),
                                          ref.read_text(errors="replace").splitlines(),
                                          f"yours/{f}", f"reference/{f}", lineterm=""))
        if not lines:
            t.print(f"  {f}: identical to the reference")
        for line in lines:
            color = ("bold",) if line.startswith(("---", "+++")) else ("cyan",) if line.startswith("@@") else \
                ("red",) if line.startswith("-") else ("green",) if line.startswith("+") else ()
            t.print(t.c(line, *color))
    return 0


# -------------------------------------------------------------------------------------------- watch

def _stamp(paths: list[Path]) -> tuple:
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), None, None))
    return tuple(out)


def run_watch(args) -> int:
    root = find_root()
    t = Term()
    if args.kata:
        k = one_kata(root, args.kata)
    else:
        todo = [s for s in statuses(root, all_katas(root), run=False) if not _done(s)]
        if not todo:
            t.print("Every kata passes: name one to watch (kata watch KATA).")
            return 0
        k = todo[0].kata
    watched = [k.dir / f for f in k.files] + sorted(k.dir.glob("test_*.py"))
    runs = 0
    while True:
        stamp = _stamp(watched)
        t.clear()
        t.print(t.c(f"kata watch: {k.rel}", "bold") + f" · run {runs + 1} · {time.strftime('%H:%M:%S')}")
        rc, st = run_visible(root, k)
        runs += 1
        fancy, plain, color = LABELS[st.state]
        note = f"  {st.note}" if st.note else ""
        t.print(t.c(f"\n{t.sym(fancy, plain)} {k.rel}: {st.state}", color, "bold") + note)
        if args.max_runs and runs >= args.max_runs:
            return 0 if st.solved else 1
        t.print(f"waiting for changes to {', '.join(p.name for p in watched[:len(k.files)])} (Ctrl-C stops) ...")
        while _stamp(watched) == stamp:
            time.sleep(args.interval)
        time.sleep(min(args.interval, 0.3))  # let the editor finish writing


# ---------------------------------------------------------------------------------------------- CLI

def add_parser(sub) -> None:
    p = sub.add_parser("progress",
                       help="where you are: per module and kata, not started / failing / passing / fast")
    p.add_argument("katas", nargs="*", help="modules or katas (default all)")
    p.add_argument("--no-run", action="store_true", help="only what the last runs found; run nothing")
    p.set_defaults(func=run_progress)

    p = sub.add_parser("next", help="run the first kata that does not pass yet")
    p.set_defaults(func=run_next)

    p = sub.add_parser("hint", help="the next hint of a kata's README, one more each time")
    p.add_argument("kata", help="the kata: its path under katas/ or a unique part of it")
    p.add_argument("--reset", action="store_true", help="start again from the first hint")
    p.set_defaults(func=run_hint)

    p = sub.add_parser("watch", help="re-run a kata's tests each time you save its file")
    p.add_argument("kata", nargs="?", help="the kata (default: the first that does not pass)")
    p.add_argument("--interval", type=float, default=0.5, help="seconds between checks for changes (default 0.5)")
    p.add_argument("--max-runs", type=int, default=0, help="stop after this many runs (default: until Ctrl-C)")
    p.set_defaults(func=run_watch)

    p = sub.add_parser("diff", help="your file against the reference, once the kata passes")
    p.add_argument("kata", help="the kata: its path under katas/ or a unique part of it")
    p.set_defaults(func=run_diff)
