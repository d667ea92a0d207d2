/* Reference. gcc 12 at -O2 vectorizes with its "very cheap" cost model: only when the vector loop
 * replaces the scalar loop entirely (no runtime overlap check, no scalar epilogue it would have to
 * add). So:
 *  - axpy: `restrict` promises x and y do not overlap (no overlap check needed), and the main loop runs
 *    to n rounded down to a multiple of 8 (no epilogue needed); the tail is a loop of its own.
 *  - sum: a float sum cannot be reordered without -ffast-math, so keep the order gcc may vectorize: 8
 *    independent partial sums (acc[j] for lanes j), added together at the end. */
#include "kata.h"

void axpy(float *restrict y, const float *restrict x, float a, long n) {
    long m = n & ~7L, i;
    for (i = 0; i < m; i++)
        y[i] += a * x[i];
    for (; i < n; i++)
        y[i] += a * x[i];
}

float sum(const float *x, long n) {
    float acc[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += x[i + j];
    float s = 0.0f;
    for (int j = 0; j < 8; j++)
        s += acc[j];
    for (; i < n; i++)
        s += x[i];
    return s;
}
