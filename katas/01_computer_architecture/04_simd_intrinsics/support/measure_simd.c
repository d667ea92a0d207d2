/* Driver for the instruction-count gate: valgrind runs this and counts only inside saxpy() or dot(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void saxpy(float a, const float *x, float *y, long n);
float dot(const float *x, const float *y, long n);
int kata_todo_take(char *buf, int size);

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s saxpy|dot N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    float *x = malloc((n + 1) * sizeof(float)), *y = malloc((n + 1) * sizeof(float));
    for (long i = 0; i < n; i++) {
        x[i] = (float)(i % 7) - 3.0f;
        y[i] = (float)(i % 5);
    }
    volatile float sink = 0.0f;
    if (strcmp(argv[1], "saxpy") == 0)
        saxpy(2.0f, x, y, n);
    else
        sink = dot(x, y, n);
    (void)sink;
    char where[512];
    if (kata_todo_take(where, sizeof where)) {
        fprintf(stderr, "not implemented yet: %s\n", where);
        return 3;
    }
    free(x);
    free(y);
    return 0;
}
