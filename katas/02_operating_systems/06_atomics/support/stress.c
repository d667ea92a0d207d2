/* stress.c: threads hammering the learner's primitives (instructor-owned). Each returns what it saw; the
 * Python test compares it with what a correct primitive gives. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include "atomics.h"

/* ---- the lock: a plain read-modify-write of a shared counter inside it, widened by a short delay, and
 * every 128th time the holder gives up the CPU inside the lock (as a preempted holder does on a busy
 * machine): a lock that lets a second thread in then shows it, both as a lost update and directly (the
 * count of threads inside). */
static spinlock_t lock;
static volatile long shared;
static long lock_iters;
static atomic_long inside, overlaps;

static void *lock_worker(void *arg) {
    (void)arg;
    for (long i = 0; i < lock_iters; i++) {
        spin_lock(&lock);
        if (atomic_fetch_add(&inside, 1) != 0)
            atomic_fetch_add(&overlaps, 1);
        long v = shared;
        if ((i & 127) == 0)
            sched_yield();
        else
            for (volatile int d = 0; d < 20; d++) {
            }
        shared = v + 1;
        atomic_fetch_sub(&inside, 1);
        spin_unlock(&lock);
    }
    return NULL;
}

long stress_lock_overlaps(void) { return atomic_load(&overlaps); }

long stress_lock(int threads, long iters) {
    pthread_t t[64];
    atomic_store(&lock.locked, 0);
    atomic_store(&inside, 0);
    atomic_store(&overlaps, 0);
    shared = 0;
    lock_iters = iters;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, lock_worker, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return shared;
}

/* ---- the counter: every value counter_add returns must be distinct (fetch-and-add hands each caller
 * its own ticket), and the final value the number of adds */
static atomic_long counter;
static long *tickets;
static long counter_iters;

static void *counter_worker(void *arg) {
    long *mine = tickets + (long)(intptr_t)arg * counter_iters;
    for (long i = 0; i < counter_iters; i++)
        mine[i] = counter_add(&counter, 1);
    return NULL;
}

/* out[0] final value, out[1] tickets out of range, out[2] tickets handed out twice */
void stress_counter(int threads, long iters, long *out) {
    pthread_t t[64];
    long n = threads * iters;
    atomic_store(&counter, 0);
    tickets = malloc(sizeof(long) * (size_t)n);
    counter_iters = iters;
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, counter_worker, (void *)(intptr_t)i);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    char *seen = calloc((size_t)n, 1);
    out[0] = atomic_load(&counter);
    out[1] = out[2] = 0;
    for (long i = 0; i < n; i++) {
        if (tickets[i] < 0 || tickets[i] >= n)
            out[1]++;
        else if (seen[tickets[i]]++)
            out[2]++;
    }
    free(seen);
    free(tickets);
}

/* ---- the queue: a producer thread pushes f(1), ..., f(n); this thread pops and checks the order */
static spsc_t q;
static long produce_n;

static uint64_t value(long i) { return (uint64_t)i * 0x9E3779B97F4A7C15ull; }

static void *producer(void *arg) {
    (void)arg;
    for (long i = 1; i <= produce_n; i++)
        while (!spsc_push(&q, value(i)))
            sched_yield();
    return NULL;
}

/* Returns 0 if all n arrived in order; else the (1-based) position of the first wrong value, whose value
 * goes to *got (and the expected one to *want). */
long stress_spsc(size_t cap, long n, uint64_t *got, uint64_t *want) {
    uint64_t *slots = calloc(cap, sizeof(uint64_t));
    if (spsc_init(&q, slots, cap) != 0) {
        free(slots);
        return -1;
    }
    produce_n = n;
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    long bad = 0;
    for (long i = 1; i <= n; i++) {
        uint64_t v;
        while (!spsc_pop(&q, &v))
            sched_yield();
        if (!bad && v != value(i)) {
            bad = i;
            *got = v;
            *want = value(i);
        }
    }
    pthread_join(t, NULL);
    free(slots);
    return bad;
}
