"""What the CUDA katas' tests share (11_cuda/02..05): building, the resource report, the GPU tier.

    kernels(kata, file)                       (report, [KernelFacts]) or a failure naming the file
    launcher(kata, cdef, name, file)          the learner's extern "C" launcher, loaded
    check_resources(kata, report, facts, file, max_registers)   no spills, no stack, few registers
    resources_of(report, facts)               {kernel: KernelResources} of the kernels ptxas reported
    gpu_error(fn) / cuda_failure(e, what, hint)  a crashed kernel surfaces at the next sync: report it
    no_traceback(fn)                          run kata.testing's checks; fail with their message only
    racecheck(kata, cdef, script, file)       run a small script under compute-sanitizer racecheck

The PTX reading itself lives in native/ptx.py.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

from native.ptx import KernelFacts, kernel_facts, ptxas_lines


def fail(message: str):
    pytest.fail(message, pytrace=False)


def kernels(kata, file: str):
    report = kata.cuda_report()
    facts = kernel_facts(report.ptx)
    if not facts:
        fail(f"{file} defines no kernel: there is no __global__ function in its PTX. Write the kernel (any name) "
             "and launch it from the launcher.")
    return report, facts


def launcher(kata, cdef: str, name: str, file: str):
    lib = kata.cuda_library(cdef)
    try:
        return lib.function(name)
    except AttributeError:
        pass
    fail(f"{file} compiled, but the library has no function `{name}` with C linkage: keep the launcher declared "
         f'as  extern "C" {cdef.strip().rstrip(";")}  (without extern "C" the C++ compiler mangles its name).')


def resources_of(report, facts: list[KernelFacts]) -> dict:
    return {k.name: report.kernels[k.name] for k in facts if k.name in report.kernels}


def check_resources(kata, report, facts: list[KernelFacts], file: str, max_registers: int, why_registers: str = ""):
    """ptxas -v: no spills, no stack frame, at most max_registers registers, for every kernel."""
    problems = []
    for k in facts:
        res = report.kernels.get(k.name)
        if res is None:
            problems.append(f"{k.shown}: ptxas printed no resource report for it")
            continue
        issues = []
        if res.spill_stores or res.spill_loads:
            issues.append(f"spills {res.spill_stores} bytes to and {res.spill_loads} bytes from local memory "
                          "(registers ran out; each spill is a round trip to memory)")
        if res.stack_bytes:
            why = ("printf() needs a stack frame: take the debugging printf out" if k.printf else
                   "a local array indexed at run time, or a call that was not inlined, lives on a stack in local memory")
            issues.append(f"has a stack frame of {res.stack_bytes} bytes ({why})")
        if res.registers > max_registers:
            issues.append(f"uses {res.registers} registers a thread, more than {max_registers}{why_registers}")
        if issues:
            problems.append(f"{k.shown} " + "; ".join(issues) + "\n  ptxas said:\n" + ptxas_lines(report.raw, k.name))
    res = resources_of(report, facts)
    kata.record(registers=max((r.registers for r in res.values()), default=0),
                shared_bytes=max((r.shared_bytes for r in res.values()), default=0))
    if problems:
        fail(f"the resource report of {file} (nvcc -Xptxas -v, {report.arch}):\n" + "\n".join(problems))


def stub_check(facts: list[KernelFacts], file: str, what: str) -> None:
    """The stub's empty kernel touches no global memory: say 'not implemented yet'."""
    if all(not k.loads and not k.stores for k in facts):
        names = ", ".join(k.shown for k in facts)
        raise NotImplementedError(
            f"{file}: your kernel writes no output: the PTX of {names} touches no global memory at all. Either its "
            f"body is still empty, or nothing it computes is stored (the compiler then deletes the dead code). {what}")


def unsynchronised_shared(k: KernelFacts) -> str | None:
    """Threads that write shared memory and read it back need a barrier between the two."""
    if k.shared_stores and k.shared_loads and not k.barriers:
        return (f"it writes shared memory ({len(k.shared_stores)} st.shared) and reads it back "
                f"({len(k.shared_loads)} ld.shared) with no __syncthreads() at all (no bar.sync in its PTX): a thread "
                "then reads slots other threads have not written yet. That is a race; put __syncthreads() between "
                "writing a tile (or a level of the tree) and reading it, and before overwriting it.")
    return None


# ------------------------------------------------------------------------------------ GPU tier

