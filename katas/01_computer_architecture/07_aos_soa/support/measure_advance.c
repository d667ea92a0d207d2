/* Driver for the instruction-count gate: valgrind counts only inside soa_advance(). */
#include <stdio.h>
#include <stdlib.h>

void soa_advance(float *x, float *y, float *z, const float *vx, const float *vy, const float *vz, long n, float dt);
int kata_todo_take(char *buf, int size);

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 4099;
    float *a[6];
    for (int k = 0; k < 6; k++) {
        a[k] = malloc(n * sizeof(float));
        for (long i = 0; i < n; i++)
            a[k][i] = (float)(i % 13) * 0.5f - (float)k;
    }
    soa_advance(a[0], a[1], a[2], a[3], a[4], a[5], n, 0.01f);
    char where[512];
    if (kata_todo_take(where, sizeof where)) {
        fprintf(stderr, "not implemented yet: %s\n", where);
        return 3;
    }
    for (int k = 0; k < 6; k++)
        free(a[k]);
    return 0;
}
