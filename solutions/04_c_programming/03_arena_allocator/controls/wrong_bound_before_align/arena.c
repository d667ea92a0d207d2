/* Wrong control: checks that `size` fits at `used`, then adds the alignment padding: the padding
 * can push the block past the end of the arena. */
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
    if (a->used + size > a->capacity)
        return NULL;
    uintptr_t here = (uintptr_t)a->base + a->used;
    uintptr_t aligned = (here + (align - 1)) & ~(uintptr_t)(align - 1);
    size_t start = (size_t)(aligned - (uintptr_t)a->base);
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
