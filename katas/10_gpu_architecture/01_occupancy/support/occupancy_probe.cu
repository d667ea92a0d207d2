/* A kernel with many values live at once: compiled with -maxrregcount=16..255 it uses that many registers
 * (or spills), so the GPU test gets kernels with a range of real register counts. It is never launched. */
extern "C" __global__ void probe(float *out, int n, int k) {
    extern __shared__ float dyn[];
    float acc[160];
#pragma unroll
    for (int j = 0; j < 160; j++)
        acc[j] = out[(threadIdx.x + j * 97) % n];
    for (int it = 0; it < k; it++) {
#pragma unroll
        for (int j = 0; j < 160; j++)
            acc[j] = acc[j] * acc[(j + 7) % 160] + acc[(j + 13) % 160];
    }
    float s = 0.0f;
#pragma unroll
    for (int j = 0; j < 160; j++)
        s += acc[j] * (float)(j + 1);
    dyn[threadIdx.x] = s;
    __syncthreads();
    out[threadIdx.x] = dyn[(threadIdx.x + 1) % blockDim.x];
}
