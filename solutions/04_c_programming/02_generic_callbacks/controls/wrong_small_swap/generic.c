/* Wrong control: insertion sort through a fixed 64-byte stack buffer. Right for ints and small
 * structs; a 100-byte record overflows the buffer (the sanitizer run names the line). */
#include <stdlib.h>
#include <string.h>
#include "kata.h"

typedef int (*cmp_fn)(const void *a, const void *b, void *ctx);
typedef void (*map_fn)(const void *in, void *out, void *ctx);
typedef void (*reduce_fn)(void *acc, const void *item, void *ctx);

int generic_sort(void *base, size_t n, size_t size, cmp_fn cmp, void *ctx) {
    char *a = base;
    char tmp[64]; /* "big enough for any element" */
    for (size_t i = 1; i < n; i++) {
        memcpy(tmp, a + i * size, size);
        size_t j = i;
        while (j > 0 && cmp(a + (j - 1) * size, tmp, ctx) > 0) {
            memcpy(a + j * size, a + (j - 1) * size, size);
            j--;
        }
        memcpy(a + j * size, tmp, size);
    }
    return 0;
}

void generic_map(const void *src, void *dst, size_t n, size_t in_size, size_t out_size, map_fn fn, void *ctx) {
    const char *s = src;
    char *d = dst;
    for (size_t i = 0; i < n; i++)
        fn(s + i * in_size, d + i * out_size, ctx);
}

void generic_reduce(const void *base, size_t n, size_t size, void *acc, reduce_fn fn, void *ctx) {
    const char *p = base;
    for (size_t i = 0; i < n; i++)
        fn(acc, p + i * size, ctx);
}
