/* Reference: Kahan summation. c holds the low-order bits the last addition lost (negated); each new
 * term is corrected by it before it is added. Needs IEEE semantics: no -ffast-math, which would
 * simplify (t - sum) - y to zero. */
#include "kata.h"

float kahan_sum(const float *x, long n) {
    float sum = 0.0f, c = 0.0f;
    for (long i = 0; i < n; i++) {
        float y = x[i] - c;   /* the term, corrected by what was lost last time */
        float t = sum + y;    /* big + small: low bits of y are lost here */
        c = (t - sum) - y;    /* (what was really added) - (what we meant to add) */
        sum = t;
    }
    return sum;
}
