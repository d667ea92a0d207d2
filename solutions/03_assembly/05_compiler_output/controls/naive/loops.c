/* Naive control: the loops as usually written. Correct; gcc -O2 keeps both scalar (axpy would need an
 * overlap check and an epilogue, sum would need reassociation). */
#include "kata.h"

void axpy(float *y, const float *x, float a, long n) {
    for (long i = 0; i < n; i++)
        y[i] += a * x[i];
}

float sum(const float *x, long n) {
    float s = 0.0f;
    for (long i = 0; i < n; i++)
        s += x[i];
    return s;
}
