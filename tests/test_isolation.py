"""A crash, a hang or a compile error in learner code fails one test with a clear word; the run goes on."""
import time
from pathlib import Path

import pytest

C_KATA_TOML = """
title = "Demo C"
difficulty = 1
language = "c"
files = ["demo.c"]
points = 1
timeout = {timeout}
[admission]
symbols = ["constructor"]
"""
C_TEST = """
import pytest

CDEF = "int answer(void);"

def test_answer(kata):
    assert kata.library(CDEF).answer() == 42

def test_still_runs_after(kata):
    assert 1 + 1 == 2
"""


def c_kata(co, source: str, timeout: float = 20):
    co.write("katas/98_demo/01_c/kata.toml", C_KATA_TOML.format(timeout=timeout))
    co.write("katas/98_demo/01_c/test_demo.py", C_TEST)
    co.write("katas/98_demo/01_c/demo.c", source)
    co.write("solutions/98_demo/01_c/demo.c", "int answer(void) { return 42; }\n")


def py_kata(co, rel: str, source: str, test: str, extra_toml: str = "") -> None:
    """A one-file Python kata at katas/97_py/REL ("01_crash"): crash.py holds `source`, test_it.py `test`."""
    name = rel.split("_", 1)[1]
    co.write(f"katas/97_py/{rel}/kata.toml",
             f'title = "{name}"\ndifficulty = 1\nlanguage = "python"\nfiles = ["{name}.py"]\npoints = 1\n' + extra_toml)
    co.write(f"katas/97_py/{rel}/{name}.py", source)
    co.write(f"katas/97_py/{rel}/test_it.py", test)


def test_segfault_at_load_time(checkout):
    c_kata(checkout, """
        int *volatile nowhere = 0;
        __attribute__((constructor)) static void boom(void) { *nowhere = 1; }
        int answer(void) { return 42; }
        """)
    r = checkout.pytest("katas")
    assert "CRASH: the test process died with SIGSEGV" in r.stdout
    assert "1 failed, 1 passed" in r.stdout, r.stdout


def test_division_by_zero(checkout):
    c_kata(checkout, """
        volatile int zero = 0;
        int answer(void) { return 42 / zero; }
        """)
    r = checkout.pytest("katas")
    assert "SIGFPE" in r.stdout and "division by zero" in r.stdout
    assert "1 failed, 1 passed" in r.stdout


def test_endless_loop_times_out(checkout):
    c_kata(checkout, """
        volatile int spin = 1;
        int answer(void) { while (spin) {} return 42; }
        """, timeout=2)
    r = checkout.pytest("katas")
    assert "TIME-OUT: the test ran past its limit of 2 s" in r.stdout
    assert "1 failed, 1 passed" in r.stdout


def test_compile_error_shows_compiler_lines(checkout):
    c_kata(checkout, """
        int answer(void) {
            return 42
        }
        """)
    r = checkout.pytest("katas")
    assert "COMPILE ERROR: katas/98_demo/01_c/demo.c did not compile" in r.stdout
    assert "katas/98_demo/01_c/demo.c:2:14: error: expected ';'" in r.stdout
    for noise in ("setuptools", "Traceback", "distutils", "build_ext"):
        assert noise not in r.stdout
    assert "1 failed, 1 passed" in r.stdout


def test_undefined_symbol_is_a_link_error_not_a_crash(checkout):
    c_kata(checkout, """
        int helper(void);
        int answer(void) { return helper(); }
        """)
    r = checkout.pytest("katas")
    assert "COMPILE ERROR: the library did not link" in r.stdout
    assert "undefined reference to `helper'" in r.stdout


def test_stub_says_not_implemented(checkout):
    c_kata(checkout, """
        #include "kata.h"
        int answer(void) { KATA_TODO(); return 0; }
        """)
    r = checkout.pytest("katas")
    assert "NOT IMPLEMENTED YET: katas/98_demo/01_c/demo.c:2 answer()" in r.stdout


