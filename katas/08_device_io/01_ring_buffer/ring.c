/* A single-producer single-consumer byte ring, as between a device and its driver. The struct is in
 * support/ring.h; the contract in the README. */
#include <stdatomic.h>
#include <string.h>
#include "kata.h"
#include "ring.h"

/* 0, or -1 unless cap is a power of two (and buf not NULL). */
int ring_init(ring_t *r, uint8_t *buf, size_t cap) {
    KATA_TODO();
    return -1;
}

/* Producer: copy min(n, free space) bytes from src into the ring; return how many. */
size_t ring_write(ring_t *r, const uint8_t *src, size_t n) {
    KATA_TODO();
    return 0;
}

/* Consumer: copy min(n, bytes available) bytes out of the ring into dst; return how many. */
size_t ring_read(ring_t *r, uint8_t *dst, size_t n) {
    KATA_TODO();
    return 0;
}

/* Bytes written and not yet read. */
size_t ring_used(ring_t *r) {
    KATA_TODO();
    return 0;
}
