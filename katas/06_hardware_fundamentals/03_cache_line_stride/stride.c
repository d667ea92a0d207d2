/* A stride sweep, and reading the cache line size off it. See README.md. */
#include <stddef.h>
#include <stdint.h>
#include "kata.h"

/* Add 1 to buf[0], buf[stride], buf[2*stride], ... (every index below `bytes`); return how many bytes
 * you touched. */
uint64_t touch_stride(uint8_t *buf, size_t bytes, size_t stride) {
    KATA_TODO();
    return 0;
}

/* strides[0..k) ascend (powers of two); cost[i] is the measured cost per touch at strides[i]. Return the
 * cache line size: the smallest stride whose cost is at least 70% of the cost at the largest stride. */
int infer_line_size(const int *strides, const double *cost, int k) {
    KATA_TODO();
    return 0;
}
