"""The pytest plugin (loaded by the root conftest.py).

  --solutions          test the references in solutions/ instead of the learner's files in katas/
  --impl DIR           test the files in DIR instead (one kata only; `kata check` uses it for controls)
  --impl-map FILE      JSON {kata path: folder}: per-kata implementation folders (check, grading)
  --kata-report FILE   write every test's outcome, message and metrics as JSON (check, grading)
  --no-isolation       run tests in this process (for pdb); a crash in learner code then ends the run

Each test runs in a forked child (kata.isolation). The `kata` fixture hands a test what it needs from
the implementation under test: a Python module, a built native library, a CUDA resource report.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import sys
import traceback
from pathlib import Path

import pytest

from kata.layout import Kata, KataError, find_root, kata_for_path

# ------------------------------------------------------------------------------------------- the GPU


@functools.lru_cache(maxsize=None)
def has_gpu() -> bool:
    """Is there a CUDA GPU? Asked without initialising CUDA in this (parent) process, which must fork."""
    if os.environ.get("KATA_FORCE_CPU") == "1":
        return False
    if shutil.which("nvidia-smi") is None and not os.path.exists("/dev/nvidiactl"):
        return False
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    try:
        import torch
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001
        return False


# Triton reads TRITON_INTERPRET when a kernel is defined: set it before any learner module is imported.
if not has_gpu():
    os.environ["TRITON_INTERPRET"] = "1"


# Hypothesis: reproducible examples (a grade must not depend on luck), no example database written into
# the checkout, and the `kata` fixture is stateless so reusing it across examples is safe.
try:
    from hypothesis import HealthCheck, Phase, settings as _hyp_settings

    # No "explain" phase (slow on every failure); `kata check` needs only pass or fail, so it also
    # turns shrinking off (KATA_NO_SHRINK=1): a learner still gets the smallest failing example.
    _phases = [Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("KATA_NO_SHRINK") != "1":
        _phases.append(Phase.shrink)

    _hyp_settings.register_profile("kata", derandomize=True, database=None, deadline=None,
                                   report_multiple_bugs=False, phases=_phases,
                                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    _hyp_settings.load_profile("kata")
except ImportError:  # pragma: no cover
    pass

# ---------------------------------------------------------------------------------------- options


def pytest_addoption(parser):
    g = parser.getgroup("kata", "kata harness")
    g.addoption("--solutions", action="store_true", help="test the references in solutions/ instead of katas/")
    g.addoption("--impl", metavar="DIR", help="test the files in DIR instead (a single kata only)")
    g.addoption("--impl-map", metavar="FILE", help="JSON {kata path: folder} of implementations to test")
    g.addoption("--kata-report", metavar="FILE", help="write per-test outcomes and metrics as JSON")
    g.addoption("--no-isolation", action="store_true", help="run tests in-process (debugging with pdb)")
    g.addoption("--kata-timeout", type=float, metavar="S", help="override every test's time limit (seconds)")


def pytest_configure(config):
    config.stash[_STATE] = _State(config)


class _State:
    def __init__(self, config):
        self.config = config
        self.root = find_root(Path(str(config.rootpath)))
        self.reports: list[dict] = []
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


_STATE = pytest.StashKey[_State]()
_KATA = pytest.StashKey[Kata]()


def pytest_collection_modifyitems(session, config, items):
    state = config.stash[_STATE]
    katas = {}
    for item in items:
        try:
            kata = kata_for_path(state.root, Path(str(item.path)))
        except KataError as e:
            raise pytest.UsageError(str(e)) from None
        if kata is None:
            continue
        item.stash[_KATA] = kata
        katas[kata.rel] = kata
        if item.get_closest_marker("gpu") and not has_gpu():
            item.add_marker(pytest.mark.skip(
                reason="GPU tier: no CUDA GPU here; this check is skipped, not passed (run it on a GPU machine)"))
    if config.getoption("impl") and len(katas) > 1 and not hasattr(config, "workerinput"):
        raise pytest.UsageError(f"--impl names one folder but {len(katas)} katas were collected: "
                                "select a single kata (pytest katas/<module>/<kata> --impl DIR)")


def pytest_collection_finish(session):
    # torch imports some modules lazily on first use (symbolic shapes and sympy on the first backward):
    # import them once here, before forking, instead of once in every test's child.
    if "torch" in sys.modules:
        try:
            import torch.fx.experimental.symbolic_shapes  # noqa: F401
        except Exception:  # noqa: BLE001
            pass


# ------------------------------------------------------------------------------------- isolation


def _timeout(item) -> float:
    override = item.config.getoption("kata_timeout")
    if override:
        return override
    m = item.get_closest_marker("time_limit")
    if m:
        return float(m.args[0])
    kata = item.stash.get(_KATA, None)
    return kata.timeout if kata else 120.0


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    if item.config.getoption("no_isolation") or not hasattr(os, "fork"):
        return None
    from kata.isolation import run_isolated

    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    kata = item.stash.get(_KATA, None)
    for rep in run_isolated(item, nextitem, _timeout(item), kata.language if kata else None):
        item.ihook.pytest_runtest_logreport(report=rep)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


# ------------------------------------------------------------------------------- failure messages


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if call.excinfo is None or rep.outcome != "failed":
        return
    from native.build import BuildError, ToolchainMissing
    from native.measure import MeasureError

    exc = call.excinfo.value
    if isinstance(exc, BuildError):
        rep.longrepr = f"COMPILE ERROR: {exc.what}\n\n{exc.output}"
    elif isinstance(exc, ToolchainMissing):
        rep.longrepr = f"TOOLCHAIN MISSING: {exc} (run `kata doctor`)"
    elif isinstance(exc, MeasureError):
        rep.longrepr = f"MEASUREMENT FAILED: {exc}"
    elif isinstance(exc, LearnerImportError) or getattr(exc, "learner_facing", False):
        rep.longrepr = str(exc)
    elif isinstance(exc, NotImplementedError):
        where = _learner_frame(call.excinfo.tb, item)
        msg = str(exc)
        if msg.lower().startswith("not implemented yet"):
            msg = msg[len("not implemented yet"):].lstrip(" :")
        rep.longrepr = "NOT IMPLEMENTED YET: " + (msg or "this function is still a stub") + (
            f"\n  raised at {where}" if where else "")


def _learner_frame(tb, item) -> str | None:
    state = item.config.stash[_STATE]
    kata = item.stash.get(_KATA, None)
    if kata is None:
        return None
    learner_files = {str(state.impl_dir(kata) / f) for f in kata.files}
    where = None
    for frame, lineno in traceback.walk_tb(tb):
        fn = frame.f_code.co_filename
        if fn in learner_files:
            where = f"{_rel(Path(fn), state.root)}:{lineno} in {frame.f_code.co_name}()"
    return where


def _rel(p: Path, root: Path) -> str:
    try:
        return str(p.resolve().relative_to(root))
    except ValueError:
        return str(p)


# ------------------------------------------------------------------------------------------ report


class _Reporter:
    """Collects reports (also those xdist workers send to the controller) and writes --kata-report."""

    def __init__(self, config, path: Path):
        self.config, self.path, self.rows = config, path, {}

    def pytest_runtest_logreport(self, report):
        row = self.rows.setdefault(report.nodeid, {
            "nodeid": report.nodeid, "outcome": "passed", "when": "call", "message": "",
            "duration": 0.0, "markers": [], "metrics": {}, "kata": None,
        })
        row["duration"] += getattr(report, "duration", 0.0)
        for k, v in getattr(report, "user_properties", []):
            if k == "kata":
                row["kata"] = v
            elif k == "markers":
                row["markers"] = v
            else:
                row["metrics"][k] = v
        if report.failed or (report.skipped and row["outcome"] == "passed"):
            if row["outcome"] != "failed":
                row["outcome"] = "failed" if report.failed else "skipped"
                row["when"] = report.when
                if report.skipped and isinstance(report.longrepr, tuple):
                    row["message"] = str(report.longrepr[2])
                else:
                    row["message"] = str(report.longreprtext)[-4000:]

    def pytest_sessionfinish(self, session):
        if hasattr(self.config, "workerinput"):
            return  # an xdist worker: the controller writes the file
        self.path.write_text(json.dumps(sorted(self.rows.values(), key=lambda r: r["nodeid"]), indent=1))


def pytest_sessionstart(session):
    path = session.config.getoption("kata_report")
    if path:
        session.config.pluginmanager.register(_Reporter(session.config, Path(path)), "kata-reporter")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    kata = item.stash.get(_KATA, None)
    if kata is not None:
        markers = sorted({m.name for m in item.iter_markers()} & {"perf", "gpu", "wallclock", "interpret"})
        item.user_properties.append(("kata", kata.rel))
        item.user_properties.append(("markers", markers))
    if item.get_closest_marker("interpret"):
        os.environ["TRITON_INTERPRET"] = "1"  # in the forked child: this test's kernels run interpreted


# ---------------------------------------------------------------------------------- the fixture


class LearnerImportError(Exception):
    """The learner's Python file does not import: the message shows only the learner's frames."""


class KataContext:
    """What a test gets from the `kata` fixture: the implementation under test, ready to call."""

    def __init__(self, kata: Kata, impl: Path, root: Path, request):
        self.kata, self.impl, self.root, self._request = kata, impl, root, request
        self._loaded: dict = {}  # built libraries, reused across hypothesis examples of one test

    def __repr__(self) -> str:
        return f"<kata {self.kata.rel}: testing {_rel(self.impl, self.root)}>"

    # -- files
    def file(self, name: str | None = None) -> Path:
        """Path of a learner file under test (defaults to the kata's only file)."""
        if name is None:
            if len(self.kata.files) != 1:
                raise ValueError(f"{self.kata.rel} has several files; name one of {self.kata.files}")
            name = self.kata.files[0]
        path = self.impl / name
        if not path.exists():
            pytest.fail(f"MISSING FILE: {_rel(path, self.root)} does not exist (the kata expects {self.kata.files})",
                        pytrace=False)
        return path

    @property
    def test_dir(self) -> Path:
        return self.kata.dir

    def support(self, name: str) -> Path:
        """An instructor-owned file the tests build with (a valgrind or sanitizer driver, a shared
        header): it lives in the kata's support/ folder, apart from the learner's files."""
        path = self.kata.dir / "support" / name
        return path if path.exists() else self.kata.dir / name

    @property
    def include_dirs(self) -> list[Path]:
        return [self.kata.dir, self.kata.dir / "support"]

    # -- Python and Triton
    def module(self, name: str | None = None):
        """Import a learner .py file (fresh in each test, which runs in its own process)."""
        if ("py", name) in self._loaded:
            return self._loaded[("py", name)]
        if name is None:
            py = [f for f in self.kata.files if f.endswith(".py")]
            if len(py) != 1:
                raise ValueError(f"name the module: {self.kata.files}")
            name = py[0]
        path = self.file(name)
        modname = f"kata_impl_{self.kata.name}_{path.stem}"
        spec = importlib.util.spec_from_file_location(modname, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        try:
            spec.loader.exec_module(mod)
        except NotImplementedError:
            raise
        except Exception as e:  # noqa: BLE001
            frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == str(path)]
            lines = "".join(traceback.format_list(frames)) if frames else ""
            if isinstance(e, SyntaxError):
                lines = "".join(traceback.format_exception_only(type(e), e))
                raise LearnerImportError(f"YOUR FILE DOES NOT IMPORT: {_rel(path, self.root)}\n{lines}") from None
            raise LearnerImportError(f"YOUR FILE DOES NOT IMPORT: {_rel(path, self.root)} raised "
                                     f"{type(e).__name__}: {e}\n{lines}") from None
        self._loaded[("py", name)] = mod
        return mod

    # -- native code
    def _sources(self, sources) -> list[Path]:
        if sources is None:
            sources = [f for f in self.kata.files if Path(f).suffix in (".c", ".cc", ".cpp", ".s", ".S", ".cu")]
        return [self.file(s) for s in sources]

    def library(self, cdef: str, sources: list[str] | None = None, flags: list[str] = (),
                extra_sources: list[Path] = ()):
        """Build the learner's C/C++/asm into a shared library (cached) and load it with cffi.

        `extra_sources` are harness or test-side files linked in too (e.g. native/abi/abi_call.S)."""
        from native.build import build_library
        from native.ffi import NativeLibrary

        key = ("so", cdef, tuple(sources or ()), tuple(flags), tuple(map(str, extra_sources)))
        if key not in self._loaded:
            built = build_library([*self._sources(sources), *map(Path, extra_sources)], root=self.root,
                                  include_dirs=self.include_dirs, flags=flags)
            self._loaded[key] = NativeLibrary(built.path, cdef)
        return self._loaded[key]

    def program(self, driver: str, sources: list[str] | None = None, flags: list[str] = ()) -> Path:
        """Build a driver program (a .c file in the kata's support/) with the learner's code; for valgrind."""
        from native.build import build_program

        built = build_program([self.support(driver), *self._sources(sources)], root=self.root,
                              include_dirs=self.include_dirs, flags=flags)
        return built.path

    def cuda_report(self, name: str | None = None):
        from native.build import cuda_report

        return cuda_report(self._sources([name] if name else None)[0], root=self.root, include_dirs=self.include_dirs)

    def cuda_library(self, cdef: str, sources: list[str] | None = None):
        from native.build import build_cuda_library
        from native.ffi import NativeLibrary

        key = ("cuda", cdef, tuple(sources or ()))
        if key not in self._loaded:
            built = build_cuda_library(self._sources(sources), root=self.root, include_dirs=self.include_dirs)
            self._loaded[key] = NativeLibrary(built.path, cdef)
        return self._loaded[key]

    # -- reporting
    def record(self, **metrics) -> None:
        """Attach figures (counts, GB/s, ratios) to this test's report and the grader's output."""
        for k, v in metrics.items():
            self._request.node.user_properties.append((k, v))


@pytest.fixture
def kata(request) -> KataContext:
    state = request.config.stash[_STATE]
    k = request.node.stash.get(_KATA, None)
    if k is None:
        raise pytest.UsageError(f"{request.node.nodeid}: the `kata` fixture is only for tests inside katas/")
    return KataContext(k, state.impl_dir(k), state.root, request)


@pytest.fixture
def device() -> str:
    """'cuda' on a GPU machine, else 'cpu' (Triton then runs in its interpreter)."""
    return "cuda" if has_gpu() and os.environ.get("TRITON_INTERPRET") != "1" else "cpu"
