"""Tests of native/sanitize.py: sanitizer reports become short messages naming the learner's line, and
the counting wrapper sees the learner's allocations (and only theirs).

Run: python -m pytest tests/test_sanitize.py -p no:cacheprovider
"""
from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from native import sanitize
from native.ffi import NotImplementedYet

ROOT = Path(__file__).resolve().parents[1]

LEARNER_C = r"""
#include <stdlib.h>
#include <string.h>
#include "kata.h"

int *make_ints(int n) {
    int *p = malloc(sizeof(int) * n);
    for (int i = 0; i <= n; i++)   /* line 8: one past the end */
        p[i] = i;
    return p;
}

int *make_ints_ok(int n) {
    int *p = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++)
        p[i] = i;
    return p;
}

int read_after_free(void) {
    int *p = make_ints_ok(4);
    free(p);
    return p[2];                   /* line 22 */
}

char *leak(int n) {
    char *s = malloc(n);           /* line 26 */
    memset(s, 1, n);
    return s + 1;
}

int add(int a, int b) { return a + b; }   /* line 31: overflows for big a, b */

void stub(void) { KATA_TODO(); }

int keep_and_free(int n) {
    void *a = malloc(n), *b = calloc(1, n);
    a = realloc(a, 2 * n);
    free(a);
    free(b);
    return 0;
}
"""

DRIVER_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int *make_ints(int n);
int read_after_free(void);
char *leak(int n);
int add(int a, int b);
void stub(void);
int kata_todo_take(char *buf, int size);

