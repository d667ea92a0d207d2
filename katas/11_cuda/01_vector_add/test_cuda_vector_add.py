"""Vector add in CUDA C.

CPU tier (any machine with nvcc): the file compiles for sm_90; ptxas's resource report shows no spills,
no stack frame and few registers; the kernel's PTX loads from two inputs, adds, stores, computes its
index from blockIdx/blockDim/threadIdx and compares it with something (a bounds check); and the
launcher, run with the GPUs hidden, reports the failed launch instead of claiming success.

GPU tier: exact results for many n (tiny, around a block, primes, past 65535 blocks, INT_MAX) with c
between NaN-filled guard regions and inputs checked for changes; pointers that are 4- but not 16-byte
aligned; then the bandwidth gate at n = 2^27 against the device's copy bandwidth and torch's a + b.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

from kata.testing import Guarded, assert_equal, assert_unchanged
from native.ptx import KernelFacts, closest, kernel_facts, ptxas_lines

CDEF = "int vector_add(const float *a, const float *b, float *c, int n);"
FILE = "vector_add.cu"

# An SM holds 65536 registers and up to 2048 threads. Above 64 registers a thread it holds fewer than
# 1024 threads, too few loads in flight for a memory-bound kernel. A vector add needs 10-30 (the
# reference: 26). A sanity bound, not a target: the bandwidth gate on the GPU is the real judge.
MAX_REGISTERS = 64

CUDA_ERRORS = {
    1: "cudaErrorInvalidValue (a grid of 0 blocks is one cause)", 2: "cudaErrorMemoryAllocation",
    3: "cudaErrorInitializationError",
    9: "cudaErrorInvalidConfiguration (a grid or block size of 0, or too large: more than 1024 threads "
       "a block, or a grid computed in int that overflowed)",
    34: "cudaErrorStubLibrary", 35: "cudaErrorInsufficientDriver", 46: "cudaErrorDevicesUnavailable",
    98: "cudaErrorInvalidDeviceFunction", 100: "cudaErrorNoDevice", 101: "cudaErrorInvalidDevice",
    200: "cudaErrorInvalidKernelImage", 209: "cudaErrorNoKernelImageForDevice", 218: "cudaErrorInvalidPtx",
    222: "cudaErrorUnsupportedPtxVersion", 400: "cudaErrorInvalidResourceHandle",
    700: "cudaErrorIllegalAddress (the kernel touched memory outside a, b and c)",
    701: "cudaErrorLaunchOutOfResources", 702: "cudaErrorLaunchTimeout",
    716: "cudaErrorMisalignedAddress (a vector load or store on a pointer that is not 16-byte aligned?)",
    719: "cudaErrorLaunchFailure", 999: "cudaErrorUnknown",
}


def fail(message: str):
    """Fail with just the message: no traceback into the test's own code."""
    pytest.fail(message, pytrace=False)


def error_name(rc: int) -> str:
    return f"{rc} = {CUDA_ERRORS.get(rc, 'an error code')}"


# ------------------------------------------------------------------------------------ reading PTX


def vector_add_problems(k: KernelFacts) -> list[tuple[str, str]]:
    """(short label, explanation) for each thing a vector add's kernel is missing from its PTX."""
    out = []
    if not k.stores:
        out.append(("writes no output", "it writes no output: no st.global (nor any other store to global "
                    "memory) in its PTX, so c is never written"))
    if len(k.loads) < 2:
        seen = ", ".join(k.loads) or "none"
        out.append(("fewer than two loads", f"it loads from global memory {len(k.loads)} time(s) ({seen}); "
                    "c[i] = a[i] + b[i] needs a load from a AND a load from b"))
    if not k.adds:
        out.append(("no float add", "it adds no floats: no add.f32 in its PTX (c[i] must be a[i] + b[i])"))
    missing = [f"{sreg} ({cname})" for sreg, cname in
               (("%ctaid", "blockIdx"), ("%ntid", "blockDim"), ("%tid", "threadIdx")) if sreg not in k.specials]
    if missing:
        if "%ctaid" not in k.specials:
            short, why = "never reads blockIdx", (
                " Without blockIdx every block computes the same indices, so all blocks write the same "
                "first elements and the rest of c is never written.")
        elif "%ntid" not in k.specials:
            short, why = "never reads blockDim", (
                " Use blockDim.x rather than a constant block size: the kernel then stays right whatever "
                "block size the launcher picks.")
        else:
            short, why = "never reads threadIdx", " Without threadIdx all threads of a block share one index."
        out.append((short, "its index does not come from blockIdx.x * blockDim.x + threadIdx.x: the PTX "
                    f"never reads {', '.join(missing)}.{why}"))
    if k.compares == 0:
        out.append(("no bounds check", "it compares nothing (no setp instruction): there is no `if (i < n)` "
                    "or loop bound, so the threads of the last block that lie past n read past a and b and "
                    "WRITE PAST THE END of c"))
    return out