def test_python_abort_and_exit(checkout):
    py_kata(checkout, "01_crash", """
        import ctypes, os
        def segv():
            ctypes.string_at(0)
        def leave():
            os._exit(0)
        def syntax_ok():
            return 1
        """, """
        def test_segv(kata):
            kata.module().segv()
        def test_exit(kata):
            kata.module().leave()
        def test_fine(kata):
            assert kata.module().syntax_ok() == 1
        """, "[admission]\nimports = [\"ctypes\", \"os\"]\n")
    r = checkout.pytest("katas")
    assert "SIGSEGV" in r.stdout
    assert "exited (status 0) before reporting" in r.stdout
    assert "2 failed, 1 passed" in r.stdout


def test_a_process_left_holding_the_report_pipe_does_not_hang_the_test(checkout):
    # A test that starts a helper process and fails before releasing it: the helper, forked from the
    # test's child, holds the report pipe open. The verdict must come when the child ends, not at the
    # time limit, and the helper must not outlive the test.
    py_kata(checkout, "02_left", "def value():\n    return 1\n", """
        import os, time
        def test_helper_left_waiting(kata, tmp_path):
            pid = os.fork()
            if pid == 0:
                time.sleep(120)
                os._exit(0)
            (tmp_path.parent.parent / "helper.pid").write_text(str(pid))
            assert kata.module().value() == 2, "the value is wrong"
        def test_next(kata):
            assert kata.module().value() == 1
        """, "timeout = 60\n")
    t0 = time.monotonic()
    r = checkout.pytest("katas", "--basetemp", str(checkout.path / "bt"))
    assert time.monotonic() - t0 < 40, "the test waited for the helper instead of its own process"
    assert "the value is wrong" in r.stdout and "TIME-OUT" not in r.stdout
    assert "1 failed, 1 passed" in r.stdout, r.stdout
    stat = Path(f"/proc/{int((checkout.path / 'helper.pid').read_text())}/stat")
    for _ in range(50):  # killed: gone, or a zombie until whoever adopted it waits for it
        if not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.1)
    else:
        pytest.fail("the helper process outlived its test")


def test_python_syntax_error_names_the_line(checkout):
    py_kata(checkout, "01_bad", "def f(:\n    pass\n", "def test_f(kata):\n    kata.module().f()\n")
    r = checkout.pytest("katas")
    assert "YOUR FILE DOES NOT IMPORT: katas/97_py/01_bad/bad.py" in r.stdout
    assert "line 1" in r.stdout and "SyntaxError" in r.stdout


def test_runs_under_xdist(checkout):
    c_kata(checkout, """
        volatile int zero = 0;
        int answer(void) { return 42 / zero; }
        """)
    r = checkout.pytest("katas", "-n", "2")
    assert "SIGFPE" in r.stdout
    assert "1 failed, 1 passed" in r.stdout


def test_gpu_tests_skip_visibly_without_gpu(checkout, monkeypatch):
    c_kata(checkout, "int answer(void) { return 42; }\n")
    checkout.write("katas/98_demo/01_c/test_gpu.py", """
        import pytest
        @pytest.mark.gpu
        def test_on_gpu(kata):
            assert False
        """)
    r = checkout.pytest("katas", "--solutions")
    assert "skipped, not passed" in r.stdout
    assert "2 passed, 1 skipped" in r.stdout


def test_a_library_loaded_beside_a_separate_judge_is_refused(checkout):
    """Under --kata-judge separate, learner code loaded in the test's own process (a helper that went
    around KataContext.load_native) fails the test with NotSeparable instead of running there."""
    c_kata(checkout, "int answer(void) { return 42; }\n")
    checkout.write("katas/98_demo/01_c/test_direct.py", """
        from native.build import build_library
        from native.ffi import NativeLibrary

        def test_loaded_here(kata):
            built = build_library([kata.file("demo.c")], root=kata.root, include_dirs=kata.include_dirs)
            assert NativeLibrary(built.path, "int answer(void);").lib.answer() == 42
        """)
    r = checkout.pytest("katas", "--kata-judge=separate", "--kata-preload=native.ffi")
    assert "1 failed, 2 passed" in r.stdout, r.stdout[-3000:]
    assert "NotSeparable: the library" in r.stdout and "judging process of a separate judge" in r.stdout
    r = checkout.pytest("katas")  # the learner's own pytest: loaded here, as always
    assert "3 passed" in r.stdout, r.stdout[-3000:]


