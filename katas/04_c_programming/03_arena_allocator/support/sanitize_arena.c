/* Driver for the sanitizer run: fills arenas until they run out, writing every byte of every block
 * it is given. A block that reaches past the arena's malloc'd block is a heap-buffer-overflow
 * (reported with the line in arena.c that allocated the arena); a block never freed is a leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "arena.h"

int kata_todo_take(char *buf, int size);

static void todo(void) {
    char w[512];
    if (kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        exit(3);
    }
}

int main(void) {
    static const size_t aligns[] = {1, 2, 8, 16, 64, 128, 4096};
    uint64_t rng = 12345;
    for (int round = 0; round < 40; round++) {
        arena_t a;
        size_t cap = 100 + (size_t)round * 997 % 5000;
        if (arena_init(&a, cap) != 0) {
            todo();
            fprintf(stderr, "arena_init(%zu) failed\n", cap);
            _Exit(4);
        }
        todo();
        for (;;) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            size_t size = (rng >> 33) % 300, align = aligns[(rng >> 20) % 7];
            unsigned char *p = arena_alloc(&a, size, align);
            todo();
            if (!p)
                break;
            memset(p, 0xAB, size);  /* every byte we were given is ours to write */
        }
        arena_destroy(&a);
        todo();
    }
    arena_t a;
    arena_init(&a, 4096);
    if (arena_alloc(&a, SIZE_MAX, 1) != NULL) {
        fprintf(stderr, "arena_alloc(SIZE_MAX) returned a block\n");
        _Exit(4); /* _Exit: no leak report on top of this complaint */
    }
    arena_destroy(&a);
    return 0;
}
