/* Control (naive): the reference kernel, launched as ONE block of 1024 threads. Its grid-stride loop
 * makes it correct for every n, but one SM of the GPU's ~132 does all the work with a few thousand loads
 * in flight, so it reaches a few percent of the memory bandwidth: it must fail the perf gate. */
#include <cuda_runtime.h>
#include "kata.h"

#define PER_THREAD 4

__global__ void vector_add_kernel(const float *__restrict__ a, const float *__restrict__ b,
                                  float *__restrict__ c, int n) {
    const unsigned bd = blockDim.x;
    const size_t stride = (size_t)gridDim.x * bd * PER_THREAD; /* elements the whole grid covers a pass */
    for (size_t base = (size_t)blockIdx.x * bd * PER_THREAD + threadIdx.x; base < (size_t)n; base += stride) {
        const float *pa = a + base, *pb = b + base;
        float *pc = c + base;
        size_t left = (size_t)n - base;               /* elements from base on (at least 1) */
        if (left > (size_t)(PER_THREAD - 1) * bd) {   /* all PER_THREAD elements are in bounds */
            float x[PER_THREAD], y[PER_THREAD];
#pragma unroll
            for (int k = 0; k < PER_THREAD; k++) {
                x[k] = pa[k * bd];
                y[k] = pb[k * bd];
            }
#pragma unroll
            for (int k = 0; k < PER_THREAD; k++)
                pc[k * bd] = x[k] + y[k];
        } else {                                       /* the tail: stop at n */
            for (size_t j = 0; j < left; j += bd)
                pc[j] = pa[j] + pb[j];
        }
    }
}

extern "C" int vector_add(const float *a, const float *b, float *c, int n) {
    if (n <= 0)
        return 0;
    vector_add_kernel<<<1, 1024>>>(a, b, c, n); /* "the loop gets to everything" */
    return (int)cudaGetLastError();
}
