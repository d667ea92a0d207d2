/* Naive control: insertion sort through a heap scratch element. Stable and correct, but each new
 * element is compared with everything larger before it: about n*n/4 comparisons on random input. */
#include <stdlib.h>
#include <string.h>
#include "kata.h"

typedef int (*cmp_fn)(const void *a, const void *b, void *ctx);
typedef void (*map_fn)(const void *in, void *out, void *ctx);
typedef void (*reduce_fn)(void *acc, const void *item, void *ctx);

int generic_sort(void *base, size_t n, size_t size, cmp_fn cmp, void *ctx) {
    char *a = base;
    char *tmp = malloc(size ? size : 1);
    if (!tmp)
        return -1;
    for (size_t i = 1; i < n; i++) {
        memcpy(tmp, a + i * size, size);
        size_t j = i;
        while (j > 0 && cmp(a + (j - 1) * size, tmp, ctx) > 0) {
            memcpy(a + j * size, a + (j - 1) * size, size);
            j--;
        }
        memcpy(a + j * size, tmp, size);
    }
    free(tmp);
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
