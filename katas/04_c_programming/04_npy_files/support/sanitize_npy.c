/* Driver for the sanitizer run: saves and reloads a few arrays in the folder given as argv[1], then
 * loads every other file named on the command line (malformed ones included: they must fail
 * cleanly). Anything read or written out of bounds, or left allocated, is reported. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "npy.h"

int kata_todo_take(char *buf, int size);

static void todo(void) {
    char w[512];
    if (kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        exit(3);
    }
}

int main(int argc, char **argv) {
    char path[4096];
    long shapes[][3] = {{5, 0, 0}, {3, 4, 0}, {2, 3, 7}, {0, 4, 0}};
    int ndims[] = {1, 2, 3, 2};
    for (int s = 0; s < 4; s++) {
        long count = 1;
        for (int k = 0; k < ndims[s]; k++) count *= shapes[s][k];
        float *x = malloc(sizeof(float) * (count ? count : 1));
        for (long i = 0; i < count; i++) x[i] = (float)i * 0.5f;
        snprintf(path, sizeof path, "%s/roundtrip%d.npy", argv[1], s);
        int rc = npy_save_f32(path, x, ndims[s], shapes[s]);
        todo();
        if (rc != NPY_OK) { fprintf(stderr, "npy_save_f32(%s) returned %d\n", path, rc); _Exit(4); }
        npy_array_t a;
        rc = npy_load_f32(path, &a);
        todo();
        if (rc != NPY_OK) { fprintf(stderr, "npy_load_f32(%s) returned %d\n", path, rc); _Exit(4); }
        for (long i = 0; i < count; i++)
            if (a.data[i] != x[i]) { fprintf(stderr, "%s: element %ld differs\n", path, i); _Exit(4); }
        npy_unload(&a);
        todo();
        free(x);
    }
    for (int i = 2; i < argc; i++) {
        npy_array_t a;
        if (npy_load_f32(argv[i], &a) == NPY_OK) {
            volatile float sink = 0;
            long count = 1;
            for (int k = 0; k < a.ndim; k++) count *= a.shape[k];
            for (long j = 0; j < count; j++) sink += a.data[j];
            npy_unload(&a);
        }
        todo();
    }
    return 0;
}
