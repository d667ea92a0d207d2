/* Reference: transpose in square tiles so both the rows read from src and the columns written to
 * dst stay in the cache while a tile is done. 16 floats = one 64-byte line; the tail tiles are cut
 * short with a min(), so any shape works. */
#include "kata.h"

#define TILE 16

static inline int min_int(int a, int b) { return a < b ? a : b; }

void transpose(const float *src, float *dst, int rows, int cols) {
    for (int i0 = 0; i0 < rows; i0 += TILE) {
        int i1 = min_int(i0 + TILE, rows);
        for (int j0 = 0; j0 < cols; j0 += TILE) {
            int j1 = min_int(j0 + TILE, cols);
            for (int i = i0; i < i1; i++)
                for (int j = j0; j < j1; j++)
                    dst[(long)j * rows + i] = src[(long)i * cols + j];
        }
    }
}
