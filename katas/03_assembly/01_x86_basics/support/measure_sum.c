/* Driver for the instruction-count gate: valgrind runs this program and counts only inside
 * sum_i64() (and anything it calls). By hand:
 *   valgrind --tool=callgrind --toggle-collect=sum_i64 ./prog 100003
 */
#include <stdio.h>
#include <stdlib.h>

long sum_i64(const long *a, long n);
int kata_todo_take(char *buf, int size);

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[1]);
    size_t bytes = ((size_t)n * sizeof(long) + 63) / 64 * 64;
    long *a = aligned_alloc(64, bytes ? bytes : 64);
    unsigned long want = 0;
    for (long i = 0; i < n; i++) {
        /* large values of both signs, so the sum wraps */
        a[i] = (long)((unsigned long)i * 0x9E3779B97F4A7C15ul);
        want += (unsigned long)a[i];
    }
    long got = sum_i64(a, n);
    char where[512];
    if (kata_todo_take(where, sizeof where)) {
        fprintf(stderr, "not implemented yet: %s\n", where);
        return 3;
    }
    if ((unsigned long)got != want) {
        fprintf(stderr, "sum_i64 on %ld elements returned %ld, expected %ld: fix the correctness tests first\n",
                n, got, (long)want);
        return 4;
    }
    free(a);
    return 0;
}