@pytest.mark.parametrize("body, signal_name", [("*nowhere = 1; return 42;", "SIGSEGV"),
                                              ("return 42 / zero;", "SIGFPE"),
                                              ("abort(); return 42;", "SIGABRT")])
def test_a_crash_in_the_learner_process_names_its_signal(checkout, body, signal_name):
    """Under a separate judge the worker's parent is the sandbox's zygote, not the test: the signal that
    ended it still reaches the failure message (the worker's faulthandler writes it to the judge)."""
    c_kata(checkout, "#include <stdlib.h>\nint *volatile nowhere = 0;\nvolatile int zero = 0;\n"
                     f"int answer(void) {{ {body} }}\n")
    r = checkout.pytest("katas", "--kata-judge=separate", "--kata-preload=native.ffi")
    assert f"CRASH: the learner's process died with {signal_name}" in r.stdout, r.stdout[-3000:]
    assert "1 failed, 1 passed" in r.stdout, r.stdout[-3000:]


def test_a_probe_runs_beside_the_learner_library_and_returns_data(checkout):
    """kata.probe: an instructor's support/ module, loaded where the learner's library is (the worker
    under a separate judge): it reads memory at an address the library returned and hands back bytes."""
    c_kata(checkout, "static char msg[] = \"hello\";\nint answer(void) { return 42; }\n"
                     "const char *greeting(void) { return msg; }\n")
    checkout.write("katas/98_demo/01_c/support/probes.py", """
        import ctypes, os

        def read_greeting(lib):
            p = lib.greeting()
            return {"text": ctypes.string_at(int(lib.ffi.cast("uintptr_t", p))), "pid": os.getpid()}
        """)
    checkout.write("katas/98_demo/01_c/test_probe.py", """
        import os

        def test_greeting(kata):
            lib = kata.library("const char *greeting(void);")
            got = kata.probe("probes.py").read_greeting(lib)
            assert got["text"] == b"hello", got
            print("PROBE-PID", "same" if got["pid"] == os.getpid() else "other")
        """)
    r = checkout.pytest("katas", "-s", "--kata-judge=separate", "--kata-preload=native.ffi")
    assert "3 passed" in r.stdout and "PROBE-PID other" in r.stdout, r.stdout[-3000:]
    r = checkout.pytest("katas", "-s")
    assert "3 passed" in r.stdout and "PROBE-PID same" in r.stdout, r.stdout[-3000:]


def test_an_out_of_bounds_write_shows_under_a_separate_judge(checkout):
    """A guarded output (kata.testing.Guarded) crosses to the learner's process with its poisoned margins,
    and what the learner's code wrote there comes back: the margin check sees a write one past the end."""
    c_kata(checkout, "void fill(float *out, long n) { for (long i = 0; i <= n; i++) out[i] = 1.0f; }\n"
                     "int answer(void) { return 42; }\n")
    checkout.write("katas/98_demo/01_c/test_guard.py", """
        import numpy as np
        from kata.testing import Guarded

        def test_fill(kata):
            g = Guarded(100, np.float32)
            kata.library("void fill(float *out, long n);").fill(g.inner, 100)
            assert (g.inner == 1).all()
            g.check_margins("out")
        """)
    for judge in ([], ["--kata-judge=separate", "--kata-preload=native.ffi"]):
        r = checkout.pytest("katas", *judge)
        assert "OUT-OF-BOUNDS WRITE: 1 element(s) written past the end of out" in r.stdout, r.stdout[-3000:]
        assert "1 failed, 2 passed" in r.stdout, r.stdout[-3000:]
