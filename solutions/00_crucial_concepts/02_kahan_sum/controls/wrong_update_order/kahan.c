/* Wrong control: the sum is updated before the compensation is computed, so c = (sum - sum) - y = -y
 * and every term is added twice. */
#include "kata.h"

float kahan_sum(const float *x, long n) {
    float sum = 0.0f, c = 0.0f;
    for (long i = 0; i < n; i++) {
        float y = x[i] - c;
        sum = sum + y;
        c = (sum - sum) - y;
    }
    return sum;
}
