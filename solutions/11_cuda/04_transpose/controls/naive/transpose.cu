/* Naive control: each thread copies in[y][x] to out[x][y] directly. Reads are coalesced, writes are not:
 * the 32 threads of a warp write 32 floats `rows` apart, 32 sectors for 128 useful bytes. Correct; well
 * under the bandwidth gate. No shared memory: the CPU tier's gate fails it. */
#include <cuda_runtime.h>
#include "kata.h"

__global__ void transpose_kernel(const float *in, float *out, int rows, int cols) {
    int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x < cols && y < rows)
        out[(size_t)x * rows + y] = in[(size_t)y * cols + x];
}

extern "C" int transpose(const float *in, float *out, int rows, int cols) {
    if (rows <= 0 || cols <= 0)
        return 0;
    dim3 block(32, 8), grid((unsigned)((cols + 31) / 32), (unsigned)((rows + 7) / 8));
    transpose_kernel<<<grid, block>>>(in, out, rows, cols);
    return (int)cudaGetLastError();
}
