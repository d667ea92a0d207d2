"""Make gcc vectorize: the functions must be right (every tail, outputs between poisoned margins), the
source must get there by code alone (no pragmas, attributes, intrinsics or asm), and `objdump -d` of the
library the harness compiled (gcc -O2 -march=x86-64-v3) must show AVX2 arithmetic on ymm registers in
each function."""
import re
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from kata.testing import Guarded, assert_close, assert_unchanged

CDEF = """
void axpy(float *y, const float *x, float a, long n);
float sum(const float *x, long n);
"""
EPS = float(np.finfo(np.float32).eps)


def lib(kata):
    return kata.library(CDEF)


def check_axpy(L, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(np.float32)
    y0 = rng.standard_normal(n).astype(np.float32)
    y = Guarded(n)
    y.inner[:] = y0
    xb = x.copy()
    L.axpy(y.inner, x, np.float32(1.5), n)
    y.check_margins("y")
    assert_unchanged(xb, x, what="x")
    want = y0.astype(np.float64) + 1.5 * x.astype(np.float64)
    assert_close(y.inner, want, atol=1e-5, rtol=1e-5, what="y after axpy", on=f"n = {n}")


def check_sum(L, n, seed):
    x = np.random.default_rng(seed).standard_normal(n).astype(np.float32)
    xb = x.copy()
    got = L.sum(x, n)
    want = float(x.astype(np.float64).sum())
    bound = (n + 2) * EPS * float(np.abs(x).sum()) + 1e-30
    assert_unchanged(xb, x, what="x")
    if not abs(got - want) <= bound:
        hint = ""
        for k in (8, 16, 32):
            if n % k and abs(got - float(x[:n - n % k].astype(np.float64).sum())) <= bound:
                hint = f"\n  That is the sum of the first {n - n % k} only: the last {n % k} were skipped."
        raise AssertionError(f"sum on n = {n}: returned {got!r}, expected {want!r} (rounding allowance {bound:.3g}){hint}")


def test_every_length(kata):
    L = lib(kata)
    for n in range(0, 70):
        check_axpy(L, n, n)
        check_sum(L, n, n)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 5000), seed=st.integers(0, 2**32 - 1))
def test_any_length(kata, n, seed):
    L = lib(kata)
    check_axpy(L, n, seed)
    check_sum(L, n, seed)


FORBIDDEN = [(r"#\s*pragma", "a #pragma"), (r"__attribute__", "an __attribute__"), (r"\boptimize\b", "'optimize'"),
             (r"intrin\.h", "an intrinsics header"), (r"__builtin_ia32", "a target builtin"),
             (r"\b(__)?asm(__)?\b", "inline assembly"), (r"vector_size", "GCC vector types")]


def test_code_changes_only(kata):
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", kata.file("loops.c").read_text(), flags=re.S)
    for pattern, what in FORBIDDEN:
        if re.search(pattern, text):
            raise AssertionError(f"loops.c uses {what}: the point is to make gcc vectorize plain C by how the loop is "
                                 "written, with the harness's flags (-O2 -march=x86-64-v3). Remove it.")


def disassemble(path, fn):
    if shutil.which("objdump") is None:
        pytest.skip("objdump is not installed (binutils)")
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(path)], capture_output=True, text=True).stdout
    body, on = [], False
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if m:
            on = m.group(1) == fn or m.group(1).startswith(fn + ".")
            continue
        if on and line.strip():
            body.append(line.split(":", 1)[-1].strip())
    return body


WANT = {
    "axpy": (r"^v(fmadd\d+ps|mulps|addps).*%ymm", "vfmadd...ps / vmulps / vaddps on ymm registers"),
    "sum": (r"^vaddps.*%ymm", "vaddps on ymm registers"),
}


@pytest.mark.perf
@pytest.mark.parametrize("fn", ["axpy", "sum"])
def test_gcc_vectorized_it(kata, fn):
    path = kata.library_file()
    body = disassemble(path, fn)
    assert body, f"no function {fn} in objdump -d of the library"
    pattern, what = WANT[fn]
    vec = [l for l in body if re.search(pattern, l)]
    scalar = [l for l in body if re.search(r"^v?(addss|mulss|vfmadd\d+ss)", l)]
    kata.record(instructions=len(body), vector_arith=len(vec), scalar_arith=len(scalar))
    shown = "\n".join("    " + l for l in body[:40]) + ("\n    ..." if len(body) > 40 else "")
    assert vec, (f"gcc did not vectorize {fn}: objdump -d shows no {what}. Its code ({len(body)} instructions):\n{shown}\n"
                 "  See the README for why gcc -O2 refuses, and what to change. Look yourself with: "
                 f"gcc -O2 -march=x86-64-v3 -S -o - loops.c, or -fopt-info-vec-missed.")
