/* thread_count.c: count the learner's pthread_create and pthread_join calls, for structure checks.
 *
 * Linked into a learner library with -Wl,--wrap=pthread_create,--wrap=pthread_join (native/oskit.py).
 * `outstanding` is threads created and not yet joined; its peak says whether the threads were all
 * started before the first was waited for (run side by side) or one at a time (create, join, create...).
 * Deterministic: it depends on the order of the learner's calls, not on the scheduler.
 */
#include <pthread.h>
#include <stdatomic.h>

int __real_pthread_create(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
int __real_pthread_join(pthread_t, void **);

static atomic_long creates, joins, outstanding, peak;

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg) {
    int r = __real_pthread_create(t, a, fn, arg);
    if (r == 0) {
        atomic_fetch_add(&creates, 1);
        long o = atomic_fetch_add(&outstanding, 1) + 1, p = atomic_load(&peak);
        while (o > p && !atomic_compare_exchange_weak(&peak, &p, o)) {
        }
    }
    return r;
}

int __wrap_pthread_join(pthread_t t, void **ret) {
    int r = __real_pthread_join(t, ret);
    if (r == 0) {
        atomic_fetch_add(&joins, 1);
        atomic_fetch_sub(&outstanding, 1);
    }
    return r;
}

/* out: creates, joins, outstanding now, peak outstanding */
void kata_thread_counts(long *out) {
    out[0] = atomic_load(&creates);
    out[1] = atomic_load(&joins);
    out[2] = atomic_load(&outstanding);
    out[3] = atomic_load(&peak);
}

void kata_thread_reset(void) {
    atomic_store(&creates, 0);
    atomic_store(&joins, 0);
    atomic_store(&outstanding, 0);
    atomic_store(&peak, 0);
}
