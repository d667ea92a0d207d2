/* Vector add on the GPU: c[i] = a[i] + b[i] for 0 <= i < n.
 *
 * a, b and c are DEVICE pointers (the tests pass torch CUDA tensors); they need only be 4-byte
 * aligned. Write the kernel, then the launcher that runs it. See README.md.
 */
#include <cuda_runtime.h>
#include "kata.h"

/* One thread per element (or a grid-stride loop): work out this thread's index from blockIdx,
 * blockDim and threadIdx, and write c only where the index is below n. */
__global__ void vector_add_kernel(const float *a, const float *b, float *c, int n) {
    /* your kernel */
}

/* Launch the kernel on the default stream so that it covers all n elements, and return the launch's
 * error code (cudaGetLastError()); 0 means it launched. Do not synchronize: the caller does.
 * n == 0 is allowed: then launch nothing and return 0. */
extern "C" int vector_add(const float *a, const float *b, float *c, int n) {
    KATA_TODO(); /* delete this line, choose a block size and a grid size, and launch vector_add_kernel */
    return 0;
}
