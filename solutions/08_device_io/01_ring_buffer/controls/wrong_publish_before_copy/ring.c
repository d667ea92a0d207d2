/* Wrong: the producer publishes the new tail before copying the bytes in, so the consumer can read bytes that are not there yet. The sched_yield between the two makes that happen on every run. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <string.h>
#include <sched.h>
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
    atomic_store_explicit(&r->tail, t + n, memory_order_release); /* published ... */
    static int calls;
    if (n && (++calls & 15) == 0)
        sched_yield(); /* (a reschedule here, as a busy machine does) */
    memcpy(r->buf + at, src, first); /* ... before the bytes are there */
    memcpy(r->buf, src + first, n - first);
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
