/* The latency ladder: a random single-cycle permutation and a pointer chase over it. See README.md. */
#include <stdint.h>
#include "kata.h"

/* Fill next[0..n) so that following i -> next[i] from any start visits all n slots before returning
 * (one cycle), in an order the hardware cannot predict. Any random number generator you like, seeded by
 * `seed`. */
void make_cycle(uint32_t *next, uint32_t n, uint64_t seed) {
    KATA_TODO();
}

/* Follow `steps` hops from `start` and return where you end up. */
uint32_t chase(const uint32_t *next, uint32_t start, uint64_t steps) {
    KATA_TODO();
    return 0;
}
