/* Reference: a bottom-up merge sort over bytes. Runs of width 1, 2, 4, ... are merged from one
 * buffer into the other; taking from the left run on ties (cmp <= 0) keeps it stable. At most about
 * n*log2(n) comparisons; one scratch buffer of n*size bytes, freed before returning. */
#include <stdlib.h>
#include <string.h>
#include "kata.h"

typedef int (*cmp_fn)(const void *a, const void *b, void *ctx);
typedef void (*map_fn)(const void *in, void *out, void *ctx);
typedef void (*reduce_fn)(void *acc, const void *item, void *ctx);

int generic_sort(void *base, size_t n, size_t size, cmp_fn cmp, void *ctx) {
    if (n < 2)
        return 0;
    char *a = base;
    char *b = malloc(n * size);
    if (!b)
        return -1;
    char *src = a, *dst = b;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                if (cmp(src + j * size, src + i * size, ctx) < 0)   /* right strictly smaller: take it */
                    memcpy(dst + k++ * size, src + j++ * size, size);
                else                                                /* ties take the left: stable */
                    memcpy(dst + k++ * size, src + i++ * size, size);
            }
            memcpy(dst + k * size, src + i * size, (mid - i) * size);
            k += mid - i;
            memcpy(dst + k * size, src + j * size, (hi - j) * size);
        }
        char *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * size);
    free(b);
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