int main(int argc, char **argv) {
    const char *what = argv[1];
    if (!strcmp(what, "overflow")) free(make_ints(10));
    if (!strcmp(what, "uaf")) printf("%d\n", read_after_free());
    if (!strcmp(what, "leak")) leak(40);
    if (!strcmp(what, "ub")) printf("%d\n", add(2147483647, atoi(argv[2])));
    if (!strcmp(what, "stub")) {
        stub();
        char w[512];
        if (kata_todo_take(w, sizeof w)) { fprintf(stderr, "not implemented yet: %s\n", w); return 3; }
    }
    if (!strcmp(what, "fail")) { fprintf(stderr, "wrong answer: 3 != 4\n"); return 4; }
    return 0;
}
"""


class FakeKata:
    """Just what native.sanitize asks of the `kata` fixture."""

    def __init__(self, folder: Path, files: list[str]):
        self.test_dir = folder
        self.root = ROOT
        self.kata = SimpleNamespace(files=files)
        self._loaded = {}

    def cached(self, key, build):
        if key not in self._loaded:
            self._loaded[key] = build()
        return self._loaded[key]

    def file(self, name):
        return self.test_dir / name

    def support(self, name):
        return self.test_dir / name

    @property
    def include_dirs(self):
        return [self.test_dir]

    def load_native(self, path, cdef, kind="plain"):
        from kata.remote import library_class
        return library_class(kind)(path, cdef)


@pytest.fixture(scope="module")
def fake(tmp_path_factory):
    # Inside the checkout (a path the compiler prints relative to it), in the cache folder git ignores.
    d = Path(tmp_path_factory.mktemp("san"))
    (d / "learner.c").write_text(LEARNER_C.lstrip("\n"))
    (d / "driver.c").write_text(DRIVER_C)
    return FakeKata(d, ["learner.c"])


def test_out_of_bounds_write_names_learner_line(fake):
    with pytest.raises(sanitize.SanitizerError) as e:
        sanitize.check_program(fake, "driver.c", ["overflow"])
    msg = str(e.value)
    assert msg.startswith("MEMORY ERROR (AddressSanitizer): heap-buffer-overflow: a 4-byte write just past the end "
                          "of a 40-byte block"), msg
    assert "learner.c:8 in make_ints()" in msg
    assert "allocated at" in msg and "learner.c:6 in make_ints()" in msg


def test_use_after_free(fake):
    with pytest.raises(sanitize.SanitizerError) as e:
        sanitize.check_program(fake, "driver.c", ["uaf"])
    msg = str(e.value)
    assert "heap-use-after-free" in msg and "learner.c:22 in read_after_free()" in msg, msg
    assert "freed at" in msg and "learner.c:21" in msg, msg


def test_leak_names_allocating_line(fake):
    with pytest.raises(sanitize.SanitizerError) as e:
        sanitize.check_program(fake, "driver.c", ["leak"])
    msg = str(e.value)
    assert msg.startswith("MEMORY LEAK (LeakSanitizer): memory leak: 40 bytes in 1 block never freed"), msg
    assert "learner.c:26 in leak()" in msg


def test_leak_check_can_be_off(fake):
    sanitize.check_program(fake, "driver.c", ["leak"], leaks=False)


def test_undefined_behaviour(fake):
    with pytest.raises(sanitize.SanitizerError) as e:
        sanitize.check_program(fake, "driver.c", ["ub", "1"])
    msg = str(e.value)
    assert "UndefinedBehaviorSanitizer" in msg and "signed integer overflow" in msg and "learner.c:31" in msg, msg
    sanitize.check_program(fake, "driver.c", ["ub", "-1"])


def test_stub_and_plain_failure(fake):
    with pytest.raises(NotImplementedYet, match="not implemented yet: .*learner.c:33 stub"):
        sanitize.check_program(fake, "driver.c", ["stub"])
    with pytest.raises(sanitize.ProgramFailed, match="wrong answer: 3 != 4"):
        sanitize.check_program(fake, "driver.c", ["fail"])


def test_parse_report_without_learner_frames():
    text = textwrap.dedent("""\
        ==1==ERROR: AddressSanitizer: SEGV on unknown address 0x000000000000 (pc 0x1 bp 0x2 sp 0x3 T0)
        ==1==The signal is caused by a WRITE memory access.
            #0 0x55 in fill /x/y/fill.c:3
            #1 0x56 in main /x/y/main.c:9
        SUMMARY: AddressSanitizer: SEGV /x/y/fill.c:3 in fill
        """)
    (f,) = sanitize.parse_report(text, ["other.c"])
    assert f.kind == "SEGV on unknown address" and "NULL" in f.detail
    assert str(f.where) == "/x/y/fill.c:3 in fill()"


# ------------------------------------------------------------------------------ counting wrapper

CDEF = """
int *make_ints_ok(int n);
char *leak(int n);
int keep_and_free(int n);
"""


def test_counting_sees_learner_allocations_only(fake):
    lib = sanitize.counted_library(fake, CDEF)
    lib.reset_counts()
    np.zeros(1000)  # Python and numpy allocate: never counted
    lib.keep_and_free(100)
    c = lib.counts()
    # gcc may fold the malloc/realloc pair; whatever it kept, every block came back
    assert c.allocs >= 2 and c.allocs == c.frees and c.live_blocks == 0 and c.live_bytes == 0, c
    lib.assert_no_leaks(after="keep_and_free()")


def test_counting_names_the_leak(fake):
    lib = sanitize.counted_library(fake, CDEF)
    lib.reset_counts()
    lib.leak(24)
    with pytest.raises(sanitize.LeakError) as e:
        lib.assert_no_leaks(after="leak(24)")
    msg = str(e.value)
    assert msg.startswith("LEAK: after leak(24), 1 heap block from your code is still live (24 bytes"), msg
    assert "learner.c:26 in leak()" in msg, msg


CXX = r"""
#include <memory>
#include <vector>
extern "C" long grow(int n) {
    std::vector<int> v;
    for (int i = 0; i < n; i++) v.push_back(i);
    return (long)v.size();
}
int *kept;
extern "C" void cxx_leak(void) {
    kept = new int[5];                // line 10
}
"""


def test_counting_cxx_new_delete(tmp_path):
    (tmp_path / "x.cpp").write_text(CXX.lstrip("\n"))
    fk = FakeKata(tmp_path, ["x.cpp"])
    lib = sanitize.counted_library(fk, "long grow(int n); void cxx_leak(void);")
    lib.reset_counts()
    assert lib.grow(100) == 100
    c = lib.counts()
    assert c.allocs == c.frees and c.allocs >= 7, c  # 1, 2, 4, ..., 128 capacity
    lib.cxx_leak()
    with pytest.raises(sanitize.LeakError, match=r"20 bytes.*x.cpp:10 in cxx_leak"):
        lib.assert_no_leaks(after="cxx_leak()")
