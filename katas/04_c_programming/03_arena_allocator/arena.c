/* A bump ("arena") allocator: one malloc up front, then every allocation is a pointer bump.
 * The README has the contracts. */
#include <stdint.h>
#include <stdlib.h>
#include "arena.h"
#include "kata.h"

/* Get `capacity` bytes from malloc. Return 0, or -1 if malloc fails (then a->base is NULL). */
int arena_init(arena_t *a, size_t capacity) {
    KATA_TODO();
    return -1;
}

/* `size` bytes whose ADDRESS is a multiple of `align` (a power of two, 1..4096), or NULL when they
 * do not fit (or align is not a power of two). size 0 is allowed. */
void *arena_alloc(arena_t *a, size_t size, size_t align) {
    KATA_TODO();
    return NULL;
}

/* Everything allocated after arena_mark() is given back by arena_release(mark). */
size_t arena_mark(const arena_t *a) {
    KATA_TODO();
    return 0;
}

void arena_release(arena_t *a, size_t mark) {
    KATA_TODO();
}

/* Give back everything (the block is kept for reuse). */
void arena_reset(arena_t *a) {
    KATA_TODO();
}

/* Free the block; afterwards base is NULL and capacity and used are 0. */
void arena_destroy(arena_t *a) {
    KATA_TODO();
}
