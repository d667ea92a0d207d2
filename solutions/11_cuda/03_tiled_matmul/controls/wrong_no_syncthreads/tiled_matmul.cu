/* WRONG (race): no __syncthreads() at all. CPU tier: st.shared and ld.shared with no bar.sync in the PTX; GPU tier: racecheck, wrong results.
 *
 * Otherwise the reference: C = A @ B in fp32 (row-major), shared-memory tiles plus register blocking.
 *
 * A block of 256 threads computes a 64 x 64 tile of C. For each step of 16 along k it copies a 64 x 16
 * tile of A and a 16 x 64 tile of B into shared memory (each element of A and B is then read from
 * global memory 64 / 1 times less often than in the one-thread-per-output kernel), __syncthreads(),
 * multiplies the tiles out of shared memory, and __syncthreads() again before the next copy overwrites
 * them. Each thread keeps a 4 x 4 block of C in registers: per k it reads 4 values of A and 4 of B
 * from shared memory and does 16 FMAs, so shared-memory bandwidth is no longer the limit.
 * Partial tiles at the edges are padded with zeros on load and masked on store.
 */
#include <cuda_runtime.h>
#include "kata.h"

#define BM 64
#define BN 64
#define BK 16
#define TM 4
#define TN 4
#define THREADS 256 /* (BM / TM) * (BN / TN) */

__global__ void __launch_bounds__(THREADS) matmul_kernel(const float *__restrict__ A, const float *__restrict__ B,
                                                         float *__restrict__ C, int M, int N, int K) {
    __shared__ float As[BK][BM + 4]; /* A's tile, transposed: As[k][m] */
    __shared__ float Bs[BK][BN + 4];
    const int tid = threadIdx.x, tx = tid % (BN / TN), ty = tid / (BN / TN);
    const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
    float acc[TM][TN];
#pragma unroll
    for (int i = 0; i < TM; i++)
#pragma unroll
        for (int j = 0; j < TN; j++)
            acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += BK) {
#pragma unroll
        for (int r = 0; r < BM * BK / THREADS; r++) {  /* 64 x 16 of A: 16 consecutive k per row */
            int i = tid + r * THREADS, m = i / BK, k = i % BK;
            int gr = row0 + m, gk = k0 + k;
            As[k][m] = (gr < M && gk < K) ? A[(size_t)gr * K + gk] : 0.0f;
        }
#pragma unroll
        for (int r = 0; r < BK * BN / THREADS; r++) {  /* 16 x 64 of B: 64 consecutive columns per row */
            int i = tid + r * THREADS, k = i / BN, n = i % BN;
            int gk = k0 + k, gc = col0 + n;
            Bs[k][n] = (gk < K && gc < N) ? B[(size_t)gk * N + gc] : 0.0f;
        }
#pragma unroll
        for (int k = 0; k < BK; k++) {
            float a[TM], b[TN];
#pragma unroll
            for (int i = 0; i < TM; i++)
                a[i] = As[k][ty * TM + i];
#pragma unroll
            for (int j = 0; j < TN; j++)
                b[j] = Bs[k][tx + j * (BN / TN)];
#pragma unroll
            for (int i = 0; i < TM; i++)
#pragma unroll
                for (int j = 0; j < TN; j++)
                    acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
        }
    }
#pragma unroll
    for (int i = 0; i < TM; i++) {
        int r = row0 + ty * TM + i;
#pragma unroll
        for (int j = 0; j < TN; j++) {
            int c = col0 + tx + j * (BN / TN);
            if (r < M && c < N)
                C[(size_t)r * N + c] = acc[i][j];
        }
    }
}

extern "C" int matmul(const float *A, const float *B, float *C, int M, int N, int K) {
    if (M <= 0 || N <= 0)
        return 0;
    if (K <= 0)
        return (int)cudaMemsetAsync(C, 0, (size_t)M * N * sizeof(float)); /* an empty sum */
    dim3 grid((unsigned)((N + BN - 1) / BN), (unsigned)((M + BM - 1) / BM));
    matmul_kernel<<<grid, THREADS>>>(A, B, C, M, N, K);
    return (int)cudaGetLastError();
}
