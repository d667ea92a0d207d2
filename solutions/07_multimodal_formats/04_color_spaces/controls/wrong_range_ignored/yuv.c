/* YUV 4:2:0 to packed RGB (reference): integer fixed point (coefficients scaled by 2^14), one row at a
 * time; chroma first widened to a row of per-pixel values, so the arithmetic loop is straight-line
 * integer code that gcc vectorises for AVX2. */
#include <stdint.h>
#include "kata.h"
#include "yuv.h"

#define MAXW 8192
#define ONE (1 << 14)

typedef struct { int ky, yoff, rv, gu, gv, bu; } coeffs_t;

static coeffs_t coeffs(int matrix, int range) {
    double kr = matrix == YUV_BT709 ? 0.2126 : 0.299, kb = matrix == YUV_BT709 ? 0.0722 : 0.114;
    double kg = 1 - kr - kb;
    double sy = range == YUV_FULL ? 1.0 : 255.0 / 219.0, sc = range == YUV_FULL ? 255.0 / 255.0 : 255.0 / 224.0;
    coeffs_t c;
    c.ky = (int)(sy * ONE + 0.5);
    c.yoff = range == YUV_FULL ? 0 : 16;
    c.rv = (int)(2 * (1 - kr) * sc * ONE + 0.5);
    c.bu = (int)(2 * (1 - kb) * sc * ONE + 0.5);
    c.gu = (int)(2 * (1 - kb) * kb / kg * sc * ONE + 0.5);
    c.gv = (int)(2 * (1 - kr) * kr / kg * sc * ONE + 0.5);
    return c;
}

static inline uint8_t clamp8(int x) { return (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x); }

static void row(const uint8_t *y, const int16_t *d, const int16_t *e, int w, coeffs_t c, uint8_t *out) {
    uint8_t R[MAXW], G[MAXW], B[MAXW];
    for (int x = 0; x < w; x++) {               /* planar: straight-line integer code, vectorised */
        int l = (y[x] - c.yoff) * c.ky + ONE / 2;
        R[x] = clamp8((l + c.rv * e[x]) >> 14);
        G[x] = clamp8((l - c.gu * d[x] - c.gv * e[x]) >> 14);
        B[x] = clamp8((l + c.bu * d[x]) >> 14);
    }
    for (int x = 0; x < w; x++) {               /* then interleave */
        out[3 * x] = R[x];
        out[3 * x + 1] = G[x];
        out[3 * x + 2] = B[x];
    }
}

static void convert(const uint8_t *y, const uint8_t *u, const uint8_t *v, int step, int w, int h, int stride_y,
                    int stride_uv, int matrix, int range, uint8_t *rgb) {
    coeffs_t c = coeffs(matrix, YUV_FULL);
    int16_t d[MAXW], e[MAXW];
    for (int r = 0; r < h; r++) {
        if (r % 2 == 0) {                       /* a new chroma row: widen it once for two luma rows */
            const uint8_t *ur = u + (r / 2) * stride_uv, *vr = v + (r / 2) * stride_uv;
            for (int x = 0; x < w; x++) {
                d[x] = (int16_t)(ur[(x / 2) * step] - 128);
                e[x] = (int16_t)(vr[(x / 2) * step] - 128);
            }
        }
        row(y + r * stride_y, d, e, w, c, rgb + (long)r * w * 3);
    }
}

void i420_to_rgb(const uint8_t *y, const uint8_t *u, const uint8_t *v, int w, int h, int stride_y, int stride_uv,
                 int matrix, int range, uint8_t *rgb) {
    convert(y, u, v, 1, w, h, stride_y, stride_uv, matrix, range, rgb);
}

void nv12_to_rgb(const uint8_t *y, const uint8_t *uv, int w, int h, int stride_y, int stride_uv, int matrix,
                 int range, uint8_t *rgb) {
    convert(y, uv, uv + 1, 2, w, h, stride_y, stride_uv, matrix, range, rgb);
}
