/* stress.c: a producer thread and a consumer (the caller) move a byte stream through the learner's ring
 * in chunks of pseudo-random sizes (instructor-owned). byte(i) depends on i's position, so a byte read
 * twice, skipped, stale or out of order shows. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include "ring.h"

static uint8_t byte_at(uint64_t i) { return (uint8_t)(i * 7 + (i >> 8) * 13 + (i >> 16)); }

static ring_t ring;
static uint64_t total;

static uint64_t next_rand(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *producer(void *arg) {
    uint64_t seed = (uint64_t)(uintptr_t)arg | 1, sent = 0;
    uint8_t chunk[4096];
    size_t maxc = ring.cap * 2 < sizeof chunk ? ring.cap * 2 : sizeof chunk;
    while (sent < total) {
        size_t want = 1 + next_rand(&seed) % maxc;
        if (want > total - sent)
            want = (size_t)(total - sent);
        for (size_t k = 0; k < want; k++)
            chunk[k] = byte_at(sent + k);
        size_t done = 0;
        while (done < want) {
            size_t w = ring_write(&ring, chunk + done, want - done);
            if (w == 0)
                sched_yield();
            done += w;
        }
        sent += want;
    }
    return NULL;
}

/* 0 if all `n` bytes arrived in order; else 1 + the position of the first wrong byte. *bad_count: more
 * bytes returned than the producer had written (a read past the tail), as a count of such calls. */
uint64_t stress_ring(size_t cap, uint64_t n, uint64_t seed, uint64_t *got_at) {
    uint8_t *buf = malloc(cap);
    if (ring_init(&ring, buf, cap) != 0) {
        free(buf);
        return (uint64_t)-1;
    }
    total = n;
    pthread_t t;
    pthread_create(&t, NULL, producer, (void *)(uintptr_t)seed);
    uint64_t recv = 0, bad = 0, s = seed * 31 + 7;
    uint8_t chunk[4096];
    size_t maxc = cap * 2 < sizeof chunk ? cap * 2 : sizeof chunk;
    while (recv < n) {
        size_t want = 1 + next_rand(&s) % maxc;
        size_t r = ring_read(&ring, chunk, want);
        if (r > want) {
            bad = recv + 1;
            *got_at = r;
            break;
        }
        if (r == 0)
            sched_yield();
        for (size_t k = 0; k < r && !bad; k++)
            if (chunk[k] != byte_at(recv + k)) {
                bad = recv + k + 1;
                *got_at = chunk[k];
            }
        if (bad)
            break;
        recv += r;
    }
    if (bad)
        total = 0; /* let the producer stop */
    pthread_join(t, NULL);
    free(buf);
    return bad;
}
