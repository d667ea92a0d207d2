/* Reference: two loops. While an element 16 iterations ahead exists, ask for it with
 * __builtin_prefetch(&table[idx[i + 16]]) (read, keep in all cache levels) and then use element i;
 * the last 16 iterations have nothing left to prefetch and must not read idx past n. 16 iterations
 * of a few ns each cover roughly one DRAM latency. */
#include <stdint.h>
#include "gather.h"
#include "kata.h"

#define AHEAD 16

double gather_sum(const float *table, const int32_t *idx, long n) {
    double s = 0.0;
    long i = 0;
    for (; i + AHEAD < n; i++) {
        __builtin_prefetch(&table[idx[i + AHEAD]], 0, 3);
        s += table[idx[i]];
    }
    for (; i < n; i++)
        s += table[idx[i]];
    return s;
}
