"""The CUDA build and report path (native/build.py, native/ffi.py, the plugin's COMPILE ERROR message).

Needs nvcc (no GPU): `python -m pytest tests/test_cuda_build.py -p no:cacheprovider`. Every test builds
into its own KATA_CACHE, so a run here never reads or fills the checkout's .kata_cache.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from native.build import BuildError, build_cuda_library, cuda_report, parse_ptxas
from native.ffi import NativeLibrary, NotImplementedYet

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed here")

RESOURCES_CU = r"""
#include <cstdio>
__global__ void plain(const float *a, float *c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = 2.0f * a[i];
}
__global__ void with_smem(const float *a, float *c, int n) {
    __shared__ float t[256];
    t[threadIdx.x] = a[threadIdx.x];
    __syncthreads();
    c[threadIdx.x] = t[255 - threadIdx.x];
}
__global__ void with_printf(const float *a, float *c, int n) {
    printf("%d\n", n);
    c[threadIdx.x] = a[threadIdx.x];
}
/* 48 live floats under a 32-register cap (1024 threads x 2 blocks an SM): ptxas must spill. */
__global__ void __launch_bounds__(1024, 2) spilling(const float *a, float *c, int n) {
    float v[48];
#pragma unroll
    for (int k = 0; k < 48; k++) v[k] = a[k * n + threadIdx.x];
    float s = 0;
#pragma unroll
    for (int k = 0; k < 48; k++) s += v[k] * v[47 - k] + v[(k * 5) % 48];
#pragma unroll
    for (int k = 0; k < 48; k++) c[k * n + threadIdx.x] = v[k] * s;
}
"""

LAUNCHER_CU = r"""
#include <cuda_runtime.h>
#include "kata.h"
__global__ void add_kernel(const float *a, const float *b, float *c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}
extern "C" int launch(const float *a, const float *b, float *c, int n) {
    add_kernel<<<(n + 255) / 256, 256>>>(a, b, c, n);
    return (int)cudaGetLastError();
}
extern "C" int unfinished(const float *a, const float *b, float *c, int n) {
    KATA_TODO();
    return 0;
}
"""
LAUNCHER_CDEF = """int launch(const float *a, const float *b, float *c, int n);
                   int unfinished(const float *a, const float *b, float *c, int n);"""

BROKEN_CU = """__global__ void k(const float *a, float *c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x
    c[i] = a[i];
}
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("KATA_CACHE", str(d))
    return d


def write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def builds(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / "build").glob("*") if p.is_dir()) if (cache / "build").exists() else []


# ------------------------------------------------------------------------------------- the report


def test_parse_ptxas_on_real_nvcc_output(tmp_path, cache):
    src = write(tmp_path, "k/resources.cu", RESOURCES_CU)
    rep = cuda_report(src, root=tmp_path)
    entries = set(re.findall(r"\.entry\s+([\w$]+)", rep.ptx))
    by_short = {re.match(r"_Z\d+([A-Za-z_]\w*?)P", m).group(1): m for m in entries}
    assert set(by_short) == {"plain", "with_smem", "with_printf", "spilling"}, entries
    k = {short: rep.kernels[mangled] for short, mangled in by_short.items()}

    # Every number must be the one ptxas printed: read them back out of the raw text independently.
    for mangled in entries:
        block = rep.raw.split(f"Compiling entry function '{mangled}'")[1].split("Compiling entry function")[0]
        regs = int(re.search(r"Used (\d+) registers", block).group(1))
        stack, st, ld = map(int, re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, "
                                           r"(\d+) bytes spill loads", block).groups())
        got = rep.kernels[mangled]
        assert (got.registers, got.stack_bytes, got.spill_stores, got.spill_loads) == (regs, stack, st, ld), mangled

    assert 0 < k["plain"].registers <= 32
    assert (k["plain"].shared_bytes, k["plain"].stack_bytes, k["plain"].spill_stores) == (0, 0, 0)
    assert k["with_smem"].shared_bytes == 1024
    assert k["with_printf"].stack_bytes > 0 and k["with_printf"].spill_stores == 0
    assert k["spilling"].spill_stores > 0 and k["spilling"].spill_loads > 0
    assert k["spilling"].registers <= 32  # the cap __launch_bounds__(1024, 2) implies
    assert rep.arch == "sm_90" and ".target sm_90" in rep.ptx


def test_parse_ptxas_older_format():
    """CUDA 12's ptxas puts smem and cmem on the 'Used' line without the barrier count."""
    text = """ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function '_Z1kPf' for 'sm_90'
ptxas info    : Function properties for _Z1kPf
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 10 registers, 1024 bytes smem, 368 bytes cmem[0]
"""
    k = parse_ptxas(text)["_Z1kPf"]
    assert (k.registers, k.shared_bytes, k.stack_bytes) == (10, 1024, 0)


