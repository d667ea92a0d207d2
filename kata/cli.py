"""The `kata` command. Each subcommand lives in its own module, which provides

    add_parser(subparsers)   registers its arguments (set `func=run` with set_defaults)
    run(args) -> int         does the work and returns the exit status

and is listed in COMMANDS below. Errors a user can cause (an unknown kata, a missing folder) are raised
as KataError and printed as one line, with exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from kata.layout import KataError

COMMANDS = [
    "kata.commands_basic",   # list, ci
    "kata.check",            # check
    "kata.grade",            # grade
    "kata.release",          # release (and the Gradescope autograder bundle)
    "kata.learner",          # progress, next, hint, watch, diff
    "kata.doctor",           # doctor
    "kata.controls",         # controls (list; --to-patches)
    "kata.scaffold",         # new
    "kata.gpureport",        # gpu-report (on a GPU machine)
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kata", description="ML-systems katas: learn by making failing tests pass.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KataError as e:
        print(f"kata {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
