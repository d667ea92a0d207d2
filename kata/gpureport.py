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
where it stopped. Each kata's entry keeps a fingerprint of its files (katas/<kata> and solutions/<kata>)
and the GPU it ran on: a kata whose files changed since is run again, so a state kept in the tree
(`--out docs/gpu-report`, committed) carries proof from one device session to the next without going
stale. Exit status: 0 when every kata is done and keeps the contract, 1 when one breaks it, 3 when it
stopped early to resume later.
"""
from __future__ import annotations

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
    """A hash of the kata's files: its folder (tests, stub, controls, support) and its reference solution."""
    h = hashlib.sha256()
    for top in ("katas", "solutions"):
        base = root / top / rel
        for f in sorted(base.rglob("*")) if base.is_dir() else []:
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
                h.update(f"{top}/{f.relative_to(base).as_posix()}\0".encode())
                h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _figures(metrics: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in metrics.items()) or "-"


def gpus(state: dict) -> list[str]:
    return sorted({e.get("device", "an unnamed GPU") for e in state["katas"].values()})


def table(state: dict) -> str:
    lines = ["# The GPU tier of `kata check`, proven on a GPU (`kata gpu-report`)", "",
             f"{len(state['katas'])} katas, run on {' and '.join(gpus(state)) or 'no GPU yet'}. Each kata's row holds for the "
             "files its fingerprint (in gpu_state.json) was taken of; `kata gpu-report` runs a kata again when they "
             "change.", "", "| kata | GPU gate | reference | naive control |", "|---|---|---|---|"]
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
            lines.append(f"| {rel} | {test} | {r['outcome']}: {_figures(r['metrics'])} | {nav} |")
    lines += ["", "| kata | verdict | GPU | proven there | problems | unverified | notes |", "|---|---|---|---|---|---|---|"]
    for rel, entry in sorted(state["katas"].items()):
        lines.append(f"| {rel} | {'ok' if not entry['problems'] else 'FAIL'} | {entry.get('device', '-')} | "
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
    p.set_defaults(func=run)


def torch_device_name() -> str:
    import torch

    return torch.cuda.get_device_name()


def run(args) -> int:
    root = find_root()
    if not has_gpu():
        raise KataError("gpu-report needs a CUDA GPU: on a CPU, `kata check` proves the CPU tier and lists "
                        "the GPU tier as unverified")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state_path = out / "gpu_state.json"
    state = {"katas": {}, "seconds": 0.0}
    if state_path.exists() and not args.restart:
        state = json.loads(state_path.read_text())
    katas = gpu_katas(root, args.katas)
    prints = {k.rel: fingerprint(root, k.rel) for k in katas}
    todo = [k for k in katas if state["katas"].get(k.rel, {}).get("fingerprint") != prints[k.rel]]
    stale = [k.rel for k in todo if k.rel in state["katas"]]
    if stale:
        print(f"kata gpu-report: files changed since the saved run, so these run again: {', '.join(stale)}", flush=True)
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
            (out / "gpu_report.md").write_text(table(state))
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
        (out / "gpu_report.md").write_text(table(state))
    (out / "gpu_report.md").write_text(table(state))
    bad = [rel for rel, e in state["katas"].items() if e["problems"]]
    unv = [rel for rel, e in state["katas"].items() if e["unverified"]]
    print(f"kata gpu-report: {len(state['katas']) - len(bad)} of {len(state['katas'])} katas keep the contract on "
          f"{' and '.join(gpus(state))}; {len(unv)} with claims still unverified; table in {out / 'gpu_report.md'}")
    return 1 if bad else 0
