/* Wrong control: an in-place quicksort (Lomuto partition, swaps through a heap buffer). Sorted, and
 * fast, but swapping elements across the array reorders equal keys: not stable. */
#include <stdlib.h>
#include <string.h>
#include "kata.h"

typedef int (*cmp_fn)(const void *a, const void *b, void *ctx);
typedef void (*map_fn)(const void *in, void *out, void *ctx);
typedef void (*reduce_fn)(void *acc, const void *item, void *ctx);

static void swap(char *x, char *y, char *t, size_t size) {
    memcpy(t, x, size);
    memcpy(x, y, size);
    memcpy(y, t, size);
}

static void quick(char *a, long lo, long hi, size_t size, cmp_fn cmp, void *ctx, char *t) {
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2, p = lo;
        swap(a + mid * size, a + hi * size, t, size);
        for (long i = lo; i < hi; i++)
            if (cmp(a + i * size, a + hi * size, ctx) < 0)
                swap(a + i * size, a + p++ * size, t, size);
        swap(a + p * size, a + hi * size, t, size);
        quick(a, lo, p - 1, size, cmp, ctx, t);
        lo = p + 1;
    }
}

int generic_sort(void *base, size_t n, size_t size, cmp_fn cmp, void *ctx) {
    if (n < 2)
        return 0;
    char *t = malloc(size);
    if (!t)
        return -1;
    quick(base, 0, (long)n - 1, size, cmp, ctx, t);
    free(t);
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
