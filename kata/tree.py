"""Copies of the instructor's checkout: the grader's pristine tree, the learner's release, the bundle.

Every copy leaves out version control and caches. What else each leaves out is its caller's choice
(solutions/, hidden tests, other katas). If the checkout lacks the harness itself (kata/, native/,
pyproject.toml: a checkout that runs an installed `kata`), the running harness's files are copied in,
so a copy always carries the instructor's harness and never needs anything from elsewhere.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Callable

import kata as _kata_pkg

JUNK_NAMES = {"__pycache__", ".pytest_cache", ".hypothesis", ".kata_cache", ".benchmarks", ".git", ".venv",
              "venv", "build", "dist", ".mypy_cache", ".ruff_cache"}
KEEP_DOTFILES = {".gitignore", ".gitattributes"}
HARNESS = ("kata", "native", "pyproject.toml")
MANIFEST = ".kata-stubs.json"  # written by `kata release`: the stubs' hashes, for `kata progress`


def is_junk(name: str) -> bool:
    return (name in JUNK_NAMES or name.endswith((".egg-info", ".pyc", ".pyo"))
            or (name.startswith(".") and name not in KEEP_DOTFILES))


def copy_tree(src: Path, dest: Path, skip: Callable[[str], bool] = lambda rel: False) -> int:
    """Copy src into dest (which may exist), leaving out junk and every path `skip(rel)` is true for
    (rel: the path under src with '/' separators). Returns the number of files copied."""
    n = 0
    for dirpath, dirnames, filenames in os.walk(src):
        here = Path(dirpath)
        rel_dir = here.relative_to(src).as_posix()
        rel_of = (lambda name: name) if rel_dir == "." else (lambda name: f"{rel_dir}/{name}")
        dirnames[:] = sorted(d for d in dirnames if not is_junk(d) and not skip(rel_of(d)))
        (dest / ("" if rel_dir == "." else rel_dir)).mkdir(parents=True, exist_ok=True)
        for f in sorted(filenames):
            if is_junk(f) or skip(rel_of(f)):
                continue
            shutil.copy2(here / f, dest / rel_of(f))
            n += 1
    return n


def harness_source(root: Path, name: str) -> Path | None:
    """Where the harness's `name` (kata/, native/ or pyproject.toml) comes from: the checkout, else the
    installation that is running now."""
    if (root / name).exists():
        return root / name
    here = Path(_kata_pkg.__file__).resolve().parent.parent
    return here / name if (here / name).exists() else None


def add_harness(root: Path, dest: Path) -> None:
    for name in HARNESS:
        if (dest / name).exists():
            continue
        src = harness_source(root, name)
        if src is None:
            continue
        if src.is_dir():
            copy_tree(src, dest / name)
        else:
            shutil.copy2(src, dest / name)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
