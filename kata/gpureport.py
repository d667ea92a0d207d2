"""`kata gpu-report`: prove every GPU-tier claim of `kata check` on a GPU machine, and write one table.

On a CPU, `kata check` lists what only a GPU can settle as "unverified here": references' GPU tests,
naive controls' GPU gates, wrong controls that only GPU tests catch. On a CUDA machine this command
runs the same honesty check restricted to the tests marked `gpu` (the CPU tier is proven by CI), for
every kata that has them, and writes:

    <out>/gpu_report.md     one row per GPU performance gate: the reference's and the naive control's
                            figures (kata.record) and outcomes, plus every kata's verdict
    <out>/gpu_state.json    what is done so far

Device calls are time-limited, so the work goes in chunks (a few katas at a time) and the command stops
before its --budget runs out: run the same command again (with the state file in place) and it resumes
where it stopped. Each kata's entry keeps a fingerprint of its files (katas/<kata> and solutions/<kata>;
their code, not their prose: see fingerprint) and the GPU it ran on: a kata whose code changed since is
run again, so a state kept in the tree (`--out docs/gpu-report`, committed) carries proof from one device
session to the next without going stale. Exit status: 0 when every kata is done and keeps the contract,
1 when one breaks it, 3 when it stopped early to resume later.

`kata gpu-report --status` needs no GPU: it compares the saved fingerprints with the files now, rewrites
gpu_report.md so that each kata says whether its row still holds (and which GPU katas have none yet), and
prints what a GPU session has left to run (exit status 0 when nothing, 3 when some, 1 when a saved row
breaks the contract).
"""
from __future__ import annotations

import ast
import hashlib
import json
import re
import time
from pathlib import Path

from kata.check import check
from kata.gpu import has_gpu
from kata.layout import KataError, find_root, resolve

CHUNK = 5  # katas per pytest round by default: a round's work is saved only when the round ends


def gpu_katas(root: Path, names: list[str]):
    return [k for k in resolve(root, names)
            if any(re.search(r"mark\.gpu\b", t.read_text()) for t in k.dir.glob("test_*.py"))]


def fingerprint(root: Path, rel: str) -> str:
    """A hash of what decides the kata's verdicts: the files of its folder (tests, stub, controls,
    support) and of its reference solution. Prose does not count, so that a corrected sentence does not
    cost a GPU session: Markdown files are left out, Python files count by their syntax tree without
    docstrings (comments are not in it), and a control kept as a patch counts by the files it makes
    (a patch re-ported after a reference's docstring changed is the same control). Everything else
    counts byte for byte."""
    h = hashlib.sha256()
    solution = root / "solutions" / rel
    for top in ("katas", "solutions"):
        base = root / top / rel
        for f in sorted(base.rglob("*")) if base.is_dir() else []:
            if f.is_file() and "__pycache__" not in f.parts and f.suffix not in (".pyc", ".md"):
                h.update(f"{top}/{f.relative_to(base).as_posix()}\0".encode())
                h.update(_patched(f, solution) if f.suffix == ".patch" else _code_of(f.name, f.read_bytes()))
    return h.hexdigest()[:16]


def _code_of(name: str, data: bytes) -> bytes:
    """A Python file's syntax tree without docstrings (its bytes when it does not parse); other files' bytes."""
    if not name.endswith(".py"):
        return data
    try:
        tree = ast.parse(data)
    except (SyntaxError, ValueError):
        return data
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            is_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            if is_doc and isinstance(first.value.value, str):
                node.body = node.body[1:] or [ast.Pass()]
    return ast.dump(tree).encode()


def _patched(path: Path, solution: Path) -> bytes:
    """A control kept as a patch: the code of the files it makes from the reference (its bytes when it
    no longer applies, which kata check reports)."""
    from kata.controls import PatchError, apply, parse

    data = path.read_bytes()
    try:
        names = sorted(parse(data.decode(), path.name))
        made = apply(data.decode(), {n: (solution / n).read_text() for n in names if (solution / n).is_file()},
                     path.name)
    except (PatchError, OSError, UnicodeDecodeError):
        return data
    return b"".join(n.encode() + b"\0" + _code_of(n, made[n].encode()) for n in names)


