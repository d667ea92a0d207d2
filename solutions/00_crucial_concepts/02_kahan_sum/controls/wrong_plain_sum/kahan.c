/* Wrong control: a plain float accumulator. Error grows like n * eps; 1e-8 added to 1.0 is lost. */
#include "kata.h"

float kahan_sum(const float *x, long n) {
    float sum = 0.0f;
    for (long i = 0; i < n; i++)
        sum += x[i];
    return sum;
}
