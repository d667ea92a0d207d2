/* Wrong: ring_write copies in one piece from the write position, running past the end of the buffer instead of wrapping to its start. */
#include <stdatomic.h>
#include <string.h>
#include "kata.h"
#include "ring.h"

int ring_init(ring_t *r, uint8_t *buf, size_t cap) {
    if (!buf || cap == 0 || (cap & (cap - 1)) != 0)
        return -1;
    r->buf = buf;
    r->cap = cap;
    atomic_store_explicit(&r->head, 0, memory_order_relaxed);
    atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
    return 0;
}

size_t ring_write(ring_t *r, const uint8_t *src, size_t n) {
    size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&r->head, memory_order_acquire);
    size_t space = r->cap - (t - h);
    if (n > space)
        n = space;
    size_t at = t & (r->cap - 1), first = r->cap - at < n ? r->cap - at : n;
    (void)first;
    memcpy(r->buf + at, src, n); /* one copy: runs past the end of the buffer when the data wraps */
    atomic_store_explicit(&r->tail, t + n, memory_order_release);
    return n;
}

size_t ring_read(ring_t *r, uint8_t *dst, size_t n) {
    size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (n > t - h)
        n = t - h;
    size_t at = h & (r->cap - 1), first = r->cap - at < n ? r->cap - at : n;
    memcpy(dst, r->buf + at, first);
    memcpy(dst + first, r->buf, n - first);
    atomic_store_explicit(&r->head, h + n, memory_order_release);
    return n;
}

size_t ring_used(ring_t *r) {
    return atomic_load_explicit(&r->tail, memory_order_acquire) - atomic_load_explicit(&r->head, memory_order_acquire);
}
