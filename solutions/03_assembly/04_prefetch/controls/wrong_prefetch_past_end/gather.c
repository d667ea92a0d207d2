/* Wrong control: one loop with a prefetch 16 ahead in every iteration: in the last 16 iterations it
 * reads idx[n], idx[n+1], ...: past the end of the array (AddressSanitizer names the line). */
#include <stdint.h>
#include "gather.h"
#include "kata.h"

double gather_sum(const float *table, const int32_t *idx, long n) {
    double s = 0.0;
    for (long i = 0; i < n; i++) {
        __builtin_prefetch(&table[idx[i + 16]], 0, 3);
        s += table[idx[i]];
    }
    return s;
}
