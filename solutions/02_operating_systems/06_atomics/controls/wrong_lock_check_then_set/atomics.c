/* Wrong: the lock checks that it is free, then sets it, in two steps. Two threads can both see it free and both enter. The sched_yield between the check and the set makes that happen on every run. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include "kata.h"
#include "atomics.h"

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

void spin_lock(spinlock_t *l) {
    while (atomic_load_explicit(&l->locked, memory_order_acquire)) /* check ... */
        sched_yield();
    static int calls;
    if ((++calls & 15) == 0)
        sched_yield(); /* (a reschedule between the check and the set, as a busy machine does) */
    atomic_store_explicit(&l->locked, 1, memory_order_relaxed); /* ... then set: two threads can both get here */
}

int spin_trylock(spinlock_t *l) {
    return !atomic_load_explicit(&l->locked, memory_order_relaxed) &&
           !atomic_exchange_explicit(&l->locked, 1, memory_order_acquire);
}

void spin_unlock(spinlock_t *l) { atomic_store_explicit(&l->locked, 0, memory_order_release); }

long counter_add(atomic_long *c, long v) { return atomic_fetch_add_explicit(c, v, memory_order_relaxed); }

int spsc_init(spsc_t *q, uint64_t *slots, size_t cap) {
    if (cap == 0 || (cap & (cap - 1)) != 0 || !slots)
        return -1;
    q->slots = slots;
    q->cap = cap;
    atomic_store_explicit(&q->head, 0, memory_order_relaxed);
    atomic_store_explicit(&q->tail, 0, memory_order_relaxed);
    return 0;
}

int spsc_push(spsc_t *q, uint64_t v) {
    size_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
    size_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    if (t - h == q->cap)
        return 0;
    q->slots[t & (q->cap - 1)] = v;
    atomic_store_explicit(&q->tail, t + 1, memory_order_release);
    return 1;
}

int spsc_pop(spsc_t *q, uint64_t *out) {
    size_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
    if (h == t)
        return 0;
    *out = q->slots[h & (q->cap - 1)];
    atomic_store_explicit(&q->head, h + 1, memory_order_release);
    return 1;
}
