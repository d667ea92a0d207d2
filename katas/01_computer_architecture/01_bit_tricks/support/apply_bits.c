/* Test-side helper (not yours): applies each function over an array, so millions of values are
 * checked without a Python call per value. */
#include <stdint.h>

int popcount32(uint32_t x);
int is_pow2(uint32_t x);
uint32_t next_pow2(uint32_t x);
uint32_t bswap32(uint32_t x);

void apply_bits(const uint32_t *x, long n, int32_t *pop, int32_t *pow2, uint32_t *next, uint32_t *swap) {
    for (long i = 0; i < n; i++) {
        pop[i] = popcount32(x[i]);
        pow2[i] = is_pow2(x[i]);
        next[i] = next_pow2(x[i]);
        swap[i] = bswap32(x[i]);
    }
}
