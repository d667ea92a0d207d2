/* saxpy and dot with AVX2 + FMA intrinsics. See README.md. */
#include <immintrin.h>
#include "kata.h"

void saxpy(float a, const float *x, float *y, long n) {   /* y[i] = a * x[i] + y[i] */
    KATA_TODO();
}

float dot(const float *x, const float *y, long n) {       /* sum of x[i] * y[i] */
    KATA_TODO();
    return 0.0f;
}