def _kernels_or_fail(kata):
    report = kata.cuda_report()
    facts = kernel_facts(report.ptx)
    if not facts:
        pytest.fail(f"{FILE} defines no kernel: there is no __global__ function in its PTX. Keep "
                    "`__global__ void vector_add_kernel(...)` (any name will do) and launch it.", pytrace=False)
    return report, facts


# ------------------------------------------------------------------------------------ CPU tier


def _launcher(kata):
    """The learner's `vector_add`, built with nvcc and loaded (callable with numpy arrays or torch tensors)."""
    lib = kata.cuda_library(CDEF)
    try:
        return lib.function("vector_add")
    except AttributeError:
        pass
    fail(f"{FILE} compiled, but the library has no function `vector_add` with C linkage: keep the launcher "
         'declared as  extern "C" int vector_add(const float *a, const float *b, float *c, int n)  (without '
         'extern "C" the C++ compiler mangles its name).')


def test_builds(kata):
    """nvcc compiles the file for sm_90 (the H100/H200), and the host launcher links into a library
    that exports `vector_add` with C linkage. A compile error shows nvcc's own lines."""
    _kernels_or_fail(kata)
    _launcher(kata)


def test_kernel_resources(kata):
    """ptxas -v: no register spills, no stack frame, and at most MAX_REGISTERS registers a thread."""
    report, facts = _kernels_or_fail(kata)
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
                   "a local array indexed at run time, or a call that was not inlined, lives on a stack "
                   "in local memory")
            issues.append(f"has a stack frame of {res.stack_bytes} bytes ({why})")
        if res.registers > MAX_REGISTERS:
            issues.append(f"uses {res.registers} registers a thread, more than {MAX_REGISTERS}: an SM then holds "
                          "fewer than 1024 threads, too few loads in flight, and a vector add needs 10-30 "
                          "(the reference uses 26). Unrolled too far?")
        if issues:
            problems.append(f"{k.shown} " + "; ".join(issues) + "\n  ptxas said:\n" + ptxas_lines(report.raw, k.name))
    kata.record(registers=max((report.kernels[k.name].registers for k in facts if k.name in report.kernels), default=0))
    if problems:
        fail("the resource report (nvcc -Xptxas -v, sm_90):\n" + "\n".join(problems))


def test_kernel_does_the_work(kata):
    """In the PTX: two global loads, a float add, a global store, an index from blockIdx, blockDim and
    threadIdx, and a comparison (the bounds check). The stub's empty kernel fails here."""
    _, facts = _kernels_or_fail(kata)
    if all(k.instructions == 0 or (not k.loads and not k.stores) for k in facts):
        names = ", ".join(k.shown for k in facts)
        raise NotImplementedError(
            f"{FILE}: your kernel writes no output: the PTX of {names} touches no global memory at all. "
            "Either its body is still empty, or nothing it computes is stored to c (then the compiler "
            "deletes the dead code). Write c[i] = a[i] + b[i] for this thread's i.")
    best = closest(facts, vector_add_problems)
    found = vector_add_problems(best)
    short_name = best.shown.split("(")[0]
    kata.record(global_loads=len(best.loads), global_stores=len(best.stores), compares=best.compares)
    if found:
        seen = (f"loads {best.loads or 'none'}, stores {best.stores or 'none'}, float adds {best.adds or 'none'}, "
                f"special registers {sorted(best.specials) or 'none'}, {best.compares} setp")
        others = f" (of {len(facts)} kernels, the closest)" if len(facts) > 1 else ""
        fail(f"{short_name}: " + "; ".join(p for p, _ in found) + f" (read from its PTX{others})\n  - " +
             "\n  - ".join(why for _, why in found) + f"\n  the PTX of {best.shown} shows: {seen}")