def _figures(metrics: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in metrics.items() if not _is_gate(k)) or "-"


def _is_gate(name: str) -> bool:
    """A recorded gate rather than a figure: gate, gate_*, *_gate, *_gate_* (the names tests use)."""
    return name == "gate" or name.startswith("gate_") or name.endswith("_gate") or "_gate_" in name


def gpus(state: dict) -> list[str]:
    return sorted({e.get("device", "an unnamed GPU") for e in state["katas"].values()})


_GATE = re.compile(r"the gate is ([0-9]*\.?[0-9]+)(%|x|\s*(?:[KMGT]i?B|bytes|ms|s)\b)?")


def recorded_gates(metrics: dict) -> str:
    """The gates a test recorded beside its figures (kata.toolkit.check_bandwidth records
    gate_fraction_of_copy and gate_speed_vs_<baseline>, each after the test's prefix)."""
    out = []
    for k, v in metrics.items():
        if not _is_gate(k):
            continue
        prefix, _, what = k.partition("gate_")
        side = f"{prefix.rstrip('_')}: " if prefix else ""
        if what == "fraction_of_copy":
            out.append(f"{side}>= {v} of copy")
        elif what.startswith("speed_vs_"):
            out.append(f"{side}>= {v}x {what[len('speed_vs_'):]}")
        else:
            out.append(f"{k}: {v}")
    return "; ".join(out)


def gates(message: str) -> str:
    """The gates a failing performance test named ("... the gate is 0.85", "... the gate is 0.9x",
    "... the gate is 80%"): a bare fraction or a percentage is of the GPU's copy bandwidth, a factor with
    x a speed against the test's baseline (torch, SDPA, eager), and a size or a time ("the gate is 64 MiB")
    a limit the test states in its message. For rows of tests that record no gates."""
    out = []
    for m in _GATE.finditer(message or ""):
        value, unit = m.group(1), (m.group(2) or "").strip()
        if unit == "x":
            out.append(f">= {value}x the baseline")
        elif unit not in ("", "%"):
            out.append(f"a limit of {value} {unit} (see the test's message)")
        else:
            out.append(f">= {float(value) / 100 if unit == '%' else float(value):g} of copy")
    return "; ".join(dict.fromkeys(out)) or "-"


def stale(state: dict, current: dict[str, str]) -> list[str]:
    """The saved katas whose files changed since their row was taken."""
    return sorted(rel for rel, e in state["katas"].items() if rel in current and e.get("fingerprint") != current[rel])


