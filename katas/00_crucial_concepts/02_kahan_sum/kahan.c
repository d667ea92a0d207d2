/* Compensated summation: the sum of n floats, in float arithmetic only (no double). See README.md. */
#include "kata.h"

float kahan_sum(const float *x, long n) {
    KATA_TODO(); /* delete this line: keep a running sum and a compensation term c */
    return 0.0f;
}