def test_launcher_reports_a_failed_launch(kata, request, monkeypatch):
    """With every GPU hidden (CUDA_VISIBLE_DEVICES=''), launching must fail and the launcher must return
    that error: a launcher that returns 0 whatever happened hides every failure from its caller. Host
    arrays are passed: they must be left alone (the work belongs in the kernel, not on the host)."""
    from kata.plugin import has_gpu

    torch = sys.modules.get("torch")
    if (torch is not None and torch.cuda.is_initialized()) or (request.config.getoption("no_isolation") and has_gpu()):
        # Hiding the GPUs must happen before CUDA starts in a process, and would hide them from later tests.
        pytest.skip("hides the GPUs, so it needs a process of its own: run it without --no-isolation")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # read when CUDA starts: in this test's own forked process
    vector_add = _launcher(kata)
    n = 1000
    a = np.arange(n, dtype=np.float32)
    b = np.ones(n, dtype=np.float32)
    c = np.full(n, np.nan, dtype=np.float32)
    rc = vector_add(a, b, c, n)
    if not np.isnan(c).all():
        fail("vector_add wrote to c on the host: a, b and c are DEVICE pointers (GPU memory); the host "
             "launcher must only launch the kernel, which does the work.")
    if not np.array_equal(a, np.arange(n, dtype=np.float32)):
        fail("vector_add changed a on the host: a and b are inputs, and device pointers at that.")
    if rc == 0:
        fail("with every GPU hidden the launch cannot succeed, yet vector_add returned 0 (success). Return the "
             "launch's error: `return (int)cudaGetLastError();` right after the <<<...>>> launch.")
    kata.record(error_seen=error_name(rc))


# ------------------------------------------------------------------------------------ GPU tier

MARGIN = 4096  # floats of NaN guard on each side of c: more than any block (1024) can overrun


def _cuda_failure(e: Exception, what: str):
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    fail(
        f"the GPU reported an error after vector_add on {what}: {first}\n"
        "  The kernel crashed: an index past the end of a, b or c (a missing bounds check, an int index "
        "that overflowed), or a misaligned vector access.")


def _gpu_error(fn) -> Exception | None:
    """Run fn; return the CUDA error it raised (a crashed kernel surfaces at the next sync), if any."""
    try:
        fn()
    except NotImplementedError:  # a RuntimeError too: the stub's KATA_TODO(), reported as such
        raise
    except RuntimeError as e:
        return e
    return None


def _no_traceback(fn) -> None:
    """Run kata.testing's checks; a failure shows only their message (raised outside the except)."""
    try:
        fn()
    except AssertionError as e:
        msg = str(e)
    else:
        return
    fail(msg)


def _run(vector_add, a, b, c, n: int, what: str, hint: str = "") -> None:
    rc = vector_add(a, b, c, n)
    if rc != 0:
        fail(f"vector_add returned {error_name(rc)} on {what}; it must launch and return 0" + hint)


def _inputs(n: int, seed: int, extra: int = 0):
    import torch

    g = torch.Generator(device="cuda").manual_seed(seed)
    return (torch.randn(n + extra, generator=g, device="cuda"),
            torch.randn(n + extra, generator=g, device="cuda"))


def _check_guarded(vector_add, a, b, n: int, what: str, c_offset: int = 0) -> None:
    """Run with c between NaN guards; check the guards, every element, and that a and b are unchanged."""
    import torch

    out = Guarded(n, margin=MARGIN + c_offset)  # c_offset floats past a 16-byte boundary
    full = torch.from_numpy(out.full).to("cuda")
    a0, b0 = a.clone(), b.clone()
    _run(vector_add, a, b, full[out.margin:out.margin + n], n, what)
    err = _gpu_error(lambda: out.full.__setitem__(slice(None), full.cpu().numpy()))  # stream-ordered, no device sync
    if err:
        _cuda_failure(err, what)
    want = (a.cpu() + b.cpu()).numpy()
    _no_traceback(lambda: (out.check_margins("c"), assert_equal(out.inner, want, what="c", on=what),
                           assert_unchanged(a0, a, what="a"), assert_unchanged(b0, b, what="b")))


