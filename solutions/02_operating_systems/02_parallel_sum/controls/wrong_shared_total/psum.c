/* Wrong: every thread adds into one shared total with a plain read-modify-write. Updates are lost whenever two threads interleave; the sched_yield inside the window (every 1024 elements) makes that happen on every run, as a busy machine does now and then. */
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
static volatile int64_t total; /* one accumulator shared by every thread, updated without a lock */

static void *work(void *arg) {
    task_t *t = arg;
    for (size_t i = t->lo; i < t->hi; i++) {
        int64_t v = total;                /* read ...                                    */
        if ((i & 1023) == 0)
            sched_yield();                /* (a reschedule here, as a busy machine does)  */
        total = v + t->x[i];              /* ... write back: another thread's adds are lost */
    }
    t->sum = 0;
    return NULL;
}

int parallel_sum(const int64_t *x, size_t n, int nthreads, int64_t *out) {
    if (nthreads < 1 || nthreads > 256)
        return -1;
    task_t tasks[256];
    pthread_t tid[256];
    int started = 0;
    for (int t = 0; t < nthreads; t++) {
        tasks[t] = (task_t){.x = x, .lo = (size_t)((unsigned __int128)n * t / nthreads),
                            .hi = (size_t)((unsigned __int128)n * (t + 1) / nthreads)};
        if (pthread_create(&tid[t], NULL, work, &tasks[t]) != 0)
            break;
        started++;
    }
    for (int t = started; t < nthreads; t++) /* could not start a thread: do its slice here */
        work(&tasks[t]);
    total = 0;
    int64_t s = 0;
    for (int t = 0; t < nthreads; t++) {
        if (t < started)
            pthread_join(tid[t], NULL);
        s += tasks[t].sum;
    }
    *out = s + total;
    return 0;
}
