/* device.c: the simulated DMA engine (instructor-owned). A thread takes descriptors in ring order: it
 * waits for READY (acquire), checks the descriptor, sums the staging bytes it names, lags a little (its
 * own pace, not the driver's), sums them again (a change means the driver rewrote a staging buffer the
 * device still owned), copies, and stores DONE (release). In measuring mode it also records how many
 * staging buffers had READY descriptors at once, waiting (up to 100 ms, for the first few batches) for the
 * driver to post the other buffer before it starts on one.
 * On odd seeds the device shares the driver's CPU (both threads pinned to the one the caller is on, until
 * dma_dev_destroy): then a sched_yield() of the driver lets the device run, so a descriptor marked READY
 * before a yield and only then filled in is caught on every call on an idle machine (where the device's
 * own CPU would often see nothing), and on most calls under heavy load (another process may take the
 * yield). On even seeds the device has a CPU of its own and runs truly beside the driver. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "dma.h"

struct dma_dev {
    dma_desc_t ring[DMA_RING];
    _Alignas(64) uint8_t stage[2][DMA_STAGE];
    pthread_t thread;
    atomic_int stop;
    int measure;
    uint64_t seed;
    uintptr_t dst_lo, dst_hi;
    /* results */
    long done, bytes, errors, peak_buffers, stalls;
    char error[512];
    int pinned;
    cpu_set_t caller_cpus; /* the caller's CPUs before pinning, restored by dma_dev_destroy */
};

static uint64_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int buffer_of(dma_dev_t *d, uint64_t src, uint32_t len) {
    for (int k = 0; k < 2; k++) {
        uintptr_t lo = (uintptr_t)d->stage[k];
        if (src >= lo && src < lo + DMA_STAGE && len <= lo + DMA_STAGE - src)
            return k;
    }
    return -1;
}

static void fail(dma_dev_t *d, const char *msg) {
    if (!d->errors++)
        snprintf(d->error, sizeof d->error, "%s", msg);
}

static int buffers_ready(dma_dev_t *d) { /* bit k: some READY descriptor names staging buffer k */
    int mask = 0;
    for (int i = 0; i < DMA_RING; i++)
        if (atomic_load_explicit(&d->ring[i].status, memory_order_acquire) == DESC_READY) {
            int k = buffer_of(d, d->ring[i].src, d->ring[i].len);
            if (k >= 0)
                mask |= 1 << k;
        }
    return mask;
}

static uint64_t sum(const uint8_t *p, uint32_t n) {
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void *engine(void *arg) {
    dma_dev_t *d = arg;
    int slot = 0, last_buffer = -1;
    char msg[400];
    while (!atomic_load(&d->stop)) {
        dma_desc_t *x = &d->ring[slot];
        if (atomic_load_explicit(&x->status, memory_order_acquire) != DESC_READY) {
            sched_yield();
            continue;
        }
        uint64_t src = x->src, dst = x->dst;
        uint32_t len = x->len;
        int k = buffer_of(d, src, len);
        if (len == 0 || len > DMA_MAX_LEN || k < 0) {
            snprintf(msg, sizeof msg, "descriptor %d: src %#lx, len %u: the device reads only from inside one staging "
                     "buffer, 1 to %d bytes per descriptor (were the fields written before READY?)", slot,
                     (unsigned long)src, len, DMA_MAX_LEN);
            fail(d, msg);
        } else if (dst < d->dst_lo || dst + len > d->dst_hi) {
            snprintf(msg, sizeof msg, "descriptor %d: dst %#lx + %u lies outside the destination", slot,
                     (unsigned long)dst, len);
            fail(d, msg);
        } else {
            if (k != last_buffer) {
                int mask = buffers_ready(d), n = (mask & 1) + ((mask >> 1) & 1);
                if (d->measure && n < 2 && d->stalls < 3) { /* give the driver time to post the other buffer */
                    d->stalls++;
                    double until = now() + 0.1;
                    while (now() < until && !atomic_load(&d->stop)) {
                        mask = buffers_ready(d);
                        if (mask == 3)
                            break;
                        sched_yield();
                    }
                    n = (mask & 1) + ((mask >> 1) & 1);
                }
                if (n > d->peak_buffers)
                    d->peak_buffers = n;
                last_buffer = k;
            }
            uint64_t before = sum((const uint8_t *)(uintptr_t)src, len);
            int lag = (int)(rnd(&d->seed) % 4); /* the device's own pace */
            for (int i = 0; i < lag; i++)
                sched_yield();
            for (volatile int spin = (int)(rnd(&d->seed) % 2000); spin > 0; spin--) {
            }
            if (x->src != src || x->dst != dst || x->len != len) {
                snprintf(msg, sizeof msg, "descriptor %d changed (src, dst or len) after it was READY: the device "
                         "had already taken the old fields. Write the fields first, then store READY (release).", slot);
                fail(d, msg);
            } else if (sum((const uint8_t *)(uintptr_t)src, len) != before) {
                snprintf(msg, sizeof msg, "descriptor %d: the staging bytes it names changed while the device owned "
                         "it (READY, not yet DONE): a staging buffer was refilled before its descriptors completed",
                         slot);
                fail(d, msg);
            }
            memcpy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, len);
            d->bytes += len;
        }
        d->done++;
        atomic_store_explicit(&x->status, DESC_DONE, memory_order_release);
        slot = (slot + 1) % DMA_RING;
    }
    return NULL;
}

dma_dev_t *dma_dev_create(uint64_t seed, int measure, uint8_t *dst_lo, size_t dst_len) {
    dma_dev_t *d = aligned_alloc(64, (sizeof(dma_dev_t) + 63) / 64 * 64);
    memset(d, 0, sizeof *d);
    memset(d->stage, 0xEE, sizeof d->stage);
    d->seed = seed | 1;
    d->measure = measure;
    d->dst_lo = (uintptr_t)dst_lo;
    d->dst_hi = (uintptr_t)dst_lo + dst_len;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    int cpu = sched_getcpu();
    if ((seed & 1) && cpu >= 0 && pthread_getaffinity_np(pthread_self(), sizeof d->caller_cpus, &d->caller_cpus) == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0) {
            d->pinned = 1;
            pthread_attr_setaffinity_np(&attr, sizeof one, &one);
        }
    }
    pthread_create(&d->thread, &attr, engine, d);
    pthread_attr_destroy(&attr);
    return d;
}

/* READY descriptors not yet DONE, right now */
int dma_dev_pending(dma_dev_t *d) {
    int n = 0;
    for (int i = 0; i < DMA_RING; i++)
        n += atomic_load_explicit(&d->ring[i].status, memory_order_acquire) == DESC_READY;
    return n;
}

/* out: done, bytes, errors, peak buffers in flight; the first error's text into msg */
void dma_dev_destroy(dma_dev_t *d, long *out, char *msg, int msglen) {
    for (int spin = 0; spin < 2000 && dma_dev_pending(d); spin++) /* let posted work finish (bounded) */
        sched_yield();
    atomic_store(&d->stop, 1);
    pthread_join(d->thread, NULL);
    if (d->pinned)
        pthread_setaffinity_np(pthread_self(), sizeof d->caller_cpus, &d->caller_cpus);
    out[0] = d->done;
    out[1] = d->bytes;
    out[2] = d->errors;
    out[3] = d->peak_buffers;
    snprintf(msg, (size_t)msglen, "%s", d->error);
    free(d);
}

dma_desc_t *dma_ring(dma_dev_t *d) { return d->ring; }
uint8_t *dma_staging(dma_dev_t *d, int k) { return (k == 0 || k == 1) ? d->stage[k] : NULL; }