SIZES = [1, 2, 31, 32, 33, 255, 256, 257, 1000, 4097, 65537, 1000003, (1 << 24) + 3]


@pytest.mark.gpu
@pytest.mark.parametrize("n", SIZES)
def test_matches_torch(kata, n):
    # Not multiples of any block size, a prime (1000003), and 2^24 + 3: more than 65535 blocks of 256.
    vector_add = _launcher(kata)
    a, b = _inputs(n, seed=n)
    _check_guarded(vector_add, a, b, n, f"n = {n}")


@pytest.mark.gpu
def test_n_zero(kata):
    import torch

    vector_add = _launcher(kata)
    out = Guarded(0, margin=MARGIN)
    full = torch.from_numpy(out.full).to("cuda")
    a = torch.zeros(1, device="cuda")
    rc = vector_add(a, a, full[MARGIN:], 0)
    if rc != 0:
        fail(f"vector_add(..., n = 0) returned {error_name(rc)}: with nothing to do, launch nothing and return 0 "
             "(a grid of 0 blocks is an invalid launch)")
    err = _gpu_error(lambda: out.full.__setitem__(slice(None), full.cpu().numpy()))
    if err:
        _cuda_failure(err, "n = 0")
    _no_traceback(lambda: out.check_margins("c (n = 0: nothing may be written)"))


@pytest.mark.gpu
@pytest.mark.parametrize("offsets", [(1, 1, 1), (0, 1, 2), (3, 2, 0)], ids=lambda o: "abc+%d%d%d" % o)
def test_unaligned_pointers(kata, offsets):
    """float pointers need only be 4-byte aligned: a, b, c start 0-3 floats past a 16-byte boundary.
    (A float4-vectorised kernel must handle the unaligned head, or fall back to scalar accesses.)"""
    oa, ob, oc = offsets
    vector_add = _launcher(kata)
    n = 100003
    a_buf, b_buf = _inputs(n, seed=7, extra=4)
    _check_guarded(vector_add, a_buf[oa:oa + n], b_buf[ob:ob + n], n,
                   f"n = {n} with a, b, c at {oa * 4}, {ob * 4}, {oc * 4} bytes past a 16-byte boundary", c_offset=oc)


@pytest.mark.gpu
@pytest.mark.time_limit(180)
@pytest.mark.judge_shared("24 GiB of inputs and output, too much to send to the learner's process as data")
def test_int_max(kata):
    """n = 2^31 - 1, the largest int: `(n + 255) / 256` and an int grid-stride index `i += stride`
    overflow here. Checked on the GPU (24 GiB of inputs and output)."""
    import torch

    n = 2**31 - 1
    need = 4 * (3 * n + 2 * MARGIN) + (2 << 30)
    free, _ = torch.cuda.mem_get_info()
    if free < need:
        pytest.skip(f"needs {need / 2**30:.0f} GiB of free GPU memory, this GPU has {free / 2**30:.0f} GiB free")
    vector_add = _launcher(kata)
    g = torch.Generator(device="cuda").manual_seed(31)
    a = torch.rand(n, generator=g, device="cuda")
    b = torch.rand(n, generator=g, device="cuda")
    full = torch.full((n + 2 * MARGIN,), float("nan"), device="cuda")
    c = full[MARGIN:MARGIN + n]
    what = "n = 2147483647 (INT_MAX)"
    _run(vector_add, a, b, c, n, what, hint=".\n  At INT_MAX, `(n + 255) / 256` overflows an int (it turns negative, "
         "and as an unsigned grid size, huge): compute the grid size in size_t.")

    def check():
        for side, guard in (("before the start", full[:MARGIN]), ("past the end", full[MARGIN + n:])):
            hit = int((~torch.isnan(guard)).sum())
            if hit:
                why = ("An int index that overflowed (i += stride past 2^31) wraps around to negative values."
                       if side.startswith("before") else "Threads whose index is n or more must not write: "
                       "check the bounds test (i < n) of every store.")
                fail(f"OUT-OF-BOUNDS WRITE on {what}: {hit} element(s) written {side} of c. {why}")
        chunk = 1 << 28
        for s in range(0, n, chunk):
            e = min(n, s + chunk)
            want = a[s:e] + b[s:e]
            bad = c[s:e] != want
            nbad = int(bad.sum())
            if nbad:
                idx = bad.nonzero()[:5, 0]
                nan = int(torch.isnan(c[s:e][bad]).sum())
                shown = ", ".join(f"c[{s + int(i)}] = {c[s + int(i)].item()!r} (expected {want[int(i)].item()!r})"
                                  for i in idx)
                fail(f"c on {what}: elements {s}..{e - 1} hold {nbad} wrong value(s), {nan} of them NaN (never "
                     f"written): {shown}.\n  Past 2^31 an int index overflows: keep the index (and the grid "
                     "size arithmetic) in 64 bits, e.g. size_t.")

    err = _gpu_error(check)  # fail() inside raises pytest's Failed, which passes through
    if err:
        _cuda_failure(err, what)


