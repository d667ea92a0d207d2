/* Driver for the cache-miss gate: valgrind counts only inside matmul(). */
#include <stdio.h>
#include <stdlib.h>

void matmul(const float *A, const float *B, float *C, int n);
int kata_todo_take(char *buf, int size);

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 128;
    size_t bytes = ((size_t)n * n * sizeof(float) + 63) / 64 * 64;
    float *A = aligned_alloc(64, bytes), *B = aligned_alloc(64, bytes), *C = aligned_alloc(64, bytes);
    for (long i = 0; i < (long)n * n; i++) {
        A[i] = (float)(i % 7) - 3.0f;
        B[i] = (float)(i % 5) - 2.0f;
        C[i] = 12345.0f;
    }
    matmul(A, B, C, n);
    char where[512];
    if (kata_todo_take(where, sizeof where)) {
        fprintf(stderr, "not implemented yet: %s\n", where);
        return 3;
    }
    for (int i = 0; i < n; i += 17) /* spot checks (small integers: exact in float) */
        for (int j = 0; j < n; j += 13) {
            float s = 0.0f;
            for (int k = 0; k < n; k++)
                s += A[(long)i * n + k] * B[(long)k * n + j];
            if (C[(long)i * n + j] != s) {
                fprintf(stderr, "wrong result at C[%d][%d]\n", i, j);
                return 4;
            }
        }
    return 0;
}
