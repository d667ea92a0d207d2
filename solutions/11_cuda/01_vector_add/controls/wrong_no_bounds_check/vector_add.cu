/* Control (wrong): one thread per element and no `if (i < n)`. The grid is rounded up to whole blocks,
 * so the last block's extra threads read past a and b and WRITE PAST THE END OF c. */
#include <cuda_runtime.h>
#include "kata.h"

#define THREADS 256

__global__ void vector_add_kernel(const float *a, const float *b, float *c, int n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    c[i] = a[i] + b[i];
}

extern "C" int vector_add(const float *a, const float *b, float *c, int n) {
    if (n <= 0)
        return 0;
    unsigned blocks = (unsigned)((n + (size_t)THREADS - 1) / THREADS);
    vector_add_kernel<<<blocks, THREADS>>>(a, b, c, n);
    return (int)cudaGetLastError();
}
