/* Sum an array with POSIX threads. The contract is in the README. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include "kata.h"

/* Sum x[0..n) with nthreads threads working at once; store the exact sum in *out and return 0.
 * Return -1 (and leave *out alone) if nthreads is not in 1..256. */
int parallel_sum(const int64_t *x, size_t n, int nthreads, int64_t *out) {
    KATA_TODO();
    return -1;
}
