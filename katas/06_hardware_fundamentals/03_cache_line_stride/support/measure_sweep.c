/* Driver for the simulated sweep: valgrind dumps a profile after every touch_stride() call, one call per
 * stride, each over a fresh 256 KiB region (so every line touched is a compulsory miss). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t touch_stride(uint8_t *buf, size_t bytes, size_t stride);
int kata_todo_take(char *buf, int size);

int main(int argc, char **argv) {
    size_t bytes = 256 << 10;
    int nstrides = argc - 1;
    uint8_t *buf = aligned_alloc(4096, bytes * (size_t)nstrides);
    for (size_t i = 0; i < bytes * (size_t)nstrides; i++)
        buf[i] = 0;
    for (int s = 0; s < nstrides; s++) {
        size_t stride = (size_t)atol(argv[s + 1]);
        uint64_t k = touch_stride(buf + (size_t)s * bytes, bytes, stride);
        if (k != (bytes + stride - 1) / stride) {
            fprintf(stderr, "touch_stride(%zu) returned %llu\n", stride, (unsigned long long)k);
            return 4;
        }
    }
    char where[512];
    if (kata_todo_take(where, sizeof where)) {
        fprintf(stderr, "not implemented yet: %s\n", where);
        return 3;
    }
    return 0;
}
