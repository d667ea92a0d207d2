/* Control (wrong): computes the right answer on a working GPU, but returns 0 whatever happened, so a
 * launch that failed (no device, a bad configuration, a kernel built for another GPU) looks like
 * success and the caller reads garbage. */
#include <cuda_runtime.h>
#include "kata.h"

#define THREADS 256

__global__ void vector_add_kernel(const float *a, const float *b, float *c, int n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)n)
        c[i] = a[i] + b[i];
}

extern "C" int vector_add(const float *a, const float *b, float *c, int n) {
    if (n <= 0)
        return 0;
    unsigned blocks = (unsigned)((n + (size_t)THREADS - 1) / THREADS);
    vector_add_kernel<<<blocks, THREADS>>>(a, b, c, n);
    return 0;
}
