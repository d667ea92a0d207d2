/* Wrong control: a copy, not a transpose (right for 1x1 and symmetric inputs only). */
#include "kata.h"

void transpose(const float *src, float *dst, int rows, int cols) {
    for (long k = 0; k < (long)rows * cols; k++)
        dst[k] = src[k];
}
