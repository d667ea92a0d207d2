"""Terminal output for the learner's commands: colour and progress bars on a terminal, plain text elsewhere.

Colour only when the stream is a TTY (and NO_COLOR is unset, TERM is not dumb); block characters and
symbols whenever the stream can encode them, ASCII otherwise.
"""
from __future__ import annotations

import os
import sys

COLORS = {"red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35, "cyan": 36, "dim": 2, "bold": 1}


class Term:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.color = self.tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
        enc = (getattr(self.stream, "encoding", None) or "").lower().replace("-", "")
        self.unicode = enc.startswith("utf")

    def c(self, text: str, *styles: str) -> str:
        if not self.color or not styles:
            return text
        codes = ";".join(str(COLORS[s]) for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    def sym(self, fancy: str, plain: str) -> str:
        return fancy if self.unicode else plain

    def bar(self, full: int, half: int, total: int, width: int = 24) -> str:
        """A bar: `full` of `total` solid, the next `half` shaded, the rest light."""
        if total <= 0:
            return self.sym("░", ".") * width
        a = round(width * full / total)
        b = round(width * (full + half) / total) - a
        solid, shaded, light = self.sym("█", "#"), self.sym("▓", "="), self.sym("░", ".")
        return self.c(solid * a, "green") + self.c(shaded * b, "cyan") + self.c(light * (width - a - b), "dim")

    def clear(self) -> None:
        if self.tty:
            self.stream.write("\033[2J\033[H")

    def print(self, *parts: str) -> None:
        print(*parts, file=self.stream, flush=True)
