/* WRONG: no max subtraction: exp(x) overflows to inf for x > 88 and the row turns NaN. CPU tier: no max.f32 in the PTX; GPU tier: inputs of magnitude up to 400.
 *
 * Otherwise the reference: softmax of each row, one warp per row.
 *
 * Lane l of the warp handles columns l, l + 32, l + 64, ... so at every step the warp reads 32
 * consecutive floats of its row (coalesced). Three passes over the row:
 *   1. each lane's max, then the warp's max with a butterfly of __shfl_xor_sync (every lane ends with it);
 *   2. each lane's sum of exp(x - max), then the warp's sum the same way;
 *   3. y = exp(x - max) / sum.
 * Subtracting the max keeps every exponent <= 0: exp never overflows, whatever the magnitudes. The
 * second and third passes re-read the row, mostly from L1/L2. No shared memory, no __syncthreads():
 * the 32 lanes of a warp exchange registers directly.
 */
#include <cuda_runtime.h>
#include <math.h>
#include "kata.h"

#define WARPS 8 /* rows per block of 256 threads */
#define FULL 0xffffffffu

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(FULL, v, o);
    return v;
}

__global__ void row_softmax_kernel(const float *__restrict__ x, float *__restrict__ y, int rows, int cols) {
    const int lane = threadIdx.x % 32;
    const long long row = (long long)blockIdx.x * WARPS + threadIdx.x / 32;
    if (row >= rows)
        return; /* the whole warp leaves together: the shuffles below always have all 32 lanes */
    const float *xr = x + row * cols;
    float *yr = y + row * cols;
    const float m = 0.0f; /* no max subtraction: exp(x) overflows for x > 88 */
    float s = 0.0f;
    for (int c = lane; c < cols; c += 32)
        s += expf(xr[c] - m);
    s = warp_sum(s);
    const float inv = 1.0f / s;
    for (int c = lane; c < cols; c += 32)
        yr[c] = expf(xr[c] - m) * inv;
}

extern "C" int row_softmax(const float *x, float *y, int rows, int cols) {
    if (rows <= 0 || cols <= 0)
        return 0;
    unsigned blocks = (unsigned)((rows + WARPS - 1) / WARPS);
    row_softmax_kernel<<<blocks, WARPS * 32>>>(x, y, rows, cols);
    return (int)cudaGetLastError();
}
