/* YUV 4:2:0 (I420, NV12) to packed RGB, BT.601 and BT.709, limited and full range. See README.md. */
#include "kata.h"
#include "yuv.h"

void i420_to_rgb(const uint8_t *y, const uint8_t *u, const uint8_t *v, int w, int h, int stride_y, int stride_uv,
                 int matrix, int range, uint8_t *rgb) {
    KATA_TODO();
}

void nv12_to_rgb(const uint8_t *y, const uint8_t *uv, int w, int h, int stride_y, int stride_uv, int matrix,
                 int range, uint8_t *rgb) {
    KATA_TODO();
}
