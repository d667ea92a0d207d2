/* Generic algorithms over void*: the element type is known only by its size in bytes, and the
 * operations on it come in as function pointers. The README has the contracts. */
#include <stddef.h>
#include "kata.h"

typedef int (*cmp_fn)(const void *a, const void *b, void *ctx);
typedef void (*map_fn)(const void *in, void *out, void *ctx);
typedef void (*reduce_fn)(void *acc, const void *item, void *ctx);

/* Sort n elements of `size` bytes at base, in place, ascending by cmp; STABLE (equal elements keep
 * their order). Return 0, or -1 if memory for a scratch buffer could not be had. */
int generic_sort(void *base, size_t n, size_t size, cmp_fn cmp, void *ctx) {
    KATA_TODO();
    return -1;
}

/* dst[i] = fn(src[i]) for i < n; src elements are in_size bytes apart, dst elements out_size. */
void generic_map(const void *src, void *dst, size_t n, size_t in_size, size_t out_size, map_fn fn, void *ctx) {
    KATA_TODO();
}

/* fn(acc, item) for every item, first to last. */
void generic_reduce(const void *base, size_t n, size_t size, void *acc, reduce_fn fn, void *ctx) {
    KATA_TODO();
}
