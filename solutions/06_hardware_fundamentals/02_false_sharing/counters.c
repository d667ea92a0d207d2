/* Reference: each counter alone on its own 64-byte line. _Alignas(64) on the member aligns the struct and
 * rounds its size up to 64, so slots[t] and slots[t + 1] can never share a line. */
#include <pthread.h>
#include <stdatomic.h>
#include "kata.h"

#define MAX_THREADS 8

typedef struct {
    _Alignas(64) _Atomic long value;
} Slot;

static Slot slots[MAX_THREADS];

void *counter_address(int t) {
    return (void *)&slots[t];
}

struct job {
    int t;
    long iters;
};

static void *work(void *arg) {
    struct job *j = arg;
    atomic_store_explicit(&slots[j->t].value, 0, memory_order_relaxed);
    for (long i = 0; i < j->iters; i++)
        atomic_fetch_add_explicit(&slots[j->t].value, 1, memory_order_relaxed);
    return NULL;
}

void count_parallel(int nthreads, long iters, long *totals) {
    pthread_t th[MAX_THREADS];
    struct job jobs[MAX_THREADS];
    for (int t = 0; t < nthreads; t++) {
        jobs[t] = (struct job){t, iters};
        pthread_create(&th[t], NULL, work, &jobs[t]);
    }
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < nthreads; t++)
        totals[t] = atomic_load_explicit(&slots[t].value, memory_order_relaxed);
}
