/* Naive control: the textbook i-j-k loop. Correct, but the inner loop walks a column of B, n floats
 * apart: a new cache line for every multiply-add once B is bigger than L1. */
#include "kata.h"

void matmul(const float *A, const float *B, float *C, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int k = 0; k < n; k++)
                s += A[(long)i * n + k] * B[(long)k * n + j];
            C[(long)i * n + j] = s;
        }
}
