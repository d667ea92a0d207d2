"""Timing, where time is the point.

CPU (wall clock): `compare(fast, slow)` times the two interleaved (A B A B ...), takes medians, and
retries once before reporting, since on a 2-core machine the same ratio moves by 2x from one minute to
the next. Gates built on it must be generous (>= 1.5x where the honest answer is 4x); never use an
absolute time as a threshold on a CPU.
`fastest_interleaved(a, b, ...)` keeps each side's *fastest* run instead (noise only ever adds time),
timed in CPU time by default: on a busy machine the moments another process holds our core do not count,
while cache and memory contention still do. Machine facts (cache sizes, cores, load): `kata.machine`.

GPU: `gpu_ms(fn)` is triton.testing.do_bench's median (L2 flushed between runs), `gpu_once_ms(fn)` one call's
time (a first look before benchmarking); `copy_bandwidth()`
measures the device's device-to-device copy bandwidth in bytes/s (read + write), the ceiling that
memory-bound kernels are graded against; `tflops`/`gbps` turn times into rates.
"""
from __future__ import annotations

import functools
import statistics
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Ratio:
    fast_s: float     # median seconds of the candidate
    slow_s: float     # median seconds of the baseline
    rounds: int

    @property
    def speedup(self) -> float:
        return self.slow_s / self.fast_s if self.fast_s > 0 else float("inf")

    def __str__(self):
        return f"{self.speedup:.2f}x (median {self.fast_s * 1e3:.3f} ms vs {self.slow_s * 1e3:.3f} ms, {self.rounds} rounds)"


def _time_once(fn: Callable[[], object], clock: str = "wall") -> float:
    """Seconds `fn()` took. When the judge is separate (kata.remote), a call into the learner's process
    counts the time its function took there, not the time spent moving its arguments."""
    from kata.remote import timing

    now = time.process_time if clock == "cpu" else time.perf_counter
    with timing(clock) as timer:
        t = now()
        fn()
        elapsed = now() - t
    return max(elapsed + timer.adjust, 1e-9)


def compare(fast: Callable[[], object], slow: Callable[[], object], *, rounds: int = 15, warmup: int = 2,
            need: float | None = None, retries: int = 1) -> Ratio:
    """Median times of `fast` and `slow` run interleaved. With `need`, retry up to `retries` times when
    the speed-up falls short, keeping the best ratio (noise only ever makes a ratio look worse)."""
    best = None
    for _ in range(1 + retries):
        for _ in range(warmup):
            fast(), slow()
        a, b = [], []
        for i in range(rounds):
            if i % 2:
                b.append(_time_once(slow)); a.append(_time_once(fast))
            else:
                a.append(_time_once(fast)); b.append(_time_once(slow))
        r = Ratio(statistics.median(a), statistics.median(b), rounds)
        if best is None or r.speedup > best.speedup:
            best = r
        if need is None or best.speedup >= need:
            break
    return best


def fastest_interleaved(*fns: Callable[[], object], rounds: int = 15, warmup: int = 2,
                        clock: str = "cpu") -> list[float]:
    """The fastest of `rounds` runs of each function, the functions interleaved (A B C, then C B A, ...)
    so that a slow phase of the machine hits every side alike. `clock="cpu"` (the default) times in CPU
    time of this process (time.process_time: precise to the nanosecond on Linux, and blind to the moments
    another process holds our core); `clock="wall"` uses time.perf_counter (for code that waits or runs
    threads, where CPU time would sum the threads). Returns seconds, one per function, in order."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    best = [float("inf")] * len(fns)
    order = list(range(len(fns)))
    for r in range(rounds):
        for i in (order if r % 2 == 0 else order[::-1]):
            best[i] = min(best[i], _time_once(fns[i], clock))
    return [max(b, 1e-9) for b in best]


# ----------------------------------------------------------------------------------------------- GPU

def gpu_ms(fn: Callable[[], object], *, warmup: int = 25, rep: int = 100) -> float:
    """Median milliseconds of fn on the GPU (triton.testing.do_bench; flushes L2 between runs).

    Under a separate judge (kata grade), `fn` is called once, and each call it makes into the learner's
    process is timed apart from the judge's data moving (kata.remote.gpu_timing): from the call's tape, by
    the grader's replayer (learner Python), or by the harness in the worker (a learner's CUDA library). The
    figure is the sum of those medians; `fn` must do nothing else on the GPU worth timing."""
    from triton.testing import do_bench

    from kata import judging
    if judging.separate():
        from kata.remote import gpu_timing
        with gpu_timing(warmup, rep) as timed:
            fn()
        if timed["ms"]:
            return float(sum(timed["ms"]))
    return float(do_bench(fn, warmup=warmup, rep=rep, return_mode="median"))


def gpu_once_ms(fn: Callable[[], object]) -> float:
    """Milliseconds of one call of fn on the GPU (CUDA events around it): a first look that spares benchmarking
    a kernel far too slow to pass. Under a separate judge, a do_bench of the fewest runs it makes (gpu_ms)."""
    from kata import judging
    if judging.separate():
        return gpu_ms(fn, warmup=1, rep=1)
    import torch

    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    return float(start.elapsed_time(end))


@functools.lru_cache(maxsize=None)
def copy_bandwidth(nbytes: int = 1 << 30) -> float:
    """Device-to-device copy bandwidth in bytes/s, counting bytes read plus bytes written."""
    import torch

    src = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    ms = gpu_ms(lambda: dst.copy_(src))
    del src, dst
    return 2 * nbytes / (ms * 1e-3)


def gbps(nbytes: float, ms: float) -> float:
    return nbytes / (ms * 1e-3) / 1e9


def tflops(flops: float, ms: float) -> float:
    return flops / (ms * 1e-3) / 1e12


def device_name() -> str:
    import torch

    return torch.cuda.get_device_name()
