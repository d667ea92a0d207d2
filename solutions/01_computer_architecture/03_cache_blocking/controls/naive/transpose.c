/* Naive control: correct, row by row. Reads src along a row (one miss per 16 floats) but writes dst
 * down a column, a new cache line for every element. */
#include "kata.h"

void transpose(const float *src, float *dst, int rows, int cols) {
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            dst[(long)j * rows + i] = src[(long)i * cols + j];
}
