"""The `kata` fixture: what a test gets from the implementation under test, ready to call.

  kata.file(name)            the path of a learner file (a clear MISSING FILE failure if absent)
  kata.support(name)         an instructor-owned file in the kata's support/ folder
  kata.module(name)          a learner .py file, imported (import errors show the learner's frames only)
  kata.library(cdef, ...)    the learner's C/C++/asm built into a shared library, loaded with cffi
  kata.library_file(...)     that library's file, built but not loaded (for objdump)
  kata.program(driver, ...)  a driver program from support/ built with the learner's code
  kata.cuda_report(name)     nvcc's resource report (registers, spills, shared memory)
  kata.cuda_library(cdef)    the learner's CUDA built into a shared library
  kata.probe(name)           an instructor's probe module from support/, loaded where the learner's code is
  kata.record(**metrics)     figures attached to this test's report and the grader's output
  kata.cached(key, build)    build() once per test (native.sanitize's counted libraries use it)
"""
from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path

import pytest

from kata import admission, tritonlint  # imported here: a confined worker cannot import it later
from kata.layout import Kata, display_path
from kata.session import impl_dir, kata_of, root_of


class LearnerImportError(Exception):
    """The learner's Python file does not import: the message shows only the learner's frames."""

    learner_facing = True  # kata.failures shows the message alone, without a traceback


def import_learner_file(path: Path, modname: str, shown: str):
    """Import a learner's .py file as module `modname`. An error while importing it becomes a
    LearnerImportError that shows the learner's own frames only, the file named `shown`."""
    from kata.trust import refuse_learner_code_here
    refuse_learner_code_here(f"the learner's {shown}")
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
            raise LearnerImportError(f"YOUR FILE DOES NOT IMPORT: {shown}\n{lines.replace(str(path), shown)}") from None
        raise LearnerImportError(f"YOUR FILE DOES NOT IMPORT: {shown} raised {type(e).__name__}: {e}\n"
                                 f"{lines.replace(str(path), shown)}") from None
    if "triton" in sys.modules:  # what only a GPU's compiler would refuse, refused on the CPU too
        found = tritonlint.problems(mod, shown)
        if found:
            raise LearnerImportError("YOUR KERNEL WOULD NOT COMPILE ON A GPU:\n  - " + "\n  - ".join(found))
    return mod


