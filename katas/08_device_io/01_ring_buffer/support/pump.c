/* pump.c: the program callgrind counts (instructor-owned). Moves argv[1] bytes through a ring of argv[2]
 * bytes in chunks of argv[3], single-threaded; only the pump() function (and what it calls: your ring_write
 * and ring_read, and memcpy) is counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ring.h"

int kata_todo_take(char *buf, int size);

__attribute__((noinline)) size_t pump(ring_t *r, const uint8_t *src, uint8_t *dst, size_t total, size_t chunk) {
    size_t in = 0, out = 0;
    while (out < total) {
        if (in < total)
            in += ring_write(r, src + in, total - in < chunk ? total - in : chunk);
        out += ring_read(r, dst + out, total - out < chunk ? total - out : chunk);
    }
    return out;
}

int main(int argc, char **argv) {
    size_t total = strtoull(argv[1], 0, 10), cap = strtoull(argv[2], 0, 10), chunk = strtoull(argv[3], 0, 10);
    uint8_t *src = malloc(total), *dst = malloc(total), *buf = malloc(cap);
    for (size_t i = 0; i < total; i++)
        src[i] = (uint8_t)(i * 7 + (i >> 9));
    static ring_t r;
    char w[512];
    if (ring_init(&r, buf, cap) != 0 || kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        return 3;
    }
    pump(&r, src, dst, total, chunk);
    if (kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        return 3;
    }
    if (memcmp(src, dst, total) != 0) {
        fprintf(stderr, "the bytes read differ from the bytes written\n");
        return 4;
    }
    return 0;
}
