/* An indirect gather (an embedding lookup, a sparse feature sum): table[idx[i]] for i = 0 .. n-1.
 * Each access lands on a random line of a big table: a cache miss that the loop waits for. Make the
 * loop ask for table[idx[i + D]] early, with __builtin_prefetch. The README explains the rules. */
#include <stdint.h>
#include "gather.h"
#include "kata.h"

double gather_sum(const float *table, const int32_t *idx, long n) {
    KATA_TODO();
    return 0.0;
}
