/* utf8.h: validate and decode UTF-8 (instructor-owned: do not edit). */
#ifndef UTF8_H
#define UTF8_H
#include <stddef.h>
#include <stdint.h>

enum {
    UTF8_ERR_TRUNCATED = -1,    /* the input ends inside a sequence whose bytes so far are fine */
    UTF8_ERR_BAD_BYTE = -2,     /* a continuation byte (80..BF) where a sequence should start, or F8..FF */
    UTF8_ERR_CONTINUATION = -3, /* a sequence's next byte is not a continuation byte 80..BF */
    UTF8_ERR_OVERLONG = -4,     /* C0, C1; E0 followed by 80..9F; F0 followed by 80..8F */
    UTF8_ERR_SURROGATE = -5,    /* ED followed by A0..BF (U+D800..U+DFFF) */
    UTF8_ERR_RANGE = -6,        /* above U+10FFFF: F4 followed by 90..BF, or F5..F7 */
    UTF8_ERR_SPACE = -7,        /* utf8_decode: the input is valid but needs more than cap code points */
};

/* If s[0..n) is valid UTF-8, return the number of code points. Otherwise return the error of the
 * first invalid sequence and set *err_at to the offset of that sequence's first byte. */
long utf8_validate(const uint8_t *s, size_t n, size_t *err_at);

/* Decode s[0..n) into out[0..cap) and return the number of code points. Errors as utf8_validate
 * (out may hold the code points before the error); UTF8_ERR_SPACE if the input is valid but has more
 * than cap code points: never write out[cap] or beyond. */
long utf8_decode(const uint8_t *s, size_t n, uint32_t *out, size_t cap, size_t *err_at);

#endif