def test_device_functions_are_not_kernels(tmp_path, cache):
    src = write(tmp_path, "k/helper.cu", """
__device__ __noinline__ float twice(float x) { return 2.0f * x; }
__global__ void k(const float *a, float *c) { c[threadIdx.x] = twice(a[threadIdx.x]); }
""")
    rep = cuda_report(src, root=tmp_path)
    assert list(rep.kernels) == ["_Z1kPKfPf"], list(rep.kernels)


# ------------------------------------------------------------------------------- compile errors


@pytest.mark.parametrize("how", ["report", "library"])
def test_compile_error_shows_nvccs_lines_naming_the_file(tmp_path, cache, how):
    src = write(tmp_path, "katas/99_x/01_y/broken.cu", BROKEN_CU)
    with pytest.raises(BuildError) as ei:
        if how == "report":
            cuda_report(src, root=tmp_path)
        else:
            build_cuda_library([src], root=tmp_path)
    e = ei.value
    assert "katas/99_x/01_y/broken.cu" in e.what and "did not compile" in e.what
    # nvcc's own diagnostic, with the path relative to the checkout and the line of the mistake
    assert re.search(r'^katas/99_x/01_y/broken\.cu\(3\): error: expected a ";"', e.output, re.M), e.output
    assert str(tmp_path) not in e.output and "Traceback" not in e.output
    assert not builds(cache), "a failed build must leave nothing in the cache"


def test_compile_error_through_pytest(tmp_path):
    """End to end: the kata's tests against a broken learner file show COMPILE ERROR and nvcc's lines."""
    impl = tmp_path / "impl"
    write(impl, "vector_add.cu", BROKEN_CU)
    env = dict(os.environ, KATA_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run([sys.executable, "-m", "pytest", "katas/11_cuda/01_vector_add", "--impl", str(impl),
                           "-q", "-p", "no:cacheprovider", "-k", "test_builds or test_kernel_resources"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "COMPILE ERROR" in out, out
    assert re.search(rf'{re.escape(str(impl))}/vector_add\.cu\(3\): error: expected a ";"', out), out
    assert "Traceback" not in out and "BuildError" not in out, out


# ---------------------------------------------------------------------------------------- caching


def test_report_and_library_are_cached_by_content(tmp_path, cache):
    src = write(tmp_path, "k/launch.cu", LAUNCHER_CU)
    inc = tmp_path / "inc"
    write(inc, "extra.h", "#define EXTRA 1\n")

    t = time.perf_counter()
    cuda_report(src, root=tmp_path, include_dirs=[inc])
    cold = time.perf_counter() - t
    n_builds = len(builds(cache))
    t = time.perf_counter()
    again = cuda_report(src, root=tmp_path, include_dirs=[inc])
    warm = time.perf_counter() - t
    assert len(builds(cache)) == n_builds, "the second report compiled again"
    assert warm < cold / 5 and warm < 0.5, f"cached report took {warm:.2f} s (cold {cold:.2f} s)"
    assert again.kernels and ".entry" in again.ptx

    first = build_cuda_library([src], root=tmp_path, include_dirs=[inc])
    second = build_cuda_library([src], root=tmp_path, include_dirs=[inc])
    assert not first.cached and second.cached and first.path == second.path

    src.write_text(LAUNCHER_CU + "/* an edit */\n")
    assert not build_cuda_library([src], root=tmp_path, include_dirs=[inc]).cached, "a source edit must rebuild"
    (inc / "extra.h").write_text("#define EXTRA 2\n")
    assert not build_cuda_library([src], root=tmp_path, include_dirs=[inc]).cached, "a header edit must rebuild"


def test_concurrent_reports_build_once(tmp_path, cache):
    src = write(tmp_path, "k/resources.cu", RESOURCES_CU)
    code = ("import sys; from pathlib import Path; from native.build import cuda_report; "
            "r = cuda_report(Path(sys.argv[1]), root=Path(sys.argv[2])); "
            "print(sorted((k, v.registers) for k, v in r.kernels.items()))")
    env = dict(os.environ, KATA_CACHE=str(cache), PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(src), str(tmp_path)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o for o, _ in outs}) == 1, outs
    assert len(builds(cache)) == 1, builds(cache)
    assert not list((cache / "build").glob("*.*.*")), "a half-finished temporary build folder was left behind"


# ------------------------------------------------------------------------------ library and stubs


def test_library_reports_todo_and_launch_errors(tmp_path, cache, monkeypatch):
    """The .cu library loads with no GPU; KATA_TODO() in a launcher raises NotImplementedYet naming the
    file, line and function; with the GPUs hidden a launch returns the CUDA error (35 or 100 here)."""
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # this test runs in its own forked process
    src = write(tmp_path, "k/launch.cu", LAUNCHER_CU)
    lib = NativeLibrary(build_cuda_library([src], root=tmp_path).path, LAUNCHER_CDEF)
    x = np.ones(8, dtype=np.float32)
    with pytest.raises(NotImplementedYet, match=r"k/launch\.cu:\d+ unfinished\(\)"):
        lib.unfinished(x, x, x, 8)
    assert lib.launch(x, x, x, 8) != 0
