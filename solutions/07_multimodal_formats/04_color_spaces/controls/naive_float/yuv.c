/* YUV 4:2:0 to packed RGB, per pixel in double precision with the textbook formulas (naive control):
 * correct, but every pixel pays for divisions, conversions and rounding calls. */
#include <math.h>
#include <stdint.h>
#include "kata.h"
#include "yuv.h"

static uint8_t to8(double x) {
    double s = round(255.0 * x);
    return (uint8_t)(s < 0 ? 0 : s > 255 ? 255 : s);
}

static void pixel(int Y, int U, int V, int matrix, int range, uint8_t *out) {
    double kr = matrix == YUV_BT709 ? 0.2126 : 0.299, kb = matrix == YUV_BT709 ? 0.0722 : 0.114;
    double kg = 1 - kr - kb;
    double yy = range == YUV_FULL ? Y / 255.0 : (Y - 16) / 219.0;
    double pb = range == YUV_FULL ? (U - 128) / 255.0 : (U - 128) / 224.0;
    double pr = range == YUV_FULL ? (V - 128) / 255.0 : (V - 128) / 224.0;
    double r = yy + 2 * (1 - kr) * pr, b = yy + 2 * (1 - kb) * pb;
    double g = (yy - kr * r - kb * b) / kg;
    out[0] = to8(r);
    out[1] = to8(g);
    out[2] = to8(b);
}

void i420_to_rgb(const uint8_t *y, const uint8_t *u, const uint8_t *v, int w, int h, int stride_y, int stride_uv,
                 int matrix, int range, uint8_t *rgb) {
    for (int r = 0; r < h; r++)
        for (int x = 0; x < w; x++)
            pixel(y[r * stride_y + x], u[(r / 2) * stride_uv + x / 2], v[(r / 2) * stride_uv + x / 2], matrix, range,
                  rgb + ((long)r * w + x) * 3);
}

void nv12_to_rgb(const uint8_t *y, const uint8_t *uv, int w, int h, int stride_y, int stride_uv, int matrix,
                 int range, uint8_t *rgb) {
    for (int r = 0; r < h; r++)
        for (int x = 0; x < w; x++)
            pixel(y[r * stride_y + x], uv[(r / 2) * stride_uv + 2 * (x / 2)], uv[(r / 2) * stride_uv + 2 * (x / 2) + 1],
                  matrix, range, rgb + ((long)r * w + x) * 3);
}
