/* Naive control: correct, but each kernel walks its arrays in 16 strided passes (i = j, j + 16, ...),
 * the loop order of a column-major walk over a row-major 2-D view. Every pass touches every cache line,
 * so each line is brought in up to 16 times instead of once. */
#include "kata.h"

#define STRIDE 16

void stream_copy(const float *a, float *c, long n) {
    for (long j = 0; j < STRIDE; j++)
        for (long i = j; i < n; i += STRIDE) c[i] = a[i];
}

void stream_scale(const float *c, float *b, float s, long n) {
    for (long j = 0; j < STRIDE; j++)
        for (long i = j; i < n; i += STRIDE) b[i] = s * c[i];
}

void stream_add(const float *a, const float *b, float *c, long n) {
    for (long j = 0; j < STRIDE; j++)
        for (long i = j; i < n; i += STRIDE) c[i] = a[i] + b[i];
}

void stream_triad(const float *b, const float *c, float *a, float s, long n) {
    for (long j = 0; j < STRIDE; j++)
        for (long i = j; i < n; i += STRIDE) a[i] = b[i] + s * c[i];
}
