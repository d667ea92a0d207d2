/* Driver for the simulated-cache count (not yours): valgrind counts the cache misses of one STREAM
 * kernel, named on the command line, over arrays of n floats filled before counting starts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void stream_copy(const float *a, float *c, long n);
void stream_scale(const float *c, float *b, float s, long n);
void stream_add(const float *a, const float *b, float *c, long n);
void stream_triad(const float *b, const float *c, float *a, float s, long n);
int kata_todo_take(char *buf, int size);

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    long n = atol(argv[2]);
    float *x = aligned_alloc(64, (size_t)n * sizeof(float));
    float *y = aligned_alloc(64, (size_t)n * sizeof(float));
    float *z = aligned_alloc(64, (size_t)n * sizeof(float));
    for (long i = 0; i < n; i++) {
        x[i] = (float)(i % 13);
        y[i] = (float)(i % 7);
        z[i] = 0.0f;
    }
    if (!strcmp(argv[1], "copy"))
        stream_copy(x, z, n);
    else if (!strcmp(argv[1], "triad"))
        stream_triad(x, y, z, 3.0f, n);
    else
        return 2;
    char where[512];
    if (kata_todo_take(where, sizeof where)) {
        fprintf(stderr, "not implemented yet: %s\n", where);
        return 3;
    }
    printf("%g\n", (double)z[n / 2]);
    free(x), free(y), free(z);
    return 0;
}
