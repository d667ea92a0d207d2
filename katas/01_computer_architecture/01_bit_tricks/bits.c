/* Bit tricks under an operator budget. See README.md for the rules: straight-line code only, using
 * ! ~ & ^ | + - << >> (and = |= etc.), any integer constants, no loops, branches, calls or comparisons. */
#include <stdint.h>
#include "kata.h"

int popcount32(uint32_t x) {        /* number of 1 bits; budget 20 ops */
    KATA_TODO();
    return 0;
}

int is_pow2(uint32_t x) {           /* 1 if x is a power of two, else 0 (0 is not); budget 8 ops */
    KATA_TODO();
    return 0;
}

uint32_t next_pow2(uint32_t x) {    /* smallest power of two >= x; next_pow2(0) = 1; 0 above 2^31; budget 16 ops */
    KATA_TODO();
    return 0;
}

uint32_t bswap32(uint32_t x) {      /* reverse the byte order: 0x11223344 -> 0x44332211; budget 12 ops */
    KATA_TODO();
    return 0;
}
