/* Test-side helper (not yours): runs the conversions over arrays so millions of values are checked
 * without a Python call per value. Floats travel as their bits (uint32), so signalling NaNs arrive intact. */
#include <stdint.h>
#include <string.h>

void f32_fields(float f, uint32_t *sign, uint32_t *biased_exponent, uint32_t *fraction);
uint16_t f32_to_bf16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f);
float fp16_to_f32(uint16_t h);

void apply_from_f32(const uint32_t *xbits, long n, uint16_t *bf, uint16_t *h, uint32_t *sign, uint32_t *exp,
                    uint32_t *frac) {
    for (long i = 0; i < n; i++) {
        float f;
        memcpy(&f, &xbits[i], 4);
        bf[i] = f32_to_bf16(f);
        h[i] = f32_to_fp16(f);
        f32_fields(f, &sign[i], &exp[i], &frac[i]);
    }
}

void apply_to_f32(const uint16_t *h, long n, uint32_t *from_fp16, uint32_t *from_bf16) {
    for (long i = 0; i < n; i++) {
        float a = fp16_to_f32(h[i]), b = bf16_to_f32(h[i]);
        memcpy(&from_fp16[i], &a, 4);
        memcpy(&from_bf16[i], &b, 4);
    }
}
