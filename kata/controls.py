"""Negative controls, whole files or patches, and `kata controls`.

A control lives under solutions/<kata>/controls/ in one of two forms:
  <name>/<files>    whole files (every naive control; a wrong control that rewrites much of the code)
  <name>.patch      a unified diff against the reference files (a wrong control that is the reference
                    plus a small change: the patch shows the one-line mistake that is the lesson)

folder(kata, name, root) gives the folder a test session runs a control from: the control's own
folder, or, for a patch, the reference with the patch applied, written under the build cache
(.kata_cache/controls/, never into the tree). A patch that no longer applies raises PatchError,
which `kata check` reports as a problem naming the patch.

    kata controls [KATA ...]                   list the controls: kind, form, size
    kata controls --to-patches [KATA ...]      rewrite small whole-file wrong controls as patches
"""
from __future__ import annotations

import difflib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from kata.layout import Kata, KataError, find_root, resolve

PATCH = ".patch"
MAX_HUNKS = 2           # --to-patches converts a control whose diff has at most this many hunks
MAX_CHANGED = 40        # ... and at most this many changed (added + removed) lines
NO_NEWLINE = "\\ No newline at end of file"


class PatchError(Exception):
    """A control's patch does not apply to the reference (or is not a patch)."""


# ------------------------------------------------------------------------------------ where it lives

def patch_path(kata: Kata, name: str) -> Path:
    return kata.solution_dir / "controls" / (name + PATCH)


def present(kata: Kata) -> dict[str, Path]:
    """The controls on disk: name -> its folder or its .patch file."""
    d = kata.solution_dir / "controls"
    if not d.is_dir():
        return {}
    out = {}
    for p in sorted(d.iterdir()):
        if p.is_dir():
            out[p.name] = p
        elif p.suffix == PATCH and p.is_file():
            out[p.stem] = p
    return out


