/* Naive control: correct, with loops, branches and comparisons: every function breaks the operator rules. */
#include <stdint.h>
#include "kata.h"

int popcount32(uint32_t x) {
    int n = 0;
    for (int i = 0; i < 32; i++)
        if (x & (1u << i))
            n++;
    return n;
}

int is_pow2(uint32_t x) {
    return popcount32(x) == 1;
}

uint32_t next_pow2(uint32_t x) {
    uint32_t p = 1;
    while (p && p < x)
        p <<= 1;
    return p;
}

uint32_t bswap32(uint32_t x) {
    uint32_t r = 0;
    for (int i = 0; i < 4; i++) {
        r = (r << 8) | (x & 0xffu);
        x >>= 8;
    }
    return r;
}
