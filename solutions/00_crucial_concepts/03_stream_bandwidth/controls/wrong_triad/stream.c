/* Wrong control: triad scales the wrong operand, a = s*b + c instead of b + s*c (the main loop only). */
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
    for (long i = 0; i < m; i++) a[i] = s * b[i] + c[i];
    for (long i = m; i < n; i++) a[i] = b[i] + s * c[i];
}
