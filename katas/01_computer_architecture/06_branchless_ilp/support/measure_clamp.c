/* Driver for the branch-misprediction gate: valgrind runs this and simulates a branch predictor inside
 * clamp_array() only. Random data in [-2, 2] clamped to [-1, 1]: half the elements are clamped, in no
 * pattern a predictor can learn. */
#include <stdio.h>
#include <stdlib.h>

void clamp_array(const float *x, float *out, long n, float lo, float hi);
int kata_todo_take(char *buf, int size);

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 20000;
    float *x = malloc(n * sizeof(float)), *out = malloc(n * sizeof(float));
    unsigned s = 12345u;
    for (long i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / (float)(1u << 24) * 4.0f - 2.0f;
    }
    clamp_array(x, out, n, -1.0f, 1.0f);
    char where[512];
    if (kata_todo_take(where, sizeof where)) {
        fprintf(stderr, "not implemented yet: %s\n", where);
        return 3;
    }
    for (long i = 0; i < n; i++) {
        float w = x[i] < -1.0f ? -1.0f : x[i] > 1.0f ? 1.0f : x[i];
        if (out[i] != w) {
            fprintf(stderr, "wrong result at %ld\n", i);
            return 4;
        }
    }
    free(x);
    free(out);
    return 0;
}
