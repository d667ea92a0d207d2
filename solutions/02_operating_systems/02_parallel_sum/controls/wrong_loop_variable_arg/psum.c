/* Wrong: passes &t, the address of the creator's loop variable, to each thread; a thread that starts late reads a later t (or the value after the loop), so slices are summed twice or not at all. The sched_yield at the thread's start makes the late start happen on every run. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include "kata.h"

typedef struct {
    _Alignas(64) const int64_t *x;
    size_t lo, hi;
    int64_t sum;
} task_t;

#include <sched.h>
static task_t tasks[256];
static size_t slice_n;
static int slice_T;

static void *work(void *arg) {
    sched_yield();        /* the thread starts a little later than its creator expects */
    int k = *(int *)arg;  /* reads the creator's loop variable: by now it may have moved on */
    task_t *t = &tasks[k];
    t->lo = (size_t)((unsigned __int128)slice_n * k / slice_T);
    t->hi = (size_t)((unsigned __int128)slice_n * (k + 1) / slice_T);
    int64_t s = 0;
    for (size_t i = t->lo; i < t->hi; i++)
        s += t->x[i];
    t->sum = s;
    return NULL;
}

int parallel_sum(const int64_t *x, size_t n, int nthreads, int64_t *out) {
    if (nthreads < 1 || nthreads > 256)
        return -1;
    pthread_t tid[256];
    int started = 0;
    slice_n = n;
    slice_T = nthreads;
    for (int t = 0; t < nthreads; t++) {
        tasks[t].sum = 0;
    }
    for (int t = 0; t < nthreads; t++) {
        tasks[t] = (task_t){.x = x, .lo = (size_t)((unsigned __int128)n * t / nthreads),
                            .hi = (size_t)((unsigned __int128)n * (t + 1) / nthreads)};
        if (pthread_create(&tid[t], NULL, work, &t) != 0) /* &t: the loop variable */
            break;
        started++;
    }

    int64_t s = 0;
    for (int t = 0; t < nthreads; t++) {
        if (t < started)
            pthread_join(tid[t], NULL);
        s += tasks[t].sum;
    }
    *out = s;
    return 0;
}
