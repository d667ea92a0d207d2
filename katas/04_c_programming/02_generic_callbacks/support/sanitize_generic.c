/* Driver for the AddressSanitizer run: sorts, maps and reduces with element sizes from 1 to 300
 * bytes, so a scratch buffer that is too small, or an index one past the end, is reported with the
 * line in generic.c that did it. The callbacks are the tests' own (callbacks.c). */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "callbacks.c"

typedef int (*cmp_fn)(const void *a, const void *b, void *ctx);
typedef void (*map_fn)(const void *in, void *out, void *ctx);
typedef void (*reduce_fn)(void *acc, const void *item, void *ctx);
int generic_sort(void *base, size_t n, size_t size, cmp_fn cmp, void *ctx);
void generic_map(const void *src, void *dst, size_t n, size_t in_size, size_t out_size, map_fn fn, void *ctx);
void generic_reduce(const void *base, size_t n, size_t size, void *acc, reduce_fn fn, void *ctx);
int kata_todo_take(char *buf, int size);

static void todo(void) {
    char w[512];
    if (kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        exit(3);
    }
}

int main(void) {
    size_t sizes[] = {4, 12, 100, 300};
    for (int s = 0; s < 4; s++) {
        for (size_t n = 0; n < 40; n += 7) {
            size_t size = sizes[s];
            char *a = malloc(n * size + 1);  /* exact size: one byte more only so malloc(0) is not NULL */
            for (size_t i = 0; i < n; i++) {
                int32_t key = (int32_t)((i * 7919) % 5);
                memcpy(a + i * size, &key, 4);
                memset(a + i * size + 4, (int)i, size - 4);
            }
            counter_t c = {0};
            if (generic_sort(a, n, size, cmp_key, &c) != 0) {
                fprintf(stderr, "generic_sort returned non-zero\n");
                _Exit(4);
            }
            todo();
            for (size_t i = 1; i < n; i++) {
                int32_t x, y;
                memcpy(&x, a + (i - 1) * size, 4);
                memcpy(&y, a + i * size, 4);
                if (x > y) {
                    fprintf(stderr, "not sorted: %zu-byte records, n = %zu\n", size, n);
                    _Exit(4);
                }
            }
            free(a);
        }
    }
    int16_t in[37];
    double *out = malloc(37 * sizeof(double)), scale = 0.5;
    for (int i = 0; i < 37; i++) in[i] = (int16_t)(i - 18);
    generic_map(in, out, 37, sizeof in[0], sizeof out[0], map_i16_to_f64, &scale);
    todo();
    int64_t items[23], acc[4] = {0};
    for (int i = 0; i < 23; i++) items[i] = i * 3;
    generic_reduce(items, 23, sizeof items[0], acc, reduce_stats, NULL);
    todo();
    free(out);
    return 0;
}
