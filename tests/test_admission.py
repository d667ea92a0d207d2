"""Admission checks (kata/admission.py): each trick a learner's file could use to change its grade
instead of earning it is refused with a message naming the line; honest files pass."""
import shutil
import subprocess

import pytest

from kata.admission import (Policy, Rejected, admit_native, check_objects, check_python_file, scan_includes, scan_object,
                            scan_python)

HONEST = """
import math
import torch
import triton
import triton.language as tl
from dataclasses import dataclass

@triton.jit
def k(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=offs < n) * 2, mask=offs < n)

def f(x):
    y = torch.empty_like(x)
    y.data_ptr()
    return getattr(x, "shape")
"""

PY_ATTACKS = {
    "import sys": "import sys",
    "reach the harness": "import kata.toolkit",
    "from the harness": "from kata import toolkit",
    "patch the oracle": "import torch\ntorch.softmax = lambda x, dim: x",
    "patch a method": "import torch\ntorch.Tensor.__eq__ = lambda a, b: True",
    "setattr on a module": "import torch\nsetattr(torch, 'allclose', lambda *a, **k: True)",
    "frames": "import math\ndef f():\n    return (lambda: 0).__globals__",
    "builtins": "x = __builtins__",
    "eval": "eval('1 + 1')",
    "exec": "exec('import os')",
    "__import__": "m = __import__('os')",
    "computed getattr": "import torch\nname = 'all' + 'close'\nf = getattr(torch, name)",
    "relative import": "from . import conftest",
    "read files": "data = open('solutions/x/ref.py').read()",
    "ctypes": "import ctypes",
    "gc": "import gc",
    "inspect": "import inspect",
    "cpp extension": "from torch.utils.cpp_extension import load_inline",
    "subclasses": "x = ().__class__.__base__.__subclasses__()",
    "torch._C": "import torch._C",
    "a process of torch's": "import torch.multiprocessing as mp",  # its CPU time is out of a timed call's count
    "a process": "import multiprocessing",
    "torch._C, reached as an attribute": "import torch as t\nx = t._C._get_tracing_state",
    "a process of torch's, as an attribute": "import torch\npool = torch.multiprocessing.Pool",
}


def test_honest_python_passes():
    assert scan_python(HONEST, "honest.py") == []


@pytest.mark.parametrize("name", PY_ATTACKS)
def test_python_attack_refused(name):
    findings = scan_python(PY_ATTACKS[name], "learner.py")
    assert findings, f"{name}: not refused"
    assert all(f.startswith("learner.py:") for f in findings)


def test_policy_allows_what_the_kata_needs():
    src = "import os\nimport mmap\nf = open('x')"
    assert len(scan_python(src, "a.py")) == 3
    assert scan_python(src, "a.py", Policy(imports=frozenset({"os", "mmap"}), calls=frozenset({"open"}))) == []


def test_message_names_file_and_line(tmp_path):
    p = tmp_path / "softmax.py"
    p.write_text("import torch\n\n\ntorch.softmax = None\n")
    with pytest.raises(Rejected) as e:
        check_python_file(p, shown="katas/x/softmax.py")
    assert "katas/x/softmax.py:4" in str(e.value) and "REJECTED" in str(e.value)


C_ATTACKS = {
    "dlsym": "#include <dlfcn.h>\nvoid *f(void) { return dlsym(RTLD_DEFAULT, \"PyRun_SimpleString\"); }",
    "python c api": "int PyRun_SimpleString(const char *);\nvoid f(void) { PyRun_SimpleString(\"x=1\"); }",
    "raw syscall function": "#include <unistd.h>\n#include <sys/syscall.h>\nlong f(void) { return syscall(SYS_getpid); }",
    "mprotect": "#include <sys/mman.h>\nint f(void *p) { return mprotect(p, 4096, 7); }",
    "fork": "#include <unistd.h>\nint f(void) { return fork(); }",
    "system": "#include <stdlib.h>\nint f(void) { return system(\"true\"); }",
    "sanitizer hook": "void __sanitizer_set_report_path(const char *);\nvoid f(void) { __sanitizer_set_report_path(\"/dev/null\"); }",
    "constructor": "static int ready;\nstatic void init(void) __attribute__((constructor));\nstatic void init(void) { ready = 1; }\n"
                   "int f(void) { return ready; }",
    "inline syscall": "long f(void) { long r; __asm__ volatile(\"syscall\" : \"=a\"(r) : \"a\"(39) : \"rcx\", \"r11\"); return r; }",
}