def table(state: dict, current: dict[str, str] | None = None) -> str:
    """gpu_report.md. With `current` (every GPU kata's fingerprint now), each saved kata says whether its
    row still holds for today's files, and the GPU katas never run are listed."""
    head = (f"{len(state['katas'])} katas, run on {' and '.join(gpus(state)) or 'no GPU yet'}. Each kata's row holds for the "
            "files its fingerprint (in gpu_state.json) was taken of; `kata gpu-report` runs a kata again when they "
            "change.")
    if current is not None:
        changed = stale(state, current)
        holds = [rel for rel in current if rel in state["katas"] and rel not in changed]
        never = sorted(rel for rel in current if rel not in state["katas"])
        head += (f"\n\nAgainst the files now: {len(holds)} of the {len(current)} katas with GPU tests hold a row "
                 f"for these files; {len(changed)} changed since their row was taken (they run again)"
                 + (f": {', '.join(changed)}" if changed else "") + f"; {len(never)} never ran on a GPU"
                 + (f": {', '.join(never)}" if never else "") + ".")
    lines = ["# The GPU tier of `kata check`, proven on a GPU (`kata gpu-report`)", "", head, "",
             "The gates are those the reference's test recorded (kata.toolkit.check_bandwidth records them) or, "
             "for rows without, those the naive control's failure named: a fraction of the GPU's measured copy "
             "bandwidth, or a speed against the test's baseline.", "",
             "| kata | GPU gate | gates | reference | naive control |", "|---|---|---|---|---|"]
    for rel, entry in sorted(state["katas"].items()):
        ref = {r["nodeid"].split("::", 1)[-1]: r for r in entry["rows"].get("reference", [])}
        naive = {}
        for name, rows in entry["rows"].items():
            if name.startswith("naive"):
                naive.update({r["nodeid"].split("::", 1)[-1]: (name, r) for r in rows})
        for test, r in ref.items():
            if "perf" not in r.get("markers", []):
                continue
            n = naive.get(test)
            nav = f"{n[1]['outcome']} ({n[0]}): {_figures(n[1]['metrics'])}" if n else "no naive control"
            gate = recorded_gates(r["metrics"]) or (gates(n[1].get("message", "")) if n else "-")
            lines.append(f"| {rel} | {test} | {gate} | {r['outcome']}: {_figures(r['metrics'])} | {nav} |")
    files = "" if current is None else " files |"
    lines += ["", f"| kata | verdict |{files} GPU | proven there | problems | unverified | notes |",
              "|---|---|" + "---|" * (files != "") + "---|---|---|---|---|"]
    changed = set(stale(state, current)) if current is not None else set()
    for rel, entry in sorted(state["katas"].items()):
        held = "" if current is None else (" not a GPU kata now |" if rel not in current else
                                            " changed since: runs again |" if rel in changed else " as run |")
        lines.append(f"| {rel} | {'ok' if not entry['problems'] else 'FAIL'} |{held} {entry.get('device', '-')} | "
                     f"{'; '.join(entry['proven'])} | "
                     f"{'; '.join(entry['problems']) or '-'} | {'; '.join(entry['unverified']) or '-'} | "
                     f"{'; '.join(entry.get('notes', [])) or '-'} |")
    return "\n".join(lines) + "\n"


def add_parser(sub) -> None:
    p = sub.add_parser("gpu-report", help="on a GPU machine: prove every GPU-tier claim and write one table")
    p.add_argument("katas", nargs="*", help="modules or katas (default: every kata with GPU tests)")
    p.add_argument("--out", default=".kata_gpu", help="folder for gpu_report.md and gpu_state.json")
    p.add_argument("--budget", type=float, default=480, help="stop starting new chunks after this many seconds")
    p.add_argument("-n", "--workers", type=int, default=4, help="pytest-xdist workers for the non-timed tests")
    p.add_argument("--parallel", type=int, default=4,
                   help="untimed pytest sessions at once (default 4); the timed ones always run alone")
    p.add_argument("--chunk", type=int, default=CHUNK,
                   help=f"katas per round (default {CHUNK}); a round must end inside one device call to be saved")
    p.add_argument("--restart", action="store_true", help="forget the saved state and start over")
    p.add_argument("--status", action="store_true",
                   help="no GPU needed: which saved rows still hold for the files now, and what is left to run; "
                        "rewrites gpu_report.md and runs nothing")
    p.set_defaults(func=run)


def torch_device_name() -> str:
    import torch

    return torch.cuda.get_device_name()


def status(state: dict, current: dict[str, str], names: list[str], out: Path) -> int:
    """`--status`: what the saved rows prove for today's files, and what a GPU session has left."""
    (out / "gpu_report.md").write_text(table(state, current))
    wanted = [rel for rel in current if rel in names] if names else list(current)
    changed = set(stale(state, current))
    todo = [rel for rel in wanted if rel not in state["katas"] or rel in changed]
    bad = sorted(rel for rel, e in state["katas"].items() if e["problems"] and rel not in changed)
    print(f"kata gpu-report --status: {len(wanted) - len(todo)} of {len(wanted)} katas with GPU tests hold a row for "
          f"their files now ({' and '.join(gpus(state)) or 'no GPU yet'})")
    for rel in todo:
        print(f"  to run: {rel} ({'its files changed since its row' if rel in changed else 'never ran on a GPU'})")
    for rel in bad:
        print(f"  FAIL:   {rel}: {'; '.join(state['katas'][rel]['problems'])}")
    print(f"table in {out / 'gpu_report.md'}")
    return 1 if bad else 3 if todo else 0


