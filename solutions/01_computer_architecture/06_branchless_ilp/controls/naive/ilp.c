/* Naive control: correct, but the clamp branches on every element (random data: the predictor guesses
 * wrong often) and the sum is one dependency chain (each add waits for the previous one). */
#include "kata.h"

void clamp_array(const float *x, float *out, long n, float lo, float hi) {
    for (long i = 0; i < n; i++) {
        if (x[i] < lo)
            out[i] = lo;
        else if (x[i] > hi)
            out[i] = hi;
        else
            out[i] = x[i];
    }
}

float sum_ilp(const float *x, long n) {
    float s = 0.0f;
    for (long i = 0; i < n; i++)
        s += x[i];
    return s;
}
