/* WRONG (race): no __syncthreads() between writing the tile and reading its columns, which other threads wrote. CPU tier: st.shared/ld.shared and no bar.sync in the PTX; GPU tier: racecheck and wrong values.
 *
 * Otherwise the reference: out = in^T through a padded 32 x 32 tile in shared memory.
 *
 * A block of 32 x 8 threads moves one 32 x 32 tile. It reads the tile row by row (a warp reads 32
 * consecutive floats of a row of `in`: coalesced), __syncthreads(), then writes it out row by row of
 * `out` (again 32 consecutive floats a warp: coalesced), which means reading a COLUMN of the tile.
 * Declared tile[32][32], that column read has all 32 threads 128 bytes apart, in one bank: a 32-way
 * bank conflict. One extra column, tile[32][33], puts thread t in bank t: conflict-free.
 */
#include <cuda_runtime.h>
#include "kata.h"

#define TILE 32
#define ROWS 8 /* threads per block: TILE x ROWS; each thread moves TILE / ROWS elements */

__global__ void transpose_kernel(const float *__restrict__ in, float *__restrict__ out, int rows, int cols) {
    __shared__ float tile[TILE][TILE + 1];
    const int x = blockIdx.x * TILE + threadIdx.x; /* a column of in */
    const int y0 = blockIdx.y * TILE;
#pragma unroll
    for (int j = threadIdx.y; j < TILE; j += ROWS) {
        int y = y0 + j;
        if (x < cols && y < rows)
            tile[j][threadIdx.x] = in[(size_t)y * cols + x];
    }
    const int ox = blockIdx.y * TILE + threadIdx.x; /* a column of out = a row of in */
    const int oy0 = blockIdx.x * TILE;
#pragma unroll
    for (int j = threadIdx.y; j < TILE; j += ROWS) {
        int oy = oy0 + j;                           /* a row of out = a column of in */
        if (ox < rows && oy < cols)
            out[(size_t)oy * rows + ox] = tile[threadIdx.x][j];
    }
}

extern "C" int transpose(const float *in, float *out, int rows, int cols) {
    if (rows <= 0 || cols <= 0)
        return 0;
    dim3 block(TILE, ROWS), grid((unsigned)((cols + TILE - 1) / TILE), (unsigned)((rows + TILE - 1) / TILE));
    transpose_kernel<<<grid, block>>>(in, out, rows, cols);
    return (int)cudaGetLastError();
}
