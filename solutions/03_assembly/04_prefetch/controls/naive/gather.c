/* Naive control: the plain loop. Correct; every random access waits for its own cache miss. */
#include <stdint.h>
#include "gather.h"
#include "kata.h"

double gather_sum(const float *table, const int32_t *idx, long n) {
    double s = 0.0;
    for (long i = 0; i < n; i++)
        s += table[idx[i]];
    return s;
}
