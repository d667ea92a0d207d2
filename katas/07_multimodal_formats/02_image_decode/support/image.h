/* image.h: PPM and PNG decoding, HWC to CHW (instructor-owned: do not edit). */
#ifndef IMAGE_H
#define IMAGE_H
#include <stddef.h>
#include <stdint.h>

enum {
    IMG_OK = 0,
    IMG_ERR_MAGIC = -1,      /* not a binary PPM ("P6") / not the PNG signature */
    IMG_ERR_FORMAT = -2,     /* unsupported or invalid header: bit depth != 8, colour type not 0/2/6, interlaced,
                                width or height 0 or above 1 << 16, maxval != 255, IHDR not first or not 13 bytes */
    IMG_ERR_TRUNCATED = -3,  /* a chunk or the pixel data runs past the end of the buffer, or no IEND */
    IMG_ERR_CRC = -4,        /* a chunk's CRC-32 does not match */
    IMG_ERR_DATA = -5,       /* the IDAT stream does not inflate to exactly height * (1 + width * channels)
                                bytes, or a row's filter type is above 4 */
    IMG_ERR_SPACE = -6,      /* cap < width * height * channels */
};

typedef struct { int width, height, channels; } img_info_t;

/* Decode into out (HWC, uint8, row after row), at most cap bytes. */
int ppm_decode(const uint8_t *buf, size_t n, uint8_t *out, size_t cap, img_info_t *info);
int png_decode(const uint8_t *buf, size_t n, uint8_t *out, size_t cap, img_info_t *info);
/* out[c][y][x] = (in[y][x][c] / 255 - mean[c]) / std[c] */
void hwc_to_chw(const uint8_t *in, int h, int w, int c, const float *mean, const float *std, float *out);

/* Provided (support/zinflate.c, zlib's uncompress): inflate a whole zlib stream into dst[0..cap).
 * Returns the number of bytes produced, or -1 if the stream is invalid or does not fit. */
long kata_inflate(const uint8_t *src, size_t n, uint8_t *dst, size_t cap);

#endif
