/* UTF-8 validation and decoding (reference). One step function decodes the sequence at s[i] and says
 * how long it is, or which error it is; both entry points loop over it. */
#include "kata.h"
#include "utf8.h"

static int step(const uint8_t *s, size_t n, size_t i, uint32_t *cp) {
    uint8_t b = s[i];
    if (b < 0x80) { *cp = b; return 1; }
    if (b < 0xC0 || b >= 0xF8) return UTF8_ERR_BAD_BYTE;
    if (b < 0xC2) return UTF8_ERR_OVERLONG;
    if (b >= 0xF5) return UTF8_ERR_RANGE;
    int len = b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    uint32_t c = b & (0x7F >> len);
    for (int k = 1; k < len; k++) {
        if (i + k >= n) return UTF8_ERR_TRUNCATED;          /* never read s[n] */
        uint8_t t = s[i + k];
        if ((t & 0xC0) != 0x80) return UTF8_ERR_CONTINUATION;
        if (k == 1) {                                        /* the second byte's range depends on the lead */
            if (b == 0xE0 && t < 0xA0) return UTF8_ERR_OVERLONG;
            if (b == 0xF0 && t < 0x90) return UTF8_ERR_OVERLONG;
            if (b == 0xF4 && t >= 0x90) return UTF8_ERR_RANGE;
        }
        c = (c << 6) | (t & 0x3F);
    }
    *cp = c;
    return len;
}

long utf8_validate(const uint8_t *s, size_t n, size_t *err_at) {
    long count = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int r = step(s, n, i, &cp);
        if (r < 0) { *err_at = i; return r; }
        i += (size_t)r;
        count++;
    }
    return count;
}

long utf8_decode(const uint8_t *s, size_t n, uint32_t *out, size_t cap, size_t *err_at) {
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int r = step(s, n, i, &cp);
        if (r < 0) { *err_at = i; return r; }
        if (count == cap) {                  /* valid so far but no room: is the rest valid too? */
            long rest = utf8_validate(s + i, n - i, err_at);
            if (rest < 0) { *err_at += i; return rest; }
            return UTF8_ERR_SPACE;
        }
        out[count++] = cp;
        i += (size_t)r;
    }
    return (long)count;
}
