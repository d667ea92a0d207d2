/* WRONG: the warp reductions use __shfl_down_sync, which leaves the total in lane 0 only; the other lanes go on with partial maxima and sums. GPU tier: wrong values in every column not handled by lane 0.
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

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_down_sync(FULL, v, o));
    return v;
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_down_sync(FULL, v, o);
    return v;
}

__global__ void row_softmax_kernel(const float *__restrict__ x, float *__restrict__ y, int rows, int cols) {
    const int lane = threadIdx.x % 32;
    const long long row = (long long)blockIdx.x * WARPS + threadIdx.x / 32;
    if (row >= rows)
        return; /* the whole warp leaves together: the shuffles below always have all 32 lanes */
    const float *xr = x + row * cols;
    float *yr = y + row * cols;
    float m = -INFINITY;
    for (int c = lane; c < cols; c += 32)
        m = fmaxf(m, xr[c]);
    m = warp_max(m);
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