def gpu_error(fn) -> Exception | None:
    """Run fn; return the CUDA error it raised (a crashed kernel surfaces at the next sync), if any."""
    try:
        fn()
    except NotImplementedError:  # a RuntimeError too: the stub's KATA_TODO(), reported as such
        raise
    except RuntimeError as e:
        return e
    return None


def cuda_failure(e: Exception, what: str, hint: str = ""):
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    fail(f"the GPU reported an error after the kernel ran on {what}: {first}\n  The kernel crashed: an index past "
         "the end of an array (a missing bounds check), or an int index that overflowed." + (f" {hint}" if hint else ""))


def no_traceback(fn) -> None:
    try:
        fn()
    except AssertionError as e:
        msg = str(e)
    else:
        return
    fail(msg)


def check_rc(rc: int, name: str, what: str) -> None:
    if rc != 0:
        fail(f"{name} returned CUDA error {rc} on {what}; it must launch and return 0 (cudaGetLastError())")


def compute_sanitizer() -> str | None:
    exe = shutil.which("compute-sanitizer")
    if exe:
        return exe
    for home in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if home and os.path.exists(os.path.join(home, "bin", "compute-sanitizer")):
            return os.path.join(home, "bin", "compute-sanitizer")
    nvcc = shutil.which("nvcc")
    if nvcc:
        cand = os.path.join(os.path.dirname(os.path.realpath(nvcc)), "compute-sanitizer")
        if os.path.exists(cand):
            return cand
    return None


