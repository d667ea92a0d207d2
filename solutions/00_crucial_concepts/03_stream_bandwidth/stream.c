/* Reference: the four STREAM kernels as plain loops the compiler can turn into AVX2 code. `restrict`
 * promises the arrays do not overlap; a main loop over a multiple of 8 elements plus a scalar tail lets
 * gcc -O2 vectorize without a run-time alias check or a vector epilogue. At these sizes the loops wait
 * on memory, not arithmetic: what matters is that every cache line is streamed once, in order. */
#include "kata.h"

void stream_copy(const float *restrict a, float *restrict c, long n) {
    long m = n & ~7L;
    for (long i = 0; i < m; i++) c[i] = a[i];
    for (long i = m; i < n; i++) c[i] = a[i];
}

void stream_scale(const float *restrict c, float *restrict b, float s, long n) {
    long m = n & ~7L;
    for (long i = 0; i < m; i++) b[i] = s * c[i];
    for (long i = m; i < n; i++) b[i] = s * c[i];
}

void stream_add(const float *restrict a, const float *restrict b, float *restrict c, long n) {
    long m = n & ~7L;
    for (long i = 0; i < m; i++) c[i] = a[i] + b[i];
    for (long i = m; i < n; i++) c[i] = a[i] + b[i];
}

void stream_triad(const float *restrict b, const float *restrict c, float *restrict a, float s, long n) {
    long m = n & ~7L;
    for (long i = 0; i < m; i++) a[i] = b[i] + s * c[i];
    for (long i = m; i < n; i++) a[i] = b[i] + s * c[i];
}
