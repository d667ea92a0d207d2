/* Naive control: every thread atomicAdds every element it reads straight into *out. Correct (float
 * atomics in any order, within the tolerance), but tens of thousands of threads queue on one address:
 * the atomics serialise at the L2 and the kernel reaches well under 1% of the memory bandwidth.
 * No shared memory, no shuffles: the CPU tier's PTX gate fails it too. */
#include <cuda_runtime.h>
#include "kata.h"

__global__ void reduce_kernel(const float *x, float *out, int n) {
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (size_t)n; i += stride)
        atomicAdd(out, x[i]);
}

extern "C" int reduce_sum(const float *x, float *out, int n) {
    cudaError_t err = cudaMemsetAsync(out, 0, sizeof(float));
    if (err != cudaSuccess)
        return (int)err;
    if (n <= 0)
        return 0;
    size_t want = ((size_t)n + 255) / 256;
    unsigned blocks = (unsigned)(want < 2048 ? want : 2048);
    reduce_kernel<<<blocks, 256>>>(x, out, n);
    return (int)cudaGetLastError();
}
