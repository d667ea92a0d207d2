/* ring.h: a single-producer single-consumer byte ring (instructor-owned: do not edit). */
#ifndef RING_H
#define RING_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *buf;
    size_t cap;                        /* a power of two */
    _Alignas(64) atomic_size_t head;   /* bytes read since ring_init: written by the consumer only */
    _Alignas(64) atomic_size_t tail;   /* bytes written since ring_init: written by the producer only */
} ring_t;

int ring_init(ring_t *r, uint8_t *buf, size_t cap);
size_t ring_write(ring_t *r, const uint8_t *src, size_t n);
size_t ring_read(ring_t *r, uint8_t *dst, size_t n);
size_t ring_used(ring_t *r);

#endif
