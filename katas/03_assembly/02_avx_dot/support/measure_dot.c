/* Driver for the instruction-count gate: callgrind counts inside dot_f32() (or, for the baseline,
 * inside dot_scalar_baseline(), a plain C loop that gcc cannot vectorize without reordering the sum).
 * By hand:  valgrind --tool=callgrind --toggle-collect=dot_f32 ./prog 100003
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

float dot_f32(const float *a, const float *b, long n);
int kata_todo_take(char *buf, int size);

__attribute__((noinline, optimize("no-tree-vectorize"))) float dot_scalar_baseline(const float *a, const float *b,
                                                                                   long n) {
    float s = 0.0f;
    for (long i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

int main(int argc, char **argv) {
    long n = atol(argv[1]);
    float *a = aligned_alloc(64, (size_t)(n + 16) * 4), *b = aligned_alloc(64, (size_t)(n + 16) * 4);
    double want = 0, mag = 0;
    for (long i = 0; i < n; i++) {
        a[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
        b[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
        want += (double)a[i] * b[i];
        mag += fabs((double)a[i] * b[i]);
    }
    volatile float base = dot_scalar_baseline(a, b, n);
    float got = dot_f32(a, b, n);
    char w[512];
    if (kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        return 3;
    }
    if (fabs(got - want) > 1e-4 * mag + 1e-3) {
        fprintf(stderr, "dot_f32 on %ld elements returned %g, expected %g: fix the correctness tests first\n", n,
                got, want);
        return 4;
    }
    (void)base;
    free(a);
    free(b);
    return 0;
}
