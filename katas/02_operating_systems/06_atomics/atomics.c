/* C11 atomics: a spinlock, a fetch-and-add counter, a lock-free single-producer single-consumer queue.
 * The types are in support/atomics.h; the contract in the README. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include "kata.h"
#include "atomics.h"

void spin_lock(spinlock_t *l) {
    KATA_TODO();
}

int spin_trylock(spinlock_t *l) {
    KATA_TODO();
    return 0;
}

void spin_unlock(spinlock_t *l) {
    KATA_TODO();
}

long counter_add(atomic_long *c, long v) {
    KATA_TODO();
    return 0;
}

int spsc_init(spsc_t *q, uint64_t *slots, size_t cap) {
    KATA_TODO();
    return -1;
}

int spsc_push(spsc_t *q, uint64_t v) {
    KATA_TODO();
    return 0;
}

int spsc_pop(spsc_t *q, uint64_t *out) {
    KATA_TODO();
    return 0;
}