def folder(kata: Kata, name: str, root: Path | None = None) -> Path:
    """The folder holding the control's files, ready for --impl / --impl-map."""
    whole = kata.control_dir(name)
    if whole.is_dir():
        return whole
    patch = patch_path(kata, name)
    if not patch.is_file():
        raise KataError(f"solutions/{kata.rel}/controls/: no {name}/ folder and no {name}{PATCH}")
    files = apply(patch.read_text(), reference_files(kata), where=f"solutions/{kata.rel}/controls/{name}{PATCH}")
    dest = cache_dir(root or kata.root) / "controls" / kata.rel / name
    if dest.is_dir() and sorted(p.name for p in dest.iterdir()) == sorted(files) and all(
            (dest / f).read_text() == text for f, text in files.items()):
        return dest  # already there (another session may be testing it right now: leave it be)
    tmp = dest.with_name(f".{name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f, text in files.items():
        (tmp / f).write_text(text)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def cache_dir(root: Path) -> Path:
    env = os.environ.get("KATA_CACHE")  # the same cache native.build uses
    return Path(env) if env else root / ".kata_cache"


def reference_files(kata: Kata) -> dict[str, str]:
    return {f: (kata.solution_dir / f).read_text() for f in kata.files if (kata.solution_dir / f).exists()}


# ----------------------------------------------------------------------------------- unified diffs

def make_patch(reference: dict[str, str], control: dict[str, str], context: int = 3) -> str:
    """A unified diff turning `reference` into `control` (file name -> text), files in order."""
    out = []
    for name in reference:
        a, b = _lines(reference[name]), _lines(control[name])
        if a == b:
            continue
        out.append(f"--- a/{name}\n+++ b/{name}\n")
        for line in list(difflib.unified_diff(a, b, n=context))[2:]:
            if line.endswith("\n"):
                out.append(line)
            else:
                out.append(line + "\n" + NO_NEWLINE + "\n")
    return "".join(out)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


@dataclass
class Hunk:
    start: int          # 1-based line of the old text where it starts
    old: list[str]
    new: list[str]


def parse(patch: str, where: str = "patch") -> dict[str, list[Hunk]]:
    """File name -> its hunks. Lines before the first '--- ' are a free-text preamble."""
    files: dict[str, list[Hunk]] = {}
    lines = patch.splitlines(keepends=True)
    i, current = 0, None
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            name = lines[i + 1][4:].strip().split("\t")[0]
            current = name[2:] if name.startswith("b/") else name
            files.setdefault(current, [])
            i += 2
            continue
        m = re.match(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", line)
        if not m:
            i += 1
            continue
        if current is None:
            raise PatchError(f"{where}: a hunk before any '--- a/FILE' / '+++ b/FILE' header")
        hunk = Hunk(int(m.group(1)), [], [])
        files[current].append(hunk)
        old_left = int(m.group(2)) if m.group(2) is not None else 1
        new_left = int(m.group(4)) if m.group(4) is not None else 1
        i += 1
        last = None
        while i < len(lines) and (old_left > 0 or new_left > 0 or lines[i].startswith("\\")):
            line = lines[i]
            if line.startswith("\\"):  # "\ No newline at end of file": the line before has no newline
                for side in ((hunk.old,) if last == "-" else (hunk.new,) if last == "+" else (hunk.old, hunk.new)):
                    if side and side[-1].endswith("\n"):
                        side[-1] = side[-1][:-1]
                i += 1
                continue
            kind, body = (line[:1], line[1:]) if line.strip("\n") else (" ", "\n")  # a blank context line
            if kind not in " -+":
                raise PatchError(f"{where}: hunk {len(files[current])} of {current} ends early (line {i + 1})")
            if kind in " -":
                hunk.old.append(body)
                old_left -= 1
            if kind in " +":
                hunk.new.append(body)
                new_left -= 1
            last = kind
            i += 1
        if old_left or new_left:
            raise PatchError(f"{where}: hunk {len(files[current])} of {current} is cut short")
    if not any(files.values()):
        raise PatchError(f"{where}: holds no hunk (a unified diff: '--- a/FILE', '+++ b/FILE', '@@ ... @@')")
    return files


def apply(patch: str, reference: dict[str, str], where: str = "patch") -> dict[str, str]:
    """The reference files with the patch applied. A hunk applies where its old lines match exactly,
    at the line it names or the nearest place (the reference may have grown above it); otherwise
    PatchError names the file, the hunk and the line."""
    out = dict(reference)
    for name, hunks in parse(patch, where).items():
        if name not in reference:
            raise PatchError(f"{where}: patches {name}, which is not one of the kata's files {sorted(reference)}")
        lines = _lines(reference[name])
        shift = 0
        for n, h in enumerate(hunks, 1):
            at = _find(lines, h.old, h.start - 1 + shift)
            if at is None:
                first = next((l.strip() for l in h.old if l.strip()), "")
                raise PatchError(f"{where}: hunk {n} of {name} (near line {h.start}, '{first[:50]}') no longer "
                                 "applies to the reference: update the patch (kata controls --to-patches "
                                 "rewrites one from a whole-file copy)")
            lines[at:at + len(h.old)] = h.new
            shift += len(h.new) - len(h.old)
        out[name] = "".join(lines)
    return out


def _find(lines: list[str], old: list[str], guess: int) -> int | None:
    if not old:
        return max(0, min(guess + 1, len(lines)))  # a pure insertion at the top of an empty file
    for delta in range(0, len(lines) + 1):
        for at in (guess - delta, guess + delta):
            if 0 <= at <= len(lines) - len(old) and lines[at:at + len(old)] == old:
                return at
    return None


def size(patch: str) -> tuple[int, int]:
    """(hunks, changed lines) of a patch."""
    hunks = sum(len(h) for h in parse(patch).values())
    changed = sum(1 for l in patch.splitlines() if l[:1] in "+-" and not l.startswith(("+++ ", "--- ")))
    return hunks, changed


# --------------------------------------------------------------------------------- kata check's part

def problems(kata: Kata) -> list[str]:
    """What is wrong with the kata's controls on disk: missing, undescribed, incomplete, not applying."""
    out = []
    on_disk = present(kata)
    for c in kata.controls:
        p = on_disk.get(c)
        if p is None:
            out.append(f"control '{c}' is described in kata.toml but solutions/{kata.rel}/controls/ has "
                       f"neither {c}/ nor {c}{PATCH}")
        elif p.is_dir():
            if (kata.solution_dir / "controls" / (c + PATCH)).exists():
                out.append(f"control '{c}' is both a folder and a patch: keep one")
            out += [f"control '{c}' lacks {f}" for f in kata.files if not (p / f).exists()]
        else:
            if Kata.control_kind(c) == "naive":
                out.append(f"{c}{PATCH}: a naive control is whole files (a folder), not a patch")
            try:
                patched = apply(p.read_text(), reference_files(kata), where=f"controls/{c}{PATCH}")
            except PatchError as e:
                out.append(str(e))
                continue
            if patched == reference_files(kata):
                out.append(f"controls/{c}{PATCH} changes nothing: the control is the reference")
    for c in sorted(set(on_disk) - set(kata.controls)):
        shown = f"{c}/" if on_disk[c].is_dir() else f"{c}{PATCH}"
        out.append(f"controls/{shown} is not described in kata.toml [controls]")
    return out


# ------------------------------------------------------------------------------------ --to-patches

def to_patch(kata: Kata, name: str, max_hunks: int = MAX_HUNKS, max_changed: int = MAX_CHANGED,
             write: bool = True) -> str:
    """Rewrite one whole-file wrong control as a patch if it is small; returns what was done."""
    d = kata.control_dir(name)
    if Kata.control_kind(name) != "wrong":
        return "kept: naive controls stay whole files"
    if not d.is_dir():
        return "already a patch" if patch_path(kata, name).exists() else "missing"
    if sorted(p.name for p in d.iterdir()) != sorted(kata.files):
        return "kept: its folder holds files other than the kata's"
    reference = reference_files(kata)
    control = {f: (d / f).read_text() for f in kata.files}
    patch = make_patch(reference, control)
    if not patch:
        return "kept: identical to the reference (fix the control)"
    hunks, changed = size(patch)
    if hunks > max_hunks or changed > max_changed:
        return f"kept: {hunks} hunks, {changed} changed lines (over {max_hunks} / {max_changed})"
    if apply(patch, reference) != control:  # never lose a byte of the control
        return "kept: the patch would not reproduce the control exactly"
    if write:
        patch_path(kata, name).write_text(patch)
        shutil.rmtree(d)
    before = sum(t.count("\n") for t in control.values())
    return f"patch: {hunks} hunk(s), {changed} changed lines ({before} lines -> {patch.count(chr(10))})"


def add_parser(sub) -> None:
    p = sub.add_parser("controls", help="list negative controls; rewrite small wrong controls as patches")
    p.add_argument("katas", nargs="*", help="modules or katas (default all)")
    p.add_argument("--to-patches", action="store_true",
                   help=f"rewrite whole-file wrong controls that differ from the reference in at most "
                        f"--max-hunks hunks and --max-changed lines as controls/<name>{PATCH}")
    p.add_argument("--max-hunks", type=int, default=MAX_HUNKS)
    p.add_argument("--max-changed", type=int, default=MAX_CHANGED)
    p.add_argument("--dry-run", action="store_true", help="with --to-patches: say what would be done, write nothing")
    p.set_defaults(func=run)


def run(args) -> int:
    root = find_root()
    katas = resolve(root, args.katas)
    bad = 0
    for k in katas:
        for name in k.controls:
            if args.to_patches:
                try:
                    what = to_patch(k, name, args.max_hunks, args.max_changed, write=not args.dry_run)
                except (OSError, UnicodeDecodeError, PatchError) as e:
                    what, bad = f"kept: {e}", bad + 1
            else:
                p = present(k).get(name)
                if p is None:
                    what, bad = "MISSING", bad + 1
                elif p.is_dir():
                    what = f"{Kata.control_kind(name)}, whole files ({sum(1 for _ in p.iterdir())})"
                else:
                    try:
                        h, c = size(p.read_text())
                        what = f"wrong, patch: {h} hunk(s), {c} changed lines"
                    except PatchError as e:
                        what, bad = f"BROKEN: {e}", bad + 1
            print(f"{k.rel}  {name}: {what}")
    return 1 if bad else 0
