/* Driver for the instruction-count gate: callgrind counts inside dot_i8() or, for the baseline, inside
 * dot_i8_scalar_baseline() (a C loop kept scalar). By hand:
 *   valgrind --tool=callgrind --toggle-collect=dot_i8 ./prog 100003
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int dot_i8(const int8_t *a, const int8_t *b, long n);
int kata_todo_take(char *buf, int size);

__attribute__((noinline, optimize("no-tree-vectorize"))) int dot_i8_scalar_baseline(const int8_t *a, const int8_t *b,
                                                                                    long n) {
    int s = 0;
    for (long i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

int main(int argc, char **argv) {
    long n = atol(argv[1]);
    int8_t *a = malloc((size_t)n + 64), *b = malloc((size_t)n + 64);
    for (long i = 0; i < n; i++) {
        a[i] = (int8_t)(i * 7919 % 256 - 128);
        b[i] = (int8_t)(i * 104729 % 256 - 128);
    }
    volatile int want = dot_i8_scalar_baseline(a, b, n);
    int got = dot_i8(a, b, n);
    char w[512];
    if (kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        return 3;
    }
    if (got != want) {
        fprintf(stderr, "dot_i8 on %ld elements returned %d, expected %d: fix the correctness tests first\n", n, got,
                want);
        return 4;
    }
    free(a);
    free(b);
    return 0;
}
