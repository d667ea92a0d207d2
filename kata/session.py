"""Which kata each collected test belongs to, and which implementation of it the session tests.

  --solutions          test the references in solutions/ instead of the learner's files in katas/
  --impl DIR           test the files in DIR instead (one kata only; `kata check` uses it for controls)
  --impl-map FILE      JSON {kata path: folder}: per-kata implementation folders (check, grading)

Public names for the other plugin modules: kata_of(item), impl_dir(config, kata), root_of(config).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from kata.layout import Kata, KataError, find_root, kata_for_path


def pytest_addoption(parser):
    g = parser.getgroup("kata", "kata harness")
    g.addoption("--solutions", action="store_true", help="test the references in solutions/ instead of katas/")
    g.addoption("--impl", metavar="DIR", help="test the files in DIR instead (a single kata only)")
    g.addoption("--impl-map", metavar="FILE", help="JSON {kata path: folder} of implementations to test")


class _Selection:
    def __init__(self, config):
        self.config = config
        self.root = find_root(Path(str(config.rootpath)))
        self.impl_map: dict[str, Path] = {}
        if config.getoption("impl_map"):
            p = Path(config.getoption("impl_map"))
            try:
                self.impl_map = {k: Path(v) for k, v in json.loads(p.read_text()).items()}
            except (OSError, ValueError) as e:
                raise pytest.UsageError(f"--impl-map {p}: cannot read it as JSON: {e}") from None
        impl = config.getoption("impl")
        if impl and not Path(impl).is_dir():
            raise pytest.UsageError(f"--impl {impl}: no such folder")
        if impl and config.getoption("solutions"):
            raise pytest.UsageError("--impl and --solutions exclude each other")

    def impl_dir(self, kata: Kata) -> Path:
        if kata.rel in self.impl_map:
            return self.impl_map[kata.rel].resolve()
        impl = self.config.getoption("impl")
        if impl:
            return Path(impl).resolve()
        if self.config.getoption("solutions"):
            return kata.solution_dir
        return kata.dir


_SELECTION = pytest.StashKey[_Selection]()
_KATA = pytest.StashKey[Kata]()


def root_of(config) -> Path:
    """The kata checkout this session runs in."""
    return config.stash[_SELECTION].root


def impl_dir(config, kata: Kata) -> Path:
    """The folder holding the implementation of `kata` under test (katas/, solutions/, --impl...)."""
    return config.stash[_SELECTION].impl_dir(kata)


def kata_of(item) -> Kata | None:
    """The kata a collected test belongs to (None for a test outside katas/)."""
    return item.stash.get(_KATA, None)


def pytest_configure(config):
    config.stash[_SELECTION] = _Selection(config)


@pytest.hookimpl(tryfirst=True)  # before kata.gpu and kata.gradeplugin look at the items
def pytest_collection_modifyitems(session, config, items):
    root = root_of(config)
    katas = {}
    for item in items:
        try:
            kata = kata_for_path(root, Path(str(item.path)))
        except KataError as e:
            raise pytest.UsageError(str(e)) from None
        if kata is None:
            continue
        item.stash[_KATA] = kata
        katas[kata.rel] = kata
    if config.getoption("impl") and len(katas) > 1 and not hasattr(config, "workerinput"):
        raise pytest.UsageError(f"--impl names one folder but {len(katas)} katas were collected: "
                                "select a single kata (pytest katas/<module>/<kata> --impl DIR)")
