/* Wrong control: partial edge tiles are skipped: only n that are multiples of 32 come out right. */
#include "kata.h"

#define T 32

static inline int min_int(int a, int b) { return a < b ? a : b; }

void matmul(const float *A, const float *B, float *C, int n) {
    for (long i = 0; i < (long)n * n; i++)
        C[i] = 0.0f;
    for (int i0 = 0; i0 < n; i0 += T)
        for (int k0 = 0; k0 < n; k0 += T)
            for (int j0 = 0; j0 < n; j0 += T) {
                int i1 = i0 + T <= n ? i0 + T : i0, k1 = k0 + T <= n ? k0 + T : k0, j1 = j0 + T <= n ? j0 + T : j0;
                for (int i = i0; i < i1; i++)
                    for (int k = k0; k < k1; k++) {
                        float a = A[(long)i * n + k];
                        const float *b = B + (long)k * n;
                        float *c = C + (long)i * n;
                        for (int j = j0; j < j1; j++)
                            c[j] += a * b[j];
                    }
            }
}
