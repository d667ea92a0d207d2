/* Wrong control: bf16 by truncation (drops the low 16 bits: rounds toward zero). */
#include <stdint.h>
#include <string.h>
#include "kata.h"

static uint32_t bits_of(float f) { uint32_t x; memcpy(&x, &f, 4); return x; }
static float float_of(uint32_t x) { float f; memcpy(&f, &x, 4); return f; }

void f32_fields(float f, uint32_t *sign, uint32_t *biased_exponent, uint32_t *fraction) {
    uint32_t x = bits_of(f);
    *sign = x >> 31;
    *biased_exponent = (x >> 23) & 0xffu;
    *fraction = x & 0x7fffffu;
}

/* bf16 is the top half of a float32. Round to nearest, ties to even: add 0x7fff plus the lowest kept
 * bit, and let the carry ripple (into the exponent too: that is correct, and overflow gives inf).
 * NaN first: rounding could carry a NaN's payload into an infinity. */
uint16_t f32_to_bf16(float f) {
    uint32_t x = bits_of(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x0040u); /* keep sign and top payload, set the quiet bit */
    return (uint16_t)(x >> 16);
}

float bf16_to_f32(uint16_t h) { return float_of((uint32_t)h << 16); }

/* Keep q = the bits that fit, look at the rest: above half rounds up, exactly half rounds to even. */
static uint32_t round_shift(uint32_t m, int shift) {
    uint32_t q = m >> shift, rem = m & ((1u << shift) - 1u), half = 1u << (shift - 1);
    return q + (rem > half || (rem == half && (q & 1u)));
}

uint16_t f32_to_fp16(float f) {
    uint32_t x = bits_of(f);
    uint32_t sign = (x >> 16) & 0x8000u, exp = (x >> 23) & 0xffu, mant = x & 0x7fffffu;
    if (exp == 0xffu) /* inf stays inf; NaN stays a (quiet) NaN */
        return (uint16_t)(sign | 0x7c00u | (mant ? 0x0200u | (mant >> 13) : 0u));
    int e = (int)exp - 127 + 15; /* fp16's biased exponent */
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00u); /* too big even before rounding: inf */
    if (e <= 0) {                          /* an fp16 subnormal, or zero */
        if (e < -10)
            return (uint16_t)sign;         /* below half the smallest subnormal: +-0 */
        /* value = (mant | 1<<23) * 2^(e - 38); in units of 2^-24 that is the significand >> (14 - e).
         * A carry out of the subnormal range lands exactly on the smallest normal, 0x0400. */
        return (uint16_t)(sign | round_shift(mant | 0x800000u, 14 - e));
    }
    /* Normal: exponent and the top 10 fraction bits, rounded on the 13 dropped bits. A carry out of the
     * fraction bumps the exponent, and out of exponent 30 gives 0x7c00, inf: both correct. */
    return (uint16_t)(sign | round_shift(((uint32_t)e << 23) | mant, 13));
}

float fp16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
    if (exp == 0x1fu)
        return float_of(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) { /* subnormal: mant * 2^-24, exact in float32 */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    return float_of(sign | ((exp - 15u + 127u) << 23) | (mant << 13));
}
