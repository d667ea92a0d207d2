/* yuv.h: YUV 4:2:0 to RGB (instructor-owned: do not edit). */
#ifndef YUV_H
#define YUV_H
#include <stdint.h>

enum { YUV_BT601 = 0, YUV_BT709 = 1 };
enum { YUV_LIMITED = 0, YUV_FULL = 1 };

/* Planes: Y is h rows of w bytes (row r at y + r * stride_y). I420: U and V are ch = (h + 1) / 2 rows of
 * cw = (w + 1) / 2 bytes (row r at u + r * stride_uv). NV12: one plane of ch rows of cw (U, V) byte pairs.
 * Pixel (r, x) uses chroma sample (r / 2, x / 2). Output: h * w * 3 bytes, RGB, row after row, packed. */
void i420_to_rgb(const uint8_t *y, const uint8_t *u, const uint8_t *v, int w, int h, int stride_y, int stride_uv,
                 int matrix, int range, uint8_t *rgb);
void nv12_to_rgb(const uint8_t *y, const uint8_t *uv, int w, int h, int stride_y, int stride_uv, int matrix,
                 int range, uint8_t *rgb);

#endif
