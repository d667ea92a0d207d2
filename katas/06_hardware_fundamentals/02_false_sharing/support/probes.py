"""What the false-sharing tests do beside the learner's library: read the counters' addresses, and time
a call in the process its threads run in (CPU time counts every thread of that process). Each function
returns data (addresses, seconds); under `kata grade` this file runs in the learner's process
(kata.probe), the checks do not."""
import time

import numpy as np


def counter_addresses(lib, n):
    """counter_address(t) for t in 0..n-1, as integers."""
    return [int(lib.ffi.cast("uintptr_t", lib.counter_address(t))) for t in range(n)]


def timed(lib, fn, nthreads, iters):
    """One call of lib.<fn>(nthreads, iters, totals) (count_parallel or count_packed): its wall-clock
    seconds and the CPU seconds this process spent during it, all threads together."""
    totals = np.zeros(8, np.int64)
    call = getattr(lib, fn)
    w, c = time.perf_counter(), time.process_time()
    call(nthreads, iters, totals)
    return time.perf_counter() - w, time.process_time() - c
