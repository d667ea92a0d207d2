/* A malloc/free/realloc of your own, on the heap in support/memlib.h (grown with mem_sbrk only: no libc
 * malloc). The contract is in the README. */
#include <stdint.h>
#include <string.h>
#include "kata.h"
#include "memlib.h"

/* Start with an empty heap (mem_sbrk has not been called yet). 0, or -1. */
int mm_init(void) {
    KATA_TODO();
    return -1;
}

/* A 16-byte-aligned block of at least `size` bytes inside the heap; NULL for size 0 or when the heap
 * cannot grow enough. */
void *mm_malloc(size_t size) {
    KATA_TODO();
    return NULL;
}

/* Give back a block from mm_malloc/mm_realloc; NULL does nothing. */
void mm_free(void *p) {
    KATA_TODO();
}

/* Resize: p NULL is mm_malloc(size); size 0 is mm_free(p) and returns NULL. Otherwise a block of at least
 * `size` bytes holding the first min(old, size) bytes of p's; NULL (p untouched) if the heap cannot grow. */
void *mm_realloc(void *p, size_t size) {
    KATA_TODO();
    return NULL;
}
