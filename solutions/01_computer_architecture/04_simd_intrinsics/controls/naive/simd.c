/* Naive control: correct scalar loops. gcc -O2 does not vectorize them (saxpy would need an epilogue
 * and an alias check; dot is a float reduction, which it may not reorder). One element per iteration. */
#include "kata.h"

void saxpy(float a, const float *x, float *y, long n) {
    for (long i = 0; i < n; i++)
        y[i] = a * x[i] + y[i];
}

float dot(const float *x, const float *y, long n) {
    float s = 0.0f;
    for (long i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}