class KataContext:
    """What a test gets from the `kata` fixture: the implementation under test, ready to call."""

    def __init__(self, kata: Kata, impl: Path, root: Path, request):
        self.kata, self.impl, self.root, self._request = kata, impl, root, request
        self._loaded: dict = {}  # built libraries, reused across hypothesis examples of one test

    def __repr__(self) -> str:
        return f"<kata {self.kata.rel}: testing {display_path(self.impl, self.root)}>"

    # -- files
    def file(self, name: str | None = None) -> Path:
        """Path of a learner file under test (defaults to the kata's only file)."""
        if name is None:
            if len(self.kata.files) != 1:
                raise ValueError(f"{self.kata.rel} has several files; name one of {self.kata.files}")
            name = self.kata.files[0]
        path = self.impl / name
        if not path.exists():
            pytest.fail(f"MISSING FILE: {display_path(path, self.root)} does not exist (the kata expects {self.kata.files})",
                        pytrace=False)
        if name in self.kata.files and ("admitted", name) not in self._loaded:
            self._admit(path)  # every use of a learner file comes through here: build, import, sanitize
            self._loaded[("admitted", name)] = True
        return path

    def _admit(self, path: Path) -> None:
        """kata.admission: refuse a learner file that reaches the grader, before it is built or imported."""
        if path.suffix == ".py":
            admission.admit_python(path, self.policy, display_path(path, self.root), self.root)
        elif path.suffix in (".c", ".cc", ".cpp", ".cxx", ".s", ".S", ".cu"):
            admission.admit_native([path], self.kata.language, self.policy, self.root, self.include_dirs)

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

    # -- where learner code runs
    @property
    def separate(self) -> bool:
        """Does learner code run in a worker of its own (kata.remote), apart from this test?"""
        from kata import judging
        return judging._SEPARATE and judging.shared_reason(self._request.node) is None

    # -- Python and Triton
    def module(self, name: str | None = None):
        """Import a learner .py file (fresh in each test, which runs in its own process). When the judge
        is separate (kata grade), the file is imported in the learner's worker and this is its proxy."""
        if ("py", name) in self._loaded:
            return self._loaded[("py", name)]
        if name is None:
            py = [f for f in self.kata.files if f.endswith(".py")]
            if len(py) != 1:
                raise ValueError(f"name the module: {self.kata.files}")
            name = py[0]
        path = self.file(name)
        if self.separate:
            from kata import judging
            files = {f: (self.impl / f).read_bytes() for f in self.kata.files
                     if f.endswith(".py") and (self.impl / f).is_file()}
            for f in files:
                if f != name:
                    self.file(f)  # admission for the learner's other modules too
            mod = judging.judge().load_module(path, files, display_path(path, self.root))
            self._loaded[("py", name)] = mod
            return mod
        mod = import_learner_file(path, f"kata_impl_{self.kata.name}_{path.stem}", display_path(path, self.root))
        self._loaded[("py", name)] = mod
        return mod

    def probe(self, name: str):
        """An instructor's module from the kata's support/ folder (`name`, e.g. "probes.py"), loaded in
        the process that holds the learner's code: in the learner's worker when the judge is separate,
        here otherwise. Its functions do what must happen beside the learner's library (read and write
        memory at the addresses it returns, walk its structs) and return data: handles the test passes
        (a `kata.library()`) arrive there as the learner's own objects, and only numbers, arrays and the
        like come back, for the test to judge. It sees the learner's objects, so what it returns is as
        trustworthy as the learner's own outputs: check it, as those are checked."""
        if ("probe", name) in self._loaded:
            return self._loaded[("probe", name)]
        path = self.kata.dir / "support" / name
        if path.suffix != ".py" or not path.is_file():
            raise FileNotFoundError(f"{self.kata.rel}: no probe support/{name} (a .py file beside the tests)")
        if self.separate:
            from kata import judging
            mod = judging.judge().load_probe(path)
        else:
            spec = importlib.util.spec_from_file_location(f"kata_probe_{self.kata.name}_{path.stem}", path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
        self._loaded[("probe", name)] = mod
        return mod

    # -- native code
    def _sources(self, sources) -> list[Path]:
        if sources is None:
            sources = [f for f in self.kata.files if Path(f).suffix in (".c", ".cc", ".cpp", ".s", ".S", ".cu")]
        return [self.file(s) for s in sources]

    @property
    def policy(self) -> admission.Policy:
        """What this kata allows the learner's files beyond the defaults (kata.toml [admission])."""
        if "policy" not in self.__dict__:
            import tomllib
            data = tomllib.loads((self.kata.dir / "kata.toml").read_text())
            self.__dict__["policy"] = admission.Policy.from_toml(data.get("admission"))
        return self.__dict__["policy"]

    def library_file(self, sources: list[str] | None = None, flags: list[str] = ()) -> Path:
        """The shared library `library()` loads, built (cached) but not loaded: a file for the test to
        read (objdump), here in the test's process even when the judge is separate."""
        from native.build import build_library

        return build_library(self._sources(sources), root=self.root, include_dirs=self.include_dirs, flags=flags).path

    def library(self, cdef: str, sources: list[str] | None = None, flags: list[str] = (),
                extra_sources: list[Path] = ()):
        """Build the learner's C/C++/asm into a shared library (cached) and load it with cffi.

        `extra_sources` are harness or test-side files linked in too (e.g. native/abi/abi_call.S)."""
        from native.build import build_library

        key = ("so", cdef, tuple(sources or ()), tuple(flags), tuple(map(str, extra_sources)))
        if key not in self._loaded:
            built = build_library([*self._sources(sources), *map(Path, extra_sources)], root=self.root,
                                  include_dirs=self.include_dirs, flags=flags)
            self._loaded[key] = self.load_native(built.path, cdef)
        return self._loaded[key]

    def load_native(self, path: Path, cdef: str, kind: str = "plain"):
        """The built library, loaded here, or in the learner's worker when the judge is separate. `kind`
        names the harness's class around it (kata.remote.LIBRARY_KINDS: plain, counted, syscall,
        threads); every helper that loads learner code comes through here."""
        if self.separate:
            from kata import judging
            return judging.judge().load_library(path, cdef, kind)
        from kata.remote import library_class
        return library_class(kind)(path, cdef)

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

        key = ("cuda", cdef, tuple(sources or ()))
        if key not in self._loaded:
            built = build_cuda_library(self._sources(sources), root=self.root, include_dirs=self.include_dirs)
            self._loaded[key] = self.load_native(built.path, cdef)
        return self._loaded[key]

    def cached(self, key, build):
        """`build()`'s result, built once per test and reused across its hypothesis examples (a
        library, a program); `key` names what was built and how."""
        if key not in self._loaded:
            self._loaded[key] = build()
        return self._loaded[key]

    # -- reporting
    def record(self, **metrics) -> None:
        """Attach figures (counts, GB/s, ratios) to this test's report and the grader's output."""
        for k, v in metrics.items():
            self._request.node.user_properties.append((k, v))


@pytest.fixture
def kata(request) -> KataContext:
    """The implementation under test of the kata this test belongs to."""
    k = kata_of(request.node)
    if k is None:
        raise pytest.UsageError(f"{request.node.nodeid}: the `kata` fixture is only for tests inside katas/")
    ctx = KataContext(k, impl_dir(request.config, k), root_of(request.config), request)
    if ctx.separate:  # from here on, learner code loaded in this process is a harness mistake
        from kata import trust
        trust.NO_LEARNER_CODE = True
    return ctx