def racecheck(kata, cdef: str, script: str, file: str, timeout: int = 240) -> None:
    """Run `script` (Python; `lib` is the learner's library loaded with ctypes, torch is imported) in a
    fresh process under `compute-sanitizer --tool racecheck`; fail with its report if it finds a
    shared-memory hazard (a missing __syncthreads)."""
    exe = compute_sanitizer()
    if exe is None:
        pytest.skip("compute-sanitizer is not installed here: the race check cannot run (it is part of the CUDA toolkit)")
    from native import launch
    from native.build import build_cuda_library

    # The library as built here (kata.cuda_library under kata grade is a handle on the learner's worker), run by
    # native.launch: under kata grade, in the sandbox, as every program built with learner code is.
    lib = build_cuda_library(kata._sources(None), root=kata.root, include_dirs=kata.include_dirs)
    code = "import ctypes, sys, torch\nlib = ctypes.CDLL(sys.argv[1])\n" + textwrap.dedent(script)
    path = os.pathsep.join(dict.fromkeys([os.path.dirname(exe), os.path.dirname(sys.executable), "/usr/local/bin",
                                          "/usr/bin", "/bin"]))
    env = {"PATH": path, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    if os.environ.get("CUDA_VISIBLE_DEVICES"):
        env["CUDA_VISIBLE_DEVICES"] = os.environ["CUDA_VISIBLE_DEVICES"]
    # the sanitizer and Python by name (found on PATH): an absolute path would be copied as an input file
    proc = launch.run([os.path.basename(exe), "--tool", "racecheck", "--racecheck-report", "hazard", "--error-exitcode",
                       "86", os.path.basename(sys.executable), "-c", code, str(lib.path)], timeout=timeout, env=env,
                      memory_limit=False)
    out = (proc.stdout + proc.stderr).strip()
    if proc.returncode == 86 or re.search(r"RACECHECK SUMMARY: [1-9]\d* hazard", out):
        lines = [ln for ln in out.splitlines() if "hazard" in ln.lower() or "at " in ln or "====" in ln][:14]
        fail(f"compute-sanitizer racecheck found a shared-memory race in {file}:\n  " + "\n  ".join(lines) +
             "\n  Two threads touched the same shared-memory word, at least one writing, with no __syncthreads() "
             "between them: a barrier is missing (between writing a tile or a tree level and reading it, or "
             "before it is overwritten).")
    if proc.returncode != 0:
        tail = "\n  ".join(out.splitlines()[-12:])
        fail(f"the race-check run of {file} failed (exit status {proc.returncode}):\n  {tail}")
    kata.record(racecheck="clean")


def hide_gpus(request, monkeypatch) -> None:
    """Hide every GPU from this test's own process: CUDA reads CUDA_VISIBLE_DEVICES when it starts, so this
    works only where CUDA has not started yet (each test's forked child); elsewhere the test is skipped."""
    from kata.gpu import has_gpu

    torch = sys.modules.get("torch")
    if (torch is not None and torch.cuda.is_initialized()) or (request.config.getoption("no_isolation") and has_gpu()):
        pytest.skip("hides the GPUs, so it needs a process of its own: run it without --no-isolation")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")


def expect_failed_launch(name: str, rc: int, outputs: dict, pointers: str,
                         hint: str = "return cudaGetLastError().") -> None:
    """With the GPUs hidden: the launcher wrote nothing on the host (`outputs` still all NaN) and returned
    the CUDA error, not 0."""
    import numpy as np

    for label, arr in outputs.items():
        if not np.isnan(arr).all():
            fail(f"{name} wrote to {label} on the host: {pointers} are DEVICE pointers; the kernel does the work.")
    if rc == 0:
        fail(f"with every GPU hidden nothing can launch, yet {name} returned 0: {hint}")


# ------------------------------------------------------------- the CUDA driver, for instructor probes

class CudaDriver:
    """The CUDA driver API through ctypes, on the primary context (the one torch uses): enough to load
    an instructor's probe kernel compiled to a cubin and launch it on torch's tensors. GPU tier only.

        drv = CudaDriver()
        fn = drv.kernel(cubin_path, "probe")
        drv.launch(fn, grid=1, block=1024, args=[drv.ptr(t), drv.i32(7)]); drv.sync()
    """

    def __init__(self):
        import ctypes

        self.ctypes = ctypes
        self.lib = ctypes.CDLL("libcuda.so.1")
        self.call("cuInit", 0)
        self.dev = ctypes.c_int()
        self.call("cuDeviceGet", ctypes.byref(self.dev), 0)
        self.ctx = ctypes.c_void_p()
        self.call("cuDevicePrimaryCtxRetain", ctypes.byref(self.ctx), self.dev)
        self.call("cuCtxSetCurrent", self.ctx)
        self._modules = []

    def call(self, name, *args):
        rc = getattr(self.lib, name)(*args)
        if rc != 0:
            raise RuntimeError(f"{name} failed with CUresult {rc}")

    def attr(self, code: int) -> int:
        """cuDeviceGetAttribute(code) of device 0."""
        v = self.ctypes.c_int()
        self.call("cuDeviceGetAttribute", self.ctypes.byref(v), code, self.dev)
        return v.value

    def compute_capability(self) -> tuple[int, int]:
        return self.attr(75), self.attr(76)

    def cubin(self, source, dest, *flags: str):
        """Compile an instructor's probe (a .cu file) to a cubin for this GPU with nvcc; skip the test,
        saying so, where nvcc is missing."""
        nvcc = shutil.which("nvcc")
        if nvcc is None:
            pytest.skip("nvcc is not on PATH: the probe kernel cannot be compiled")
        major, minor = self.compute_capability()
        subprocess.run([nvcc, f"-arch=sm_{major}{minor}", "-cubin", *flags, "-o", str(dest), str(source)],
                       check=True, capture_output=True)
        return dest

    def module(self, cubin) -> "object":
        mod = self.ctypes.c_void_p()
        self.call("cuModuleLoadData", self.ctypes.byref(mod), self.ctypes.c_char_p(open(cubin, "rb").read()))
        self._modules.append(mod)
        return mod

    def function(self, mod, name: str):
        fn = self.ctypes.c_void_p()
        self.call("cuModuleGetFunction", self.ctypes.byref(fn), mod, name.encode())
        return fn

    def kernel(self, cubin, name: str):
        return self.function(self.module(cubin), name)

    def ptr(self, tensor):
        """A kernel argument: a torch CUDA tensor's device address."""
        return self.ctypes.c_uint64(tensor.data_ptr())

    def i32(self, value: int):
        return self.ctypes.c_int32(int(value))

    def launch(self, fn, *, grid: int, block: int, args: list, shared: int = 0) -> None:
        c = self.ctypes
        params = (c.c_void_p * len(args))(*[c.cast(c.pointer(a), c.c_void_p) for a in args])
        self.call("cuLaunchKernel", fn, c.c_uint(grid), c.c_uint(1), c.c_uint(1), c.c_uint(block), c.c_uint(1),
                  c.c_uint(1), c.c_uint(shared), None, params, None)

    def sync(self) -> None:
        self.call("cuCtxSynchronize")

    def unload(self, mod) -> None:
        self.call("cuModuleUnload", mod)
        self._modules.remove(mod)
