"""Fixtures for the harness's own tests: a throw-away checkout with katas made up on the spot."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class Checkout:
    """A minimal kata checkout in a temporary folder: pytest.ini, the root conftest.py, katas/, solutions/."""

    def __init__(self, path: Path):
        self.path = path
        (path / "katas").mkdir(parents=True)
        (path / "solutions").mkdir()
        shutil.copy(REPO / "pytest.ini", path / "pytest.ini")
        shutil.copy(REPO / "conftest.py", path / "conftest.py")

    def write(self, rel: str, text: str) -> Path:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"))
        return p

    def submit(self, rel: str, file: str, text: str) -> Path:
        """Put `text` as katas/<rel>/<file> of the learner's submission beside the checkout; returns the
        submission's folder (what `kata grade` is given)."""
        sub = self.path.parent / "submission"
        dest = sub / "katas" / rel / file
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
        return sub

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "KATA_"))}
        env["KATA_CACHE"] = str(self.path / ".kata_cache")
        env["PYTHONPATH"] = str(REPO)
        return env

    def pytest(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=self.path, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)

    def kata(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "kata.cli", *args], cwd=self.path, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def checkout(tmp_path) -> Checkout:
    return Checkout(tmp_path / "repo")


README = """
# Demo
## Idea
Doubling.
## Task
Write double().
## How it is graded, and why
Exactly.
## Hints
1. Multiply by two.
2. `return [2 * x for x in xs]`.
"""


def add_python_kata(co: Checkout, rel: str = "99_demo/01_double", *, stub: str | None = None,
                    reference: str | None = None, controls: dict[str, str] | None = None) -> None:
    """A tiny Python kata: double(xs). Its perf gate counts Python calls (deterministic)."""
    co.write(f"katas/{rel}/README.md", README)
    control_lines = "".join(f'{name} = "demo control"\n' for name in (controls or {}))
    co.write(f"katas/{rel}/kata.toml", f"""
        title = "Double"
        difficulty = 1
        language = "python"
        files = ["double.py"]
        points = 5
        timeout = 20
        admission = {{imports = ["os", "signal", "sys", "time"]}}
        [grading]
        judge = "shared"
        judge_why = "the perf gate counts Python calls with sys.setprofile in the test's process"
        [controls]
        """ + control_lines)
    co.write(f"katas/{rel}/double.py", stub or """
        def double(xs):
            raise NotImplementedError("double.py: double()")
        """)
    co.write(f"katas/{rel}/test_double.py", """
        import sys
        import pytest

        def test_values(kata):
            assert kata.module().double([1, 2, 3]) == [2, 4, 6]

        def test_empty(kata):
            assert kata.module().double([]) == []

        @pytest.mark.perf
        def test_few_calls(kata):
            f = kata.module().double
            calls = []
            sys.setprofile(lambda frame, event, arg: calls.append(1) if event == "call" else None)
            try:
                f(list(range(1000)))
            finally:
                sys.setprofile(None)
            assert len(calls) <= 10, f"{len(calls)} Python calls for 1000 elements"
        """)
    co.write(f"solutions/{rel}/double.py", reference or """
        def double(xs):
            return [2 * x for x in xs]
        """)
    for name, text in (controls or {}).items():
        co.write(f"solutions/{rel}/controls/{name}/double.py", text)


NAIVE = """
def _twice(x):
    return 2 * x

def double(xs):
    return [_twice(x) for x in xs]
"""
WRONG = """
def double(xs):
    return [2 * x for x in xs[:-1]]
"""
