/* The instructor's probe for the GPU tier (never learner code): one block of 32 warps, each lane reading
 * shared memory at buf[lane * stride], 16 * reps times, timed with clock64(). With 32 warps on one SM the
 * shared-memory pipe (one wavefront a cycle) is the bottleneck, so the cycles the block takes follow the
 * wavefronts one warp-wide read needs: stride 1 one, stride 2 two, ..., stride 32 thirty-two, stride 33
 * (a padded column) one again. */
#define MAX_STRIDE 64

extern "C" __global__ void bank_probe(long long *cycles, float *sink, int stride, int reps) {
    __shared__ float buf[32 * MAX_STRIDE + 32];
    for (int i = threadIdx.x; i < 32 * MAX_STRIDE + 32; i += blockDim.x)
        buf[i] = (float)i;
    __syncthreads();
    volatile float *p = buf + (threadIdx.x & 31) * stride;  /* volatile: every read is issued */
    float acc = 0.0f;
    long long t0 = clock64();
    for (int r = 0; r < reps; r++) {
#pragma unroll
        for (int u = 0; u < 16; u++)
            acc += p[0];
    }
    __syncthreads();
    long long t1 = clock64();
    if (threadIdx.x == 0)
        cycles[blockIdx.x] = t1 - t0;
    sink[blockIdx.x * blockDim.x + threadIdx.x] = acc;  /* keeps the reads alive */
}