needs_gcc = pytest.mark.skipif(not (shutil.which("gcc") and shutil.which("nm") and shutil.which("objdump")),
                               reason="gcc and binutils are needed to build the objects")


def _obj(tmp_path, src):
    c = tmp_path / "learner.c"
    c.write_text(src)
    o = tmp_path / "learner.o"
    subprocess.run(["gcc", "-c", "-O1", str(c), "-o", str(o)], check=True, capture_output=True)
    return o


@needs_gcc
def test_honest_c_passes(tmp_path):
    o = _obj(tmp_path, "#include <string.h>\n#include <stdlib.h>\n"
                       "void *f(size_t n) { void *p = malloc(n); memset(p, 0, n); return p; }")
    assert scan_object(o, "learner.c", "c") == []


@needs_gcc
@pytest.mark.parametrize("name", C_ATTACKS)
def test_native_attack_refused(tmp_path, name):
    o = _obj(tmp_path, C_ATTACKS[name])
    with pytest.raises(Rejected) as e:
        check_objects([(o, "learner.c")], "c")
    assert "learner.c" in str(e.value)


@needs_gcc
def test_symbol_policy(tmp_path):
    o = _obj(tmp_path, "#include <sys/mman.h>\nint f(void *p) { return mprotect(p, 4096, 1); }")
    assert scan_object(o, "x.c", "c", Policy(symbols=frozenset({"mprotect"}))) == []


@needs_gcc
def test_includes_only_system_headers_and_the_katas_own(tmp_path):
    """A hidden test or a reference compiled in (or shown line by line in a compiler error) is refused
    before anything is compiled; the kata's own headers and the system's pass."""
    kata = tmp_path / "tree" / "katas" / "m" / "k"
    (kata / "support").mkdir(parents=True)
    (kata / "support" / "k.h").write_text("int g(void);\n")
    (kata / "test_hidden_k.py").write_text("SECRET = 1\n")
    outside = tmp_path / "instructor" / "solutions" / "k.c"
    outside.parent.mkdir(parents=True)
    outside.write_text("int f(void) { return 1; }\n")
    cmd = ["gcc", "-c", f"-I{kata}", f"-I{kata / 'support'}"]
    dirs = [kata, kata / "support"]

    def findings(src):
        c = kata / "learner.c"
        c.write_text(src)
        return scan_includes(c, "learner.c", cmd, tmp_path / "tree", dirs)

    assert findings('#include <string.h>\n#include "k.h"\nint f(void) { return g(); }\n') == []
    hidden = findings('const char *s =\n#include "test_hidden_k.py"\n;\n')
    assert len(hidden) == 1 and "test_hidden_k.py" in hidden[0] and "not a system header" in hidden[0]
    assert "solutions/k.c" in findings(f'#include "{outside}"\n')[0]
    assert "learner.c:1: embeds a file" in findings('__asm__(".incbin \\"/etc/passwd\\"");\n')[0]
    with pytest.raises(Rejected, match="test_hidden_k.py"):
        (kata / "learner.c").write_text('#include "test_hidden_k.py"\n')
        admit_native([kata / "learner.c"], "c", Policy(), tmp_path / "tree", dirs)


def test_pytest_shows_the_rejection_and_the_run_goes_on(checkout):
    from conftest import add_python_kata  # tests/conftest.py: a tiny Python kata

    add_python_kata(checkout, stub="""
        import gc
        def double(xs):
            return [2 * x for x in xs]
        """)
    r = checkout.pytest("katas")
    assert "REJECTED" in r.stdout and "katas/99_demo/01_double/double.py:1: import gc" in r.stdout, r.stdout
    last = r.stdout.strip().splitlines()[-1]
    assert "failed" in last and "passed" not in last, last
