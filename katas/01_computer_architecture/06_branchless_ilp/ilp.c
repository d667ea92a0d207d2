/* Branchless code and instruction-level parallelism. See README.md. */
#include <immintrin.h>
#include "kata.h"

/* out[i] = x[i] clamped to [lo, hi] (lo <= hi; no NaN in x), with no branch that depends on the data. */
void clamp_array(const float *x, float *out, long n, float lo, float hi) {
    KATA_TODO();
}

/* The sum of x[0..n), with enough independent additions in flight to keep the adders busy. */
float sum_ilp(const float *x, long n) {
    KATA_TODO();
    return 0.0f;
}
