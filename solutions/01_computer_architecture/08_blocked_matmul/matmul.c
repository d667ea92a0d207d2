/* Reference: tiles of T x T, and inside a tile the i-k-j order: the innermost loop walks a row of B and a
 * row of C with stride 1, and one tile of B (T*T floats, 4 KiB for T = 32) is reused by every row of the
 * A tile while it sits in L1. Edges use min(), so any n works. */
#include "kata.h"

#define T 32

static inline int min_int(int a, int b) { return a < b ? a : b; }

void matmul(const float *A, const float *B, float *C, int n) {
    for (long i = 0; i < (long)n * n; i++)
        C[i] = 0.0f;
    for (int i0 = 0; i0 < n; i0 += T)
        for (int k0 = 0; k0 < n; k0 += T)
            for (int j0 = 0; j0 < n; j0 += T) {
                int i1 = min_int(i0 + T, n), k1 = min_int(k0 + T, n), j1 = min_int(j0 + T, n);
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
