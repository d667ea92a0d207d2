/* Wrong control: vectorized axpy, but the last n % 8 elements of y are never updated. */
#include "kata.h"

void axpy(float *restrict y, const float *restrict x, float a, long n) {
    long m = n & ~7L, i;
    for (i = 0; i < m; i++)
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
