/* Wrong control: blocked, but the loops stop at the last whole tile; the ragged edge is never written. */
#include "kata.h"

#define TILE 16

void transpose(const float *src, float *dst, int rows, int cols) {
    for (int i0 = 0; i0 + TILE <= rows; i0 += TILE)
        for (int j0 = 0; j0 + TILE <= cols; j0 += TILE)
            for (int i = i0; i < i0 + TILE; i++)
                for (int j = j0; j < j0 + TILE; j++)
                    dst[(long)j * rows + i] = src[(long)i * cols + j];
}
