/* Wrong: slices of n / T elements each: when T does not divide n, the last n % T elements are never summed. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include "kata.h"

typedef struct {
    _Alignas(64) const int64_t *x;
    size_t lo, hi;
    int64_t sum;
} task_t;

static void *work(void *arg) {
    task_t *t = arg;
    int64_t s = 0;
    for (size_t i = t->lo; i < t->hi; i++)
        s += t->x[i];
    t->sum = s;
    return NULL;
}

int parallel_sum(const int64_t *x, size_t n, int nthreads, int64_t *out) {
    if (nthreads < 1 || nthreads > 256)
        return -1;
    task_t tasks[256];
    pthread_t tid[256];
    int started = 0;
    for (int t = 0; t < nthreads; t++) {
        size_t chunk = n / (size_t)nthreads;
        tasks[t] = (task_t){.x = x, .lo = chunk * t, .hi = chunk * (t + 1)};
        if (pthread_create(&tid[t], NULL, work, &tasks[t]) != 0)
            break;
        started++;
    }
    for (int t = started; t < nthreads; t++) /* could not start a thread: do its slice here */
        work(&tasks[t]);
    int64_t s = 0;
    for (int t = 0; t < nthreads; t++) {
        if (t < started)
            pthread_join(tid[t], NULL);
        s += tasks[t].sum;
    }
    *out = s;
    return 0;
}
