/* Control (wrong): the index is threadIdx.x alone. Every block computes the same indices
 * 0..blockDim-1, so all blocks write the first 256 elements and the rest of c is never written. */
#include <cuda_runtime.h>
#include "kata.h"

#define THREADS 256

__global__ void vector_add_kernel(const float *a, const float *b, float *c, int n) {
    int i = threadIdx.x;
    if (i < n)
        c[i] = a[i] + b[i];
}

extern "C" int vector_add(const float *a, const float *b, float *c, int n) {
    if (n <= 0)
        return 0;
    unsigned blocks = (unsigned)((n + (size_t)THREADS - 1) / THREADS);
    vector_add_kernel<<<blocks, THREADS>>>(a, b, c, n);
    return (int)cudaGetLastError();
}
