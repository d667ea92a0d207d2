/* Reference: touch one byte every `stride` bytes; infer the line size from where the cost stops rising. */
#include <stddef.h>
#include <stdint.h>
#include "kata.h"

uint64_t touch_stride(uint8_t *buf, size_t bytes, size_t stride) {
    uint64_t k = 0;
    for (size_t i = 0; i < bytes; i += stride, k++)
        buf[i] += 1;
    return k;
}

/* Below the line size, doubling the stride doubles the lines per touch; from the line size on, every
 * touch costs one line and the curve is flat. The first stride whose cost reaches 70% of the plateau
 * (the largest stride's cost) is the line size. */
int infer_line_size(const int *strides, const double *cost, int k) {
    double plateau = cost[k - 1];
    for (int i = 0; i < k; i++)
        if (cost[i] >= 0.7 * plateau)
            return strides[i];
    return strides[k - 1];
}
