/* atomics.h: the types for the atomics kata (instructor-owned: do not edit). */
#ifndef ATOMICS_H
#define ATOMICS_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    atomic_int locked;             /* 0: free, 1: held */
} spinlock_t;

void spin_lock(spinlock_t *l);
int spin_trylock(spinlock_t *l);   /* 1 if it took the lock, 0 if it was held */
void spin_unlock(spinlock_t *l);

long counter_add(atomic_long *c, long v);  /* add v; return the value before */

/* A single-producer single-consumer queue of uint64_t. head and tail count pops and pushes since
 * spsc_init and only ever grow (slot = count & (cap - 1)); each sits on its own cache line. */
typedef struct {
    uint64_t *slots;
    size_t cap;                    /* a power of two */
    _Alignas(64) atomic_size_t head;   /* written by the consumer only */
    _Alignas(64) atomic_size_t tail;   /* written by the producer only */
} spsc_t;

int spsc_init(spsc_t *q, uint64_t *slots, size_t cap);  /* 0, or -1 if cap is not a power of two */
int spsc_push(spsc_t *q, uint64_t v);                   /* 1, or 0 if full */
int spsc_pop(spsc_t *q, uint64_t *out);                 /* 1, or 0 if empty */

#endif
