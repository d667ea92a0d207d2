/* Naive: a bump allocator. Each block is a 16-byte size word and the payload, carved from the end of the
 * heap; free does nothing; realloc always moves. Correct (no overlap, bytes kept), and every freed byte is
 * lost for good: utilisation is poor on any trace that frees. */
#include <stdint.h>
#include <string.h>
#include "kata.h"
#include "memlib.h"

int mm_init(void) { return 0; }

void *mm_malloc(size_t size) {
    if (size == 0 || size > ((size_t)1 << 40))
        return NULL;
    size_t need = (size + 16 + 15) & ~(size_t)15;
    char *p = mem_sbrk((intptr_t)need);
    if (p == (void *)-1)
        return NULL;
    *(size_t *)p = size;
    return p + 16;
}

void mm_free(void *p) { (void)p; }

void *mm_realloc(void *p, size_t size) {
    if (!p)
        return mm_malloc(size);
    if (size == 0)
        return NULL;
    char *np = mm_malloc(size);
    if (!np)
        return NULL;
    size_t old = *(size_t *)((char *)p - 16);
    memcpy(np, p, old < size ? old : size);
    return np;
}
