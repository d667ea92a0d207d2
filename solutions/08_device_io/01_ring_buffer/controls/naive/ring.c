/* Naive: one byte at a time, the position taken modulo the capacity. Correct, and about 28 instructions
 * (one a division) for every byte, where two memcpy calls move whole runs. */
#include <stdatomic.h>
#include <string.h>
#include "kata.h"
#include "ring.h"

int ring_init(ring_t *r, uint8_t *buf, size_t cap) {
    if (!buf || cap == 0 || (cap & (cap - 1)) != 0)
        return -1;
    r->buf = buf;
    r->cap = cap;
    atomic_store(&r->head, 0);
    atomic_store(&r->tail, 0);
    return 0;
}

size_t ring_write(ring_t *r, const uint8_t *src, size_t n) {
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed), k = 0;
    for (; k < n; k++) {
        if (t + k - atomic_load_explicit(&r->head, memory_order_acquire) == r->cap)
            break;
        r->buf[(t + k) % r->cap] = src[k];
    }
    atomic_store_explicit(&r->tail, t + k, memory_order_release);
    return k;
}

size_t ring_read(ring_t *r, uint8_t *dst, size_t n) {
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed), k = 0;
    for (; k < n; k++) {
        if (h + k == atomic_load_explicit(&r->tail, memory_order_acquire))
            break;
        dst[k] = r->buf[(h + k) % r->cap];
    }
    atomic_store_explicit(&r->head, h + k, memory_order_release);
    return k;
}

size_t ring_used(ring_t *r) { return atomic_load(&r->tail) - atomic_load(&r->head); }
