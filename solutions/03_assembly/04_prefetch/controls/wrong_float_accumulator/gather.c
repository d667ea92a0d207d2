/* Wrong control: prefetches well, but sums into a float: a long sum loses its low bits. */
#include <stdint.h>
#include "gather.h"
#include "kata.h"

double gather_sum(const float *table, const int32_t *idx, long n) {
    float s = 0.0f;
    long i = 0;
    for (; i + 16 < n; i++) {
        __builtin_prefetch(&table[idx[i + 16]], 0, 3);
        s += table[idx[i]];
    }
    for (; i < n; i++)
        s += table[idx[i]];
    return s;
}
