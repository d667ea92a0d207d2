/* Driver for the cache-miss gate: valgrind runs this program and counts only inside transpose(). */
#include <stdio.h>
#include <stdlib.h>

void transpose(const float *src, float *dst, int rows, int cols);
int kata_todo_take(char *buf, int size);

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s ROWS COLS\n", argv[0]);
        return 2;
    }
    int rows = atoi(argv[1]), cols = atoi(argv[2]);
    size_t n = (size_t)rows * cols;
    float *src = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    float *dst = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < n; i++) {
        src[i] = (float)i;
        dst[i] = -1.0f;
    }
    transpose(src, dst, rows, cols);
    char where[512];
    if (kata_todo_take(where, sizeof where)) {
        fprintf(stderr, "not implemented yet: %s\n", where);
        return 3;
    }
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            if (dst[(size_t)j * rows + i] != src[(size_t)i * cols + j]) {
                fprintf(stderr, "wrong result at dst[%d][%d]\n", j, i);
                return 4;
            }
    free(src);
    free(dst);
    return 0;
}
