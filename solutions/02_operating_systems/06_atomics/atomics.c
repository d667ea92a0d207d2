/* Reference.
 * Spinlock: test-and-test-and-set. atomic_exchange takes the lock in one indivisible step (acquire: what
 * the last holder wrote is visible); while it is held, spin on a plain load (no cache-line ping-pong),
 * pause, and yield after a while so that a preempted holder can run on a busy machine. Unlock is a
 * release store.
 * Counter: atomic_fetch_add (relaxed: a counter orders nothing else).
 * Queue: only the producer writes tail and only the consumer writes head. The producer writes the slot,
 * then publishes it with a release store of tail; the consumer's acquire load of tail makes the slot's
 * contents visible before it reads them, and its release store of head hands the slot back. Full is
 * tail - head == cap (the counts only grow, so unsigned subtraction is right even when they wrap). */
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
    int spins = 0;
    while (atomic_exchange_explicit(&l->locked, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&l->locked, memory_order_relaxed)) {
            if (++spins < 100) {
                cpu_relax();
            } else {
                sched_yield();
                spins = 0;
            }
        }
    }
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