def run(args) -> int:
    root = find_root()
    out = Path(args.out)
    state_path = out / "gpu_state.json"
    state = {"katas": {}, "seconds": 0.0}
    if state_path.exists() and not args.restart:
        state = json.loads(state_path.read_text())
    current = {k.rel: fingerprint(root, k.rel) for k in gpu_katas(root, [])}
    if getattr(args, "status", False):
        if not state_path.exists():
            raise KataError(f"gpu-report --status: no {state_path} (run `kata gpu-report --out {out}` on a GPU first)")
        names = [k.rel for k in resolve(root, args.katas)] if args.katas else []
        return status(state, current, names, out)
    if not has_gpu():
        raise KataError("gpu-report needs a CUDA GPU: on a CPU, `kata check` proves the CPU tier and lists "
                        "the GPU tier as unverified (`kata gpu-report --status` shows what the saved runs prove)")
    out.mkdir(parents=True, exist_ok=True)
    katas = gpu_katas(root, args.katas)
    prints = {k.rel: current[k.rel] for k in katas}
    todo = [k for k in katas if state["katas"].get(k.rel, {}).get("fingerprint") != prints[k.rel]]
    again = [k.rel for k in todo if k.rel in state["katas"]]
    if again:
        print(f"kata gpu-report: files changed since the saved run, so these run again: {', '.join(again)}", flush=True)
    device = torch_device_name()
    if args.chunk < 1 or args.parallel < 1:
        raise KataError(f"gpu-report: --chunk and --parallel must be at least 1, got {args.chunk} and {args.parallel}")
    t0, rounds = time.monotonic(), 0
    while todo:
        # the next round's cost, predicted from the slowest kata of this call's rounds, or else of the saved
        # state's last call (a harness that got faster should not be held to its old times for ever)
        predicted = state.get("slowest_kata", 0.0) * min(args.chunk, len(todo))
        if time.monotonic() - t0 + predicted > args.budget:
            print(f"kata gpu-report: stopping before the budget runs out (the next round of {min(args.chunk, len(todo))} "
                  f"katas may take {predicted:.0f} s); {len(todo)} katas left: run the same command again to resume"
                  + ("" if rounds else ", with a larger --budget or a smaller --chunk"), flush=True)
            (out / "gpu_report.md").write_text(table(state, current))
            return 3
        chunk, todo = todo[:args.chunk], todo[args.chunk:]
        print(f"kata gpu-report: {', '.join(k.rel for k in chunk)}", flush=True)
        t = time.monotonic()
        verdicts = check(root, chunk, workers=args.workers, select="gpu", parallel=args.parallel)
        took = time.monotonic() - t
        for v in verdicts:
            state["katas"][v.kata.rel] = {"proven": v.proven, "problems": v.problems, "unverified": v.unverified,
                                          "notes": v.notes, "rows": v.rows, "device": device,
                                          "fingerprint": prints[v.kata.rel], "seconds": round(took / len(chunk), 1)}
        state["slowest_kata"] = max(state["slowest_kata"] if rounds else 0.0, took / len(chunk))
        rounds += 1
        state["seconds"] += took
        state_path.write_text(json.dumps(state, indent=1))
        (out / "gpu_report.md").write_text(table(state, current))
    (out / "gpu_report.md").write_text(table(state, current))
    bad = [rel for rel, e in state["katas"].items() if e["problems"]]
    unv = [rel for rel, e in state["katas"].items() if e["unverified"]]
    print(f"kata gpu-report: {len(state['katas']) - len(bad)} of {len(state['katas'])} katas keep the contract on "
          f"{' and '.join(gpus(state))}; {len(unv)} with claims still unverified; table in {out / 'gpu_report.md'}")
    return 1 if bad else 0
