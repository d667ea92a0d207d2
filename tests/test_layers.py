"""The harness's layers (kata/__init__.py draws them): no private name crosses a module, native/ and
the base modules never import pytest or the plugin, and kata.plugin stays the entry that registers
the others."""
import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BASE = {"kata.layout", "kata.signals", "kata.schema", "kata.term", "kata.trust"}
PLUGIN = {"kata.session", "kata.gpu", "kata.hypothesis_profile", "kata.isolation", "kata.failures",
          "kata.report", "kata.context", "kata.judging"}


def _imports(path: Path):
    """(module, names) for each import in the file, at any depth."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, []


HARNESS = sorted([*REPO.glob("kata/*.py"), *REPO.glob("native/*.py")])


@pytest.mark.parametrize("path", HARNESS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_private_name_crosses_a_module(path):
    for module, names in _imports(path):
        if module.startswith(("kata", "native")):
            private = [n for n in names if n.startswith("_")]
            assert not private, f"{path.name} imports {private} from {module}: give it a public name"


@pytest.mark.parametrize("path", [p for p in HARNESS if p.parent.name == "native"
                                  or f"kata.{p.stem}" in BASE], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_native_and_base_stay_below_the_plugin(path):
    for module, _ in _imports(path):
        assert module.split(".")[0] not in ("pytest", "_pytest"), f"{path.name} imports {module}"
        if module.startswith("kata"):
            assert module in BASE or module == "kata", f"{path.name} imports {module}, above its layer"


def test_the_plugin_entry_registers_every_module():
    import kata.plugin

    assert set(kata.plugin.pytest_plugins) == PLUGIN
    assert kata.plugin.has_gpu is __import__("kata.gpu").gpu.has_gpu  # the old import path still works
