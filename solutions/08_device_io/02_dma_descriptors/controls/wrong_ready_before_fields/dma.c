/* Wrong: marks a descriptor READY before writing its fields, so the device can act on the previous lap's addresses (or zeros). The sched_yield between the two makes that happen whenever the device is waiting at that slot (at the latest, the first descriptor of each call). */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include "kata.h"
#include "dma.h"

typedef struct {
    dma_dev_t *d;
    dma_desc_t *ring;
    int slot;                     /* the next ring slot to post */
    int first[2], count[2];       /* the slots (first, first + count) posted for each buffer */
} driver_t;

static void wait_done(driver_t *v, int k) { /* every descriptor naming buffer k has completed */
    for (int i = 0; i < v->count[k]; i++) {
        dma_desc_t *x = &v->ring[(v->first[k] + i) % DMA_RING];
        while (atomic_load_explicit(&x->status, memory_order_acquire) == DESC_READY)
            sched_yield();
    }
    v->count[k] = 0;
}

static void post(driver_t *v, int k, const uint8_t *src, uint8_t *dst, size_t len) {
    v->first[k] = v->slot;
    while (len) {
        uint32_t n = len < DMA_MAX_LEN ? (uint32_t)len : DMA_MAX_LEN;
        dma_desc_t *x = &v->ring[v->slot];
        while (atomic_load_explicit(&x->status, memory_order_acquire) == DESC_READY)
            sched_yield(); /* the ring is full: the device still owns this slot */
        atomic_store_explicit(&x->status, DESC_READY, memory_order_release); /* handed over ... */
        sched_yield(); /* (a reschedule here, as a busy machine does) */
        x->src = (uint64_t)(uintptr_t)src; /* ... before it is filled in */
        x->dst = (uint64_t)(uintptr_t)dst;
        x->len = n;
        v->slot = (v->slot + 1) % DMA_RING;
        v->count[k]++;
        src += n;
        dst += n;
        len -= n;
    }
}

long dma_gather(dma_dev_t *d, const sg_entry_t *sg, int nseg, uint8_t *dst, size_t cap) {
    if (nseg < 0 || (nseg > 0 && !sg))
        return -1;
    size_t total = 0;
    for (int i = 0; i < nseg; i++) {
        if (!sg[i].addr && sg[i].len)
            return -1;
        if (sg[i].len > cap - total || total + sg[i].len > cap)
            return -1;
        total += sg[i].len;
    }
    if (total && !dst)
        return -1;
    driver_t v = {.d = d, .ring = dma_ring(d)};
    int k = 0;
    size_t fill = 0, out = 0; /* bytes in staging buffer k; bytes of dst already posted */
    for (int i = 0; i < nseg; i++) {
        const uint8_t *p = sg[i].addr;
        size_t left = sg[i].len;
        while (left) {
            if (fill == 0)
                wait_done(&v, k); /* the device may still be reading this buffer from two fills ago */
            size_t n = DMA_STAGE - fill < left ? DMA_STAGE - fill : left;
            memcpy(dma_staging(d, k) + fill, p, n);
            fill += n;
            p += n;
            left -= n;
            if (fill == DMA_STAGE) {
                post(&v, k, dma_staging(d, k), dst + out, fill);
                out += fill;
                fill = 0;
                k ^= 1;
            }
        }
    }
    if (fill) {
        post(&v, k, dma_staging(d, k), dst + out, fill);
        out += fill;
    }
    wait_done(&v, 0);
    wait_done(&v, 1);
    return (long)total;
}
