/* Reference: straight-line bit tricks, every function inside its operator budget. */
#include <stdint.h>
#include "kata.h"

/* SWAR: count bits in 2-bit fields, then 4-bit, then bytes, then fold the bytes together. 15 ops. */
int popcount32(uint32_t x) {
    x = x - ((x >> 1) & 0x55555555u);                 /* each 2-bit field holds its own count (0..2) */
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u); /* each nibble: 0..4 */
    x = (x + (x >> 4)) & 0x0f0f0f0fu;                 /* each byte: 0..8 */
    x = x + (x >> 8);                                 /* fold bytes: the low byte gathers the total */
    x = x + (x >> 16);
    return (int)(x & 0x3fu);
}

/* A power of two has exactly one bit set, so clearing its lowest set bit leaves 0. 0 is not one. 6 ops. */
int is_pow2(uint32_t x) {
    return !!x & !(x & (x - 1));
}

/* Smear the highest set bit of x - 1 into every lower bit, then add one. !x makes next_pow2(0) = 1.
 * Values above 2^31 wrap to 0. 14 ops. */
uint32_t next_pow2(uint32_t x) {
    x = x - 1 + !x;
    x |= x >> 1;
    x |= x >> 2;
    x |= x >> 4;
    x |= x >> 8;
    x |= x >> 16;
    return x + 1;
}

/* Move each byte to its mirrored place. 9 ops. */
uint32_t bswap32(uint32_t x) {
    return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
}
