/* Naive control: one THREAD per row, three serial passes. Correct, but the 32 threads of a warp read 32
 * different rows (32 sectors a load instead of 4) and a 32768-row input makes only 1024 warps. No warp
 * shuffles: the CPU tier's PTX gate fails it. */
#include <cuda_runtime.h>
#include <math.h>
#include "kata.h"

__global__ void row_softmax_kernel(const float *x, float *y, int rows, int cols) {
    long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= rows)
        return;
    const float *xr = x + row * cols;
    float *yr = y + row * cols;
    float m = -INFINITY;
    for (int c = 0; c < cols; c++)
        m = fmaxf(m, xr[c]);
    float s = 0.0f;
    for (int c = 0; c < cols; c++)
        s += expf(xr[c] - m);
    for (int c = 0; c < cols; c++)
        yr[c] = expf(xr[c] - m) / s;
}

extern "C" int row_softmax(const float *x, float *y, int rows, int cols) {
    if (rows <= 0 || cols <= 0)
        return 0;
    row_softmax_kernel<<<(unsigned)((rows + 255) / 256), 256>>>(x, y, rows, cols);
    return (int)cudaGetLastError();
}
