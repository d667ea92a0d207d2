/* PPM and PNG decoding, and HWC uint8 to normalised CHW float. See README.md. */
#include <stdlib.h>
#include <string.h>
#include "kata.h"
#include "image.h"

int ppm_decode(const uint8_t *buf, size_t n, uint8_t *out, size_t cap, img_info_t *info) {
    KATA_TODO();
    return IMG_ERR_MAGIC;
}

int png_decode(const uint8_t *buf, size_t n, uint8_t *out, size_t cap, img_info_t *info) {
    KATA_TODO();
    return IMG_ERR_MAGIC;
}

void hwc_to_chw(const uint8_t *in, int h, int w, int c, const float *mean, const float *std, float *out) {
    KATA_TODO();
}
