/* Alignment: rounding up, an aligned allocator built on malloc, and C struct layout. See README.md. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "kata.h"

size_t align_up(size_t x, size_t a) {          /* smallest multiple of a (a power of two) >= x */
    KATA_TODO();
    return 0;
}

void *aligned_malloc(size_t size, size_t alignment) {  /* NULL if alignment is not a power of two */
    KATA_TODO();
    return NULL;
}

void aligned_free(void *p) {                   /* p from aligned_malloc, or NULL */
    KATA_TODO();
}

void struct_layout(const int *sizes, const int *aligns, int n, int *offsets, int *total_size, int *struct_align) {
    KATA_TODO();
}

void best_order(const int *sizes, const int *aligns, int n, int *order) {
    KATA_TODO();
}
