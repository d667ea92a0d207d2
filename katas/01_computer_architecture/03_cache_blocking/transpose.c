/* Blocked matrix transpose: dst (cols x rows) = transpose of src (rows x cols), both row-major. */
#include "kata.h"

void transpose(const float *src, float *dst, int rows, int cols) {
    KATA_TODO(); /* delete this line and write the transpose: dst[j * rows + i] = src[i * cols + j] */
}
