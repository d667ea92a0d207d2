"""`kata release DEST`: the learner's copy, and `--gradescope ZIP`: an autograder bundle.

The learner's copy is the instructor's checkout without solutions/ (references and negative
controls), without hidden tests (katas/**/test_hidden_*.py), without version control and caches,
and with the `[controls]` tables taken out of kata.toml (their descriptions name the mistakes). It
gets a manifest of the stubs' hashes (.kata-stubs.json) so `kata progress` can tell "not started".
Then the copy's own tests run, as proof that every stub fails there saying "not implemented yet".

The Gradescope bundle is the instructor's checkout minus solutions/ (hidden tests included) with
setup.sh (installs torch's CPU build, then the project) and run_autograder (runs `kata grade`).
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
import zipfile
from contextlib import contextmanager
from pathlib import Path

from kata.check import Verdict, judge_stub
from kata.report import by_kata, run_pytest
from kata.layout import KataError, all_katas, find_root
from kata.learner import batches
from kata.results import HIDDEN_PREFIX
from kata.tree import MANIFEST, add_harness, copy_tree, sha256

TORCH = "2.13.0"


def _learner_skip(rel: str) -> bool:
    parts = rel.split("/")
    return (parts[0] == "solutions" or (parts[0] == "katas" and parts[-1].startswith(HIDDEN_PREFIX))
            or parts[:2] == ["docs", "gpu-report"])  # the instructor's GPU proof names every wrong control


def strip_controls(text: str) -> str:
    """kata.toml without its [controls] table (everything from that header to the next table)."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        if re.match(r"\s*\[", line):
            skipping = re.match(r"\s*\[\s*controls\s*\]", line) is not None
        if not skipping:
            out.append(line)
    return "".join(out).rstrip("\n") + "\n"


def _refuse_existing(dest: Path, root: Path) -> None:
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise KataError(f"{dest}: already exists and is not empty; release never overwrites (name a new folder)")
    d = dest.resolve()
    if d == root or root in d.parents:
        raise KataError(f"{dest}: is inside the checkout; write the learner's copy somewhere outside it")


def write_learner_copy(root: Path, dest: Path) -> list:
    katas = all_katas(root)  # malformed metadata stops here, before anything is written
    _refuse_existing(dest, root)
    dest.mkdir(parents=True, exist_ok=True)
    copy_tree(root, dest, _learner_skip)
    add_harness(root, dest)
    manifest = {}
    for k in katas:
        toml = dest / "katas" / k.rel / "kata.toml"
        text = strip_controls(toml.read_text())
        tomllib.loads(text)  # still valid
        toml.write_text(text)
        kdir = dest / "katas" / k.rel
        manifest[k.rel] = {f: sha256(kdir / f) for f in k.files if (kdir / f).exists()}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return katas


@contextmanager
def _root_env(root: Path):
    old = os.environ.get("KATA_ROOT")
    os.environ["KATA_ROOT"] = str(root)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("KATA_ROOT", None)
        else:
            os.environ["KATA_ROOT"] = old


def prove_stubs_fail(dest: Path, katas: list, workers: int = 0) -> list[Verdict]:
    """Run the learner copy's tests: each kata must fail, saying "not implemented yet" (kata check's rule)."""
    by: dict = {}
    with _root_env(dest.resolve()):
        for group in batches(katas):  # no two same-named test files in one pytest session
            by.update(by_kata(run_pytest(dest, [f"katas/{k.rel}" for k in group], [], workers)))
    verdicts = []
    for k in katas:
        v = Verdict(k)
        judge_stub(v, by.get(k.rel, []))
        verdicts.append(v)
    return verdicts


# ------------------------------------------------------------------------------ Gradescope bundle

SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image (Ubuntu base image).
# The katas' tests and configuration live in /autograder/source (this bundle); submissions never replace them.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends gcc g++ make valgrind python3 python3-venv python3-pip
PY=python3
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    apt-get install -y --no-install-recommends python3.11 python3.11-venv
    PY=python3.11
fi
# CUDA katas compile with nvcc on the CPU tier (a resource report): install a CUDA toolkit here if you
# grade them, e.g. NVIDIA's apt repository's cuda-nvcc package. `kata doctor` says what is missing.
"$PY" -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
# torch first, its CPU build: the project's torch range then accepts it, and pip pulls no CUDA wheels.
/autograder/venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch=={TORCH}
/autograder/venv/bin/pip install /autograder/source
/autograder/venv/bin/kata doctor || true
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission; the learner's upload is in /autograder/submission.
# `kata grade` takes only the files each kata names from it and always writes results.json.
# Fresh inputs at grading (docs/grading.md): uncomment, with a number of your own that learners never see.
# export KATA_SECRET_SEED=123456789
cd /autograder/source
mkdir -p /autograder/results
exec /autograder/venv/bin/kata grade /autograder/submission --format gradescope \\
    --out /autograder/results/results.json
"""


def write_gradescope_bundle(root: Path, zip_path: Path) -> int:
    all_katas(root)  # refuse malformed metadata before writing anything
    if zip_path.exists():
        raise KataError(f"{zip_path}: already exists; release never overwrites (name a new file)")
    if zip_path.suffix != ".zip":
        raise KataError(f"{zip_path}: name the bundle *.zip")
    with tempfile.TemporaryDirectory(prefix="kata-bundle-") as tmp:
        src = Path(tmp)
        copy_tree(root, src, lambda rel: rel.split("/")[0] == "solutions")
        add_harness(root, src)
        (src / "setup.sh").write_text(SETUP_SH)
        (src / "run_autograder").write_text(RUN_AUTOGRADER)
        n = 0
        zip_path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as z:
            for path in sorted(src.rglob("*")):
                if path.is_file():
                    info = zipfile.ZipInfo(path.relative_to(src).as_posix())
                    executable = path.name in ("setup.sh", "run_autograder") or os.access(path, os.X_OK)
                    info.external_attr = (0o100755 if executable else 0o100644) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    z.writestr(info, path.read_bytes())
                    n += 1
    return n


# ---------------------------------------------------------------------------------------------- CLI

def add_parser(sub) -> None:
    p = sub.add_parser("release", help="write the learner's copy (no solutions, controls or hidden tests) and "
                                       "prove its stubs fail; --gradescope ZIP writes an autograder bundle")
    p.add_argument("dest", nargs="?", help="a new (or empty) folder for the learner's copy")
    p.add_argument("--gradescope", metavar="ZIP",
                   help="write a Gradescope autograder bundle (setup.sh, run_autograder)")
    p.add_argument("-n", "--workers", type=int, default=0, help="pytest-xdist workers for the proof run")
    p.set_defaults(func=run)


def run(args) -> int:
    root = find_root()
    if not args.dest and not args.gradescope:
        raise KataError("name a folder for the learner's copy (kata release DEST) and/or --gradescope ZIP")
    if args.gradescope:
        n = write_gradescope_bundle(root, Path(args.gradescope))
        print(f"wrote the Gradescope autograder bundle {args.gradescope} ({n} files: setup.sh, run_autograder, "
              "the instructor's tests with hidden ones, no solutions/)")
    if not args.dest:
        return 0
    dest = Path(args.dest)
    katas = write_learner_copy(root, dest)
    print(f"wrote the learner's copy to {dest}: {len(katas)} katas, no solutions/, no controls, no hidden tests")
    print("proof: running the copy's tests (each stub must fail, saying 'not implemented yet') ...", flush=True)
    verdicts = prove_stubs_fail(dest, katas, args.workers)
    bad = [v for v in verdicts if not v.ok]
    for v in verdicts:
        print(f"  {'ok  ' if v.ok else 'FAIL'} {v.kata.rel}: " + "; ".join(v.proven + v.problems))
    print(f"proof: the stub fails in {len(verdicts) - len(bad)} of {len(verdicts)} katas")
    if bad:
        print(f"the copy in {dest} is NOT fit to hand out: fix the stubs above in katas/ and release again")
        return 1
    return 0
