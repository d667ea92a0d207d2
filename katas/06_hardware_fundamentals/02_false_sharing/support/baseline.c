/* Test-side helper (not yours): the same counting with counters packed into one cache line (the
 * baseline), and a probe that tells whether this machine can run two threads at once right now. */
#include <pthread.h>
#include <stdatomic.h>

typedef struct {
    _Alignas(64) _Atomic long value[8]; /* eight counters, one 64-byte line */
} Packed;

static Packed packed;

struct pjob {
    int t;
    long iters;
};

static void *packed_work(void *arg) {
    struct pjob *j = arg;
    atomic_store_explicit(&packed.value[j->t], 0, memory_order_relaxed);
    for (long i = 0; i < j->iters; i++)
        atomic_fetch_add_explicit(&packed.value[j->t], 1, memory_order_relaxed);
    return NULL;
}

void count_packed(int nthreads, long iters, long *totals) {
    pthread_t th[8];
    struct pjob jobs[8];
    for (int t = 0; t < nthreads; t++) {
        jobs[t] = (struct pjob){t, iters};
        pthread_create(&th[t], NULL, packed_work, &jobs[t]);
    }
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < nthreads; t++)
        totals[t] = atomic_load_explicit(&packed.value[t], memory_order_relaxed);
}

static void *spin_work(void *arg) {
    long n = *(long *)arg;
    volatile unsigned long x = 1;
    for (long i = 0; i < n; i++)
        x = x * 6364136223846793005ul + 1;
    return NULL;
}

/* nthreads threads, each spinning `iters` times on private data: no sharing at all. */
void spin(int nthreads, long iters) {
    pthread_t th[8];
    for (int t = 0; t < nthreads; t++)
        pthread_create(&th[t], NULL, spin_work, &iters);
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
}
