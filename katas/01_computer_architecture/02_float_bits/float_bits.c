/* IEEE-754 bits: fields, and float32 <-> bf16 / fp16 with round-to-nearest-even. See README.md.
 * Work on the bits: memcpy a float into a uint32_t (no pointer casts: that breaks aliasing rules). */
#include <stdint.h>
#include <string.h>
#include "kata.h"

void f32_fields(float f, uint32_t *sign, uint32_t *biased_exponent, uint32_t *fraction) {
    KATA_TODO();
}

uint16_t f32_to_bf16(float f) {
    KATA_TODO();
    return 0;
}

float bf16_to_f32(uint16_t h) {
    KATA_TODO();
    return 0.0f;
}

uint16_t f32_to_fp16(float f) {
    KATA_TODO();
    return 0;
}

float fp16_to_f32(uint16_t h) {
    KATA_TODO();
    return 0.0f;
}
