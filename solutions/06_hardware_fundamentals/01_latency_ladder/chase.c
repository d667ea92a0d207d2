/* Reference: Sattolo's algorithm (a uniformly random single cycle) and a dependent pointer chase. */
#include <stdint.h>
#include "kata.h"

static uint64_t xorshift64star(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Start from the identity and, going down, swap each slot with a random *earlier* one (j < i, never
 * i itself): the result is one cycle through all n elements. Allowing j == i (Fisher-Yates) gives a
 * uniformly random permutation instead, which usually splits into several cycles. */
void make_cycle(uint32_t *next, uint32_t n, uint64_t seed) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
    for (uint32_t i = 0; i < n; i++)
        next[i] = i;
    for (uint32_t i = n - 1; i >= 1 && i < n; i--) {
        uint32_t j = (uint32_t)(xorshift64star(&s) % i);
        uint32_t t = next[i];
        next[i] = next[j];
        next[j] = t;
    }
}

/* Each load's address is the previous load's value: no two loads can overlap, so the time per step is
 * the latency of wherever next[] lives. */
uint32_t chase(const uint32_t *next, uint32_t start, uint64_t steps) {
    uint32_t i = start;
    for (uint64_t k = 0; k < steps; k++)
        i = next[i];
    return i;
}
