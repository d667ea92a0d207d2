"""Native builds are cached by content, safe under concurrency, and show the compiler's own errors."""
import multiprocessing as mp
from pathlib import Path

import pytest

from native.build import BuildError, build_library, parse_ptxas


def _src(tmp_path, body="int f(void) { return 1; }\n", name="f.c"):
    p = tmp_path / name
    p.write_text(body)
    return p


def test_second_build_is_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("KATA_CACHE", str(tmp_path / "cache"))
    src = _src(tmp_path)
    first = build_library([src], root=tmp_path)
    second = build_library([src], root=tmp_path)
    assert not first.cached and second.cached and first.path == second.path


def test_changed_source_or_flags_rebuild(tmp_path, monkeypatch):
    monkeypatch.setenv("KATA_CACHE", str(tmp_path / "cache"))
    src = _src(tmp_path)
    a = build_library([src], root=tmp_path)
    src.write_text("int f(void) { return 2; }\n")
    b = build_library([src], root=tmp_path)
    c = build_library([src], root=tmp_path, flags=["-O0"])
    assert len({a.path, b.path, c.path}) == 3 and not b.cached and not c.cached


def test_changed_header_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setenv("KATA_CACHE", str(tmp_path / "cache"))
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "v.h").write_text("#define V 1\n")
    src = _src(tmp_path, '#include "v.h"\nint f(void) { return V; }\n')
    a = build_library([src], root=tmp_path, include_dirs=[inc])
    (inc / "v.h").write_text("#define V 2\n")
    b = build_library([src], root=tmp_path, include_dirs=[inc])
    assert a.path != b.path


def _build_one(args):
    root, src = args
    return str(build_library([Path(src)], root=Path(root)).path), build_library([Path(src)], root=Path(root)).cached


def test_concurrent_builds_build_once(tmp_path, monkeypatch):
    monkeypatch.setenv("KATA_CACHE", str(tmp_path / "cache"))
    src = _src(tmp_path, "int g(void) { return 7; }\n")
    with mp.get_context("spawn").Pool(6) as pool:
        results = pool.map(_build_one, [(str(tmp_path), str(src))] * 6)
    assert len({p for p, _ in results}) == 1
    builds = [d for d in (tmp_path / "cache" / "build").iterdir() if d.is_dir()]
    assert len(builds) == 1, "one finished build folder, no leftovers from racing builders"


def test_compile_error_is_the_compilers_own(tmp_path, monkeypatch):
    monkeypatch.setenv("KATA_CACHE", str(tmp_path / "cache"))
    src = _src(tmp_path, "int f(void) { return x; }\n", name="learner.c")
    with pytest.raises(BuildError) as e:
        build_library([src], root=tmp_path)
    assert "learner.c:1:22: error: 'x' undeclared" in e.value.output
    assert not (tmp_path / "cache" / "build").exists() or not any(
        d.is_dir() for d in (tmp_path / "cache" / "build").iterdir())


def test_parse_ptxas_report():
    text = """ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z3addPKfS0_Pfi' for 'sm_90'
ptxas info    : Function properties for _Z3addPKfS0_Pfi
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 10 registers, 4096 bytes smem, 380 bytes cmem[0]
"""
    k = parse_ptxas(text)["_Z3addPKfS0_Pfi"]
    assert (k.registers, k.shared_bytes, k.spill_stores, k.stack_bytes) == (10, 4096, 0, 0)
