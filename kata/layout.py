"""Where katas live and what their metadata says.

A kata is a folder `katas/<NN_module>/<NN_kata>/` holding README.md, kata.toml, the learner's stub
file(s) and test_*.py. Its reference lives at `solutions/<NN_module>/<NN_kata>/`, with negative
controls in `solutions/<...>/controls/<name>/` or `<name>.patch` (names start with `naive` or `wrong`;
see kata.controls).

kata.toml (checked key by key in kata.schema; see katas/01_computer_architecture/03_cache_blocking/kata.toml):

    title = "Blocked transpose"
    difficulty = 2                 # 1 (warm-up) .. 5 (hard)
    language = "c"                 # c | cpp | asm | cuda | python | triton
    files = ["transpose.c"]        # the learner's files: the only files a grader takes from a submission
    points = 10
    tiers = ["cpu"]                # "cpu" and/or "gpu": where its tests run
    timeout = 60                   # seconds per test before it is killed (optional)

    [controls]                     # negative controls: solutions/<kata>/controls/<name>/ or <name>.patch
    naive = "row-by-row transpose: correct, but misses the cache on every write"
    wrong_swapped = "copies instead of transposing"

    [grading]                      # optional: how points are shared (docs/grading.md, kata/points.py)
    perf_points = 3
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from kata import schema

DEFAULT_TIMEOUT = 60.0


class KataError(Exception):
    """A problem with the suite's layout or a kata's metadata: shown as one clear line."""


def find_root(start: Path | None = None) -> Path:
    """The checkout we act on: the nearest folder above `start` holding katas/ and pytest.ini."""
    env = os.environ.get("KATA_ROOT")
    if env:
        return Path(env).resolve()
    here = (start or Path.cwd()).resolve()
    for p in [here, *here.parents]:
        if (p / "katas").is_dir() and (p / "pytest.ini").is_file():
            return p
    raise KataError(f"not inside a kata checkout: no folder above {here} holds katas/ and pytest.ini")


@dataclass
class Kata:
    root: Path
    rel: str  # "01_computer_architecture/03_cache_blocking"
    title: str
    difficulty: int
    language: str
    files: list[str]
    points: float
    tiers: list[str]
    timeout: float
    controls: dict[str, str] = field(default_factory=dict)
    judge: str = "separate"        # at grading: "separate" (kata.remote) or "shared" ([grading] judge)
    judge_why: str = ""

    @property
    def module(self) -> str:
        return self.rel.split("/")[0]

    @property
    def name(self) -> str:
        return self.rel.split("/")[1]

    @property
    def dir(self) -> Path:
        return self.root / "katas" / self.rel

    @property
    def solution_dir(self) -> Path:
        return self.root / "solutions" / self.rel

    def control_dir(self, control: str) -> Path:
        return self.solution_dir / "controls" / control

    @staticmethod
    def control_kind(control: str) -> str:
        return "naive" if control.startswith("naive") else "wrong"

    def hints(self) -> list[str]:
        """The README's hints, in order: each a paragraph or list item under '## Hints'."""
        text = (self.dir / "README.md").read_text()
        m = re.search(r"^## Hints\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
        if not m:
            return []
        items = re.split(r"^\s*\d+\.\s+", m.group(1), flags=re.M)
        return [" ".join(i.split()) for i in items[1:] if i.strip()]


def load_kata(root: Path, rel: str) -> Kata:
    path = root / "katas" / rel / "kata.toml"
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise KataError(f"{path.relative_to(root)}: missing (every kata folder needs one)") from None
    except tomllib.TOMLDecodeError as e:
        raise KataError(f"{path.relative_to(root)}: not valid TOML: {e}") from None

    where = path.relative_to(root)
    fatal = [msg for is_fatal, msg in schema.problems(data) if is_fatal]
    if fatal:
        raise KataError(f"{where}: " + "; ".join(fatal))
    kata = Kata(
        root=root,
        rel=rel,
        title=data["title"],
        difficulty=data["difficulty"],
        language=data["language"],
        files=list(data["files"]),
        points=float(data["points"]),
        tiers=list(data.get("tiers", ["cpu"])),
        timeout=float(data.get("timeout", DEFAULT_TIMEOUT)),
        controls=dict(data.get("controls", {})),
        judge=str(data.get("grading", {}).get("judge", "separate")),
        judge_why=str(data.get("grading", {}).get("judge_why", "")),
    )
    return kata


def all_katas(root: Path) -> list[Kata]:
    out = []
    for mod in sorted((root / "katas").iterdir()):
        if not mod.is_dir() or not re.match(r"\d\d_", mod.name):
            continue
        for k in sorted(mod.iterdir()):
            if k.is_dir() and (k / "kata.toml").exists():
                out.append(load_kata(root, f"{mod.name}/{k.name}"))
    return out


def resolve(root: Path, names: list[str]) -> list[Kata]:
    """Katas named by path under katas/ (module or kata), or by a unique part of a kata's path."""
    katas = all_katas(root)
    if not names:
        return katas
    picked: list[Kata] = []
    for raw in names:
        name = raw.strip().rstrip("/")
        for prefix in ("katas/", "solutions/"):
            if name.startswith(prefix):
                name = name[len(prefix):]
        exact = [k for k in katas if k.rel == name or k.module == name]
        if exact:
            hits = exact
        else:
            hits = [k for k in katas if name in k.rel]
            if not hits:
                raise KataError(f"no kata matches '{raw}' (try `kata list`)")
            if len(hits) > 1:
                listed = ", ".join(k.rel for k in hits[:6])
                raise KataError(f"'{raw}' matches {len(hits)} katas ({listed}); name one more exactly")
        picked += [k for k in hits if k not in picked]
    return picked


def kata_for_path(root: Path, path: Path) -> Kata | None:
    """The kata whose folder (under katas/) holds `path`, or None."""
    try:
        rel = path.resolve().relative_to(root / "katas")
    except ValueError:
        return None
    parts = rel.parts
    if len(parts) >= 2 and (root / "katas" / parts[0] / parts[1] / "kata.toml").exists():
        return load_kata(root, f"{parts[0]}/{parts[1]}")
    return None


def display_path(p: Path, root: Path) -> str:
    """`p` relative to the checkout when it lies inside it (for messages), else as given."""
    try:
        return str(p.resolve().relative_to(root))
    except ValueError:
        return str(p)
