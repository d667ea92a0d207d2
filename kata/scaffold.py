"""`kata new MODULE/NN_name --like OTHER`: a new kata, shaped like a landed one.

It writes
  katas/MODULE/NN_name/README.md          the four sections (## Idea, ## Task, ## How it is graded,
                                          and why, ## Hints) with what each must say, to be rewritten
  katas/MODULE/NN_name/kata.toml          OTHER's, with the new title and file name
  katas/MODULE/NN_name/<stub>             OTHER's stub (a single file is renamed after the kata)
  katas/MODULE/NN_name/test_<name>.py     OTHER's main test file, renamed (the suite-wide rule)
  katas/MODULE/NN_name/support/           OTHER's instructor files, if any
  solutions/MODULE/NN_name/               OTHER's reference and controls (patches re-pointed)

so the new kata passes `kata check` from the first minute; you then replace each piece in turn
(docs/authoring.md, "Add a kata"), running `kata check MODULE/NN_name` after each.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from kata.layout import Kata, KataError, find_root, load_kata, resolve

NAME = re.compile(r"^\d\d_[a-z0-9]+(?:_[a-z0-9]+)*$")

README = """# {title}

## Idea

<One paragraph: the one idea this kata teaches, and why an ML-systems engineer needs it. Name the
figure that shows it (bytes moved, instructions, cache misses, speed-up).>

## Task

<What to write, in which file ({files}), the function's contract (shapes, dtypes, what it must not
touch), and the edge cases the tests try.>

## How it is graded, and why

<Each test and what it proves: correctness first (exact or within which tolerance, against what
oracle), then each performance gate (what is counted, the threshold, and why that threshold
separates the honest answer from the naive one).>

## Hints

1. <A nudge: where to look.>
2. <The key step, named.>
3. <Nearly the answer: the shape of the code.>
"""


def stem(name: str) -> str:
    """"03_cache_blocking" -> "cache_blocking"."""
    return name.split("_", 1)[1]


def scaffold(root: Path, target: str, like: Kata, title: str | None = None) -> Kata:
    parts = target.strip("/").removeprefix("katas/").split("/")
    if len(parts) != 2 or not all(NAME.match(p) for p in parts):
        raise KataError(f"'{target}': name the new kata MODULE/NN_name, e.g. 04_c_programming/07_ring_buffer "
                        "(two digits, an underscore, lower-case words joined by underscores)")
    rel = "/".join(parts)
    dest, sol = root / "katas" / rel, root / "solutions" / rel
    for d in (dest, sol):
        if d.exists():
            raise KataError(f"{d.relative_to(root)} exists already; pick another name")
    name = stem(parts[1])
    test_name = f"test_{name}.py"
    clash = [p for p in (root / "katas").glob(f"*/*/{test_name}")]
    if clash:
        raise KataError(f"{test_name} exists already in {clash[0].parent.relative_to(root)}: test file names "
                        "must be unique in the suite; pick another kata name")
    tests = sorted(p for p in like.dir.glob("test_*.py") if not p.name.startswith("test_hidden_"))
    if not tests:
        raise KataError(f"{like.rel} has no test file to start from")

    # The learner's file(s): a single file is renamed after the new kata; several keep their names.
    renames = {}
    if len(like.files) == 1:
        old = like.files[0]
        renames[old] = name + Path(old).suffix
    files = [renames.get(f, f) for f in like.files]

    def rename_in(text: str) -> str:
        for old, new in renames.items():
            text = re.sub(rf"(?<![\w.]){re.escape(old)}(?!\w)", new, text)
        return text

    dest.mkdir(parents=True)
    sol.mkdir(parents=True)
    title = title or stem(parts[1]).replace("_", " ").capitalize()
    toml = (like.dir / "kata.toml").read_text()
    toml = re.sub(r'(?m)^([ \t]*)title\s*=.*$', lambda m: f'{m.group(1)}title = "{title}"', toml, count=1)
    (dest / "kata.toml").write_text(rename_in(toml))
    (dest / "README.md").write_text(README.format(title=title, files=", ".join(files)))
    for f in like.files:
        shutil.copy2(like.dir / f, dest / renames.get(f, f))
        if (like.solution_dir / f).exists():
            shutil.copy2(like.solution_dir / f, sol / renames.get(f, f))
    (dest / test_name).write_text(f'"""Tests for {rel} (started from {like.rel}\'s tests by `kata new`: rewrite them)."""\n'
                                  + _strip_docstring(rename_in(tests[0].read_text())))
    if (like.dir / "support").is_dir():
        shutil.copytree(like.dir / "support", dest / "support")
    controls = like.solution_dir / "controls"
    if controls.is_dir():
        for p in sorted(controls.iterdir()):
            if p.is_dir():
                for f in p.iterdir():
                    (sol / "controls" / p.name).mkdir(parents=True, exist_ok=True)
                    shutil.copy2(f, sol / "controls" / p.name / renames.get(f.name, f.name))
            elif p.suffix == ".patch":
                (sol / "controls").mkdir(exist_ok=True)
                text = p.read_text()
                for old, new in renames.items():
                    text = text.replace(f"--- a/{old}\n", f"--- a/{new}\n").replace(f"+++ b/{old}\n", f"+++ b/{new}\n")
                (sol / "controls" / p.name).write_text(text)
    return load_kata(root, rel)


def _strip_docstring(text: str) -> str:
    m = re.match(r'\s*(?:"""|\'\'\')', text)
    if not m:
        return text
    q = text[m.end() - 3:m.end()]
    end = text.find(q, m.end())
    return text[end + 3:].lstrip("\n") if end >= 0 else text


def add_parser(sub) -> None:
    p = sub.add_parser("new", help="scaffold a kata shaped like a landed one (README, kata.toml, stub, "
                                   "test_<name>.py, solutions/)")
    p.add_argument("kata", help="MODULE/NN_name, e.g. 04_c_programming/07_ring_buffer")
    p.add_argument("--like", required=True, metavar="OTHER",
                   help="a landed kata of the same kind to start from (its language, tests, stub, controls)")
    p.add_argument("--title", help="the kata's title (default: from its name)")
    p.set_defaults(func=run)


def run(args) -> int:
    root = find_root()
    like = resolve(root, [args.like])
    if len(like) != 1:
        raise KataError(f"--like {args.like}: name one kata, not a module ({len(like)} katas match)")
    k = scaffold(root, args.kata, like[0], args.title)
    print(f"wrote katas/{k.rel}/ and solutions/{k.rel}/, shaped like {like[0].rel}:")
    for p in sorted((*k.dir.rglob("*"), *k.solution_dir.rglob("*"))):
        if p.is_file():
            print(f"  {p.relative_to(root)}")
    print(f"next: rewrite README.md, the stub, the reference, {', '.join(sorted(k.controls)) or 'the controls'} "
          f"and the tests, one at a time, with `python3 -m kata.cli check {k.rel}` after each "
          "(docs/authoring.md, 'Add a kata')")
    return 0
