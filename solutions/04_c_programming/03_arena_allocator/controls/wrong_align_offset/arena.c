/* Wrong control: rounds the offset up to a multiple of align, not the address. Right only when
 * malloc's block happens to be aligned that much (it is 16-aligned; 64 and 4096 are luck). */
#include <stdint.h>
#include <stdlib.h>
#include "arena.h"
#include "kata.h"

int arena_init(arena_t *a, size_t capacity) {
    a->base = malloc(capacity ? capacity : 1);
    a->capacity = a->base ? capacity : 0;
    a->used = 0;
    return a->base ? 0 : -1;
}

void *arena_alloc(arena_t *a, size_t size, size_t align) {
    if (align == 0 || (align & (align - 1)) != 0 || !a->base)
        return NULL;
    size_t start = (a->used + (align - 1)) & ~(align - 1);
    if (start > a->capacity || size > a->capacity - start)
        return NULL;
    a->used = start + size;
    return a->base + start;
}

size_t arena_mark(const arena_t *a) {
    return a->used;
}

void arena_release(arena_t *a, size_t mark) {
    if (mark <= a->used)
        a->used = mark;
}

void arena_reset(arena_t *a) {
    a->used = 0;
}

void arena_destroy(arena_t *a) {
    free(a->base);
    a->base = NULL;
    a->capacity = 0;
    a->used = 0;
}
