/* Driver for the instruction count (not yours): valgrind counts the instructions read_passes() executes
 * reading n floats `passes` times; the array is filled before counting starts. */
#include <stdio.h>
#include <stdlib.h>

double read_passes(const float *a, long n, int passes);
int kata_todo_take(char *buf, int size);

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 8192;
    int passes = argc > 2 ? atoi(argv[2]) : 4;
    float *a = aligned_alloc(64, (size_t)(n + 16) * sizeof(float));
    for (long i = 0; i < n + 16; i++)
        a[i] = 1.0f + (float)(i % 7);
    double s = read_passes(a, n, passes);
    char where[512];
    if (kata_todo_take(where, sizeof where)) {
        fprintf(stderr, "not implemented yet: %s\n", where);
        return 3;
    }
    printf("%.1f\n", s);
    free(a);
    return 0;
}