# ------------------------------------------------------------------------------------ GPU perf gate

PERF_N = 1 << 27          # 512 MiB per tensor: far beyond any L2
NEED_OF_COPY = 0.80       # of the device-to-device copy bandwidth (bytes read + written)
NEED_OF_TORCH = 0.90      # of the speed of torch's own a + b


@pytest.mark.gpu
@pytest.mark.perf
@pytest.mark.wallclock  # timed: `kata check` runs it alone, never beside other tests using the GPU
@pytest.mark.time_limit(300)
def test_bandwidth(kata):
    import torch

    from kata.timing import copy_bandwidth, device_name, gbps, gpu_ms, gpu_once_ms

    vector_add = _launcher(kata)
    n = PERF_N
    a, b = _inputs(n, seed=27)
    c = torch.empty_like(a)
    ref = torch.empty_like(a)
    what = f"n = 2^27 = {n}"
    nbytes = 3 * n * 4  # read a and b, write c
    got = {}

    def measure():
        _run(vector_add, a, b, c, n, what)  # also the warm-up
        torch.add(a, b, out=ref)
        if not torch.equal(c, ref):
            bad = int((c != ref).sum())
            fail(f"wrong result on {what} ({bad} elements differ from a + b): its speed is not graded until "
                 "it is right (see the correctness tests)")
        got["copy"] = copy_bandwidth()
        got["torch_ms"] = torch_ms = gpu_ms(lambda: torch.add(a, b, out=ref))
        # One timed call first: a kernel 10x too slow fails at once rather than being benchmarked.
        once = gpu_once_ms(lambda: vector_add(a, b, c, n))
        ms = once if once > 10 * torch_ms else gpu_ms(lambda: vector_add(a, b, c, n))
        if ms > torch_ms / NEED_OF_TORCH:  # one retry: noise only ever makes a kernel look slower
            ms = min(ms, gpu_ms(lambda: vector_add(a, b, c, n)))
        got["ms"] = ms

    err = _gpu_error(measure)
    if err:
        _cuda_failure(err, what)
    ms, torch_ms, copy = got["ms"], got["torch_ms"], got["copy"]
    rate = gbps(nbytes, ms)
    frac = rate * 1e9 / copy
    vs_torch = torch_ms / ms
    kata.record(device=device_name(), kernel_ms=round(ms, 4), torch_ms=round(torch_ms, 4), gbps=round(rate, 1),
                copy_gbps=round(copy / 1e9, 1), fraction_of_copy=round(frac, 3), speed_vs_torch=round(vs_torch, 3))
    if frac < NEED_OF_COPY or vs_torch < NEED_OF_TORCH:
        fail(f"{what} on {device_name()}: your kernel took {ms:.3f} ms = {rate:.0f} GB/s (3 x 4 bytes an element), "
             f"{frac:.0%} of this GPU's copy bandwidth ({copy / 1e9:.0f} GB/s; the gate is {NEED_OF_COPY:.0%}), "
             f"and ran at {vs_torch:.2f}x the speed of torch's a + b ({torch_ms:.3f} ms; the gate is "
             f"{NEED_OF_TORCH}x).\n  " + (
                 "Most of the GPU sits idle: launch enough blocks to cover n (or to fill every SM many times "
                 "over), with consecutive threads on consecutive floats." if frac < 0.5 else
                 "Close: the whole GPU is busy, but each thread waits on one load at a time. Have every thread "
                 "issue the loads for several elements (blockDim.x apart) before it adds any (README, hint 5)."))
