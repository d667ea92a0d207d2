/* PPM and PNG decoding, and HWC uint8 to normalised CHW float (reference). */
#include <stdlib.h>
#include <string.h>
#include "kata.h"
#include "image.h"

/* ------------------------------------------------------------------ PPM (P6, maxval 255) */

static int ppm_number(const uint8_t *buf, size_t n, size_t *pos, long *value) {
    for (;;) {                                    /* whitespace and # comments before each number */
        if (*pos >= n) return IMG_ERR_TRUNCATED;
        uint8_t c = buf[*pos];
        if (c == '#') {
            while (*pos < n && buf[*pos] != '\n') (*pos)++;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
            (*pos)++;
        } else {
            break;
        }
    }
    long v = 0;
    size_t start = *pos;
    while (*pos < n && buf[*pos] >= '0' && buf[*pos] <= '9') {
        v = v * 10 + (buf[*pos] - '0');
        if (v > 1 << 20) return IMG_ERR_FORMAT;  /* no overflow, whatever the digits */
        (*pos)++;
    }
    if (*pos == start) return *pos >= n ? IMG_ERR_TRUNCATED : IMG_ERR_FORMAT;
    *value = v;
    return IMG_OK;
}

int ppm_decode(const uint8_t *buf, size_t n, uint8_t *out, size_t cap, img_info_t *info) {
    if (n < 2 || buf[0] != 'P' || buf[1] != '6') return IMG_ERR_MAGIC;
    size_t pos = 2;
    long w, h, maxval;
    int rc;
    if ((rc = ppm_number(buf, n, &pos, &w)) || (rc = ppm_number(buf, n, &pos, &h)) ||
        (rc = ppm_number(buf, n, &pos, &maxval)))
        return rc;
    if (w < 1 || h < 1 || w > 1 << 16 || h > 1 << 16 || maxval != 255) return IMG_ERR_FORMAT;
    if (pos >= n) return IMG_ERR_TRUNCATED;
    pos++;                                        /* exactly one whitespace byte before the pixels */
    size_t need = (size_t)w * (size_t)h * 3;
    if (need > n - pos) return IMG_ERR_TRUNCATED;
    if (need > cap) return IMG_ERR_SPACE;
    memcpy(out, buf + pos, need);
    info->width = (int)w, info->height = (int)h, info->channels = 3;
    return IMG_OK;
}

/* ------------------------------------------------------------------ PNG */

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static uint32_t crc32_of(const uint8_t *p, size_t n) {
    static uint32_t table[256];
    if (!table[1]) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    }
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static int paeth(int a, int b, int c) {
    uint8_t p = (uint8_t)(a + b - c);      /* computed in 8 bits: wraps around */
    int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Undo the filters in place: raw holds h rows of 1 + stride bytes; writes h * stride bytes to out. */
static int unfilter(const uint8_t *raw, int h, size_t stride, int bpp, uint8_t *out) {
    for (int y = 0; y < h; y++) {
        const uint8_t *src = raw + (size_t)y * (stride + 1);
        int type = src[0];
        src++;
        uint8_t *row = out + (size_t)y * stride;
        const uint8_t *up = y ? row - stride : NULL;    /* the previous row, already unfiltered */
        for (size_t x = 0; x < stride; x++) {
            int a = x >= (size_t)bpp ? row[x - bpp] : 0;
            int b = up ? up[x] : 0;
            int c = up && x >= (size_t)bpp ? up[x - bpp] : 0;
            int pred;
            switch (type) {
                case 0: pred = 0; break;
                case 1: pred = a; break;
                case 2: pred = b; break;
                case 3: pred = (a + b) / 2; break;
                case 4: pred = paeth(a, b, c); break;
                default: return IMG_ERR_DATA;
            }
            row[x] = (uint8_t)(src[x] + pred);
        }
    }
    return IMG_OK;
}

int png_decode(const uint8_t *buf, size_t n, uint8_t *out, size_t cap, img_info_t *info) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 8 || memcmp(buf, sig, 8) != 0) return IMG_ERR_MAGIC;
    size_t pos = 8, idat_len = 0;
    int w = 0, h = 0, channels = 0, seen_ihdr = 0, seen_iend = 0;
    /* pass 1: check every chunk (bounds, CRC), read IHDR, add up the IDAT sizes */
    while (!seen_iend) {
        if (n - pos < 12) return IMG_ERR_TRUNCATED;
        size_t len = be32(buf + pos);
        const uint8_t *type = buf + pos + 4;
        if (len > n - pos - 12) return IMG_ERR_TRUNCATED;
        if (crc32_of(type, len + 4) != be32(type + 4 + len)) return IMG_ERR_CRC;
        const uint8_t *d = type + 4;
        if (!seen_ihdr) {
            if (memcmp(type, "IHDR", 4) != 0 || len != 13) return IMG_ERR_FORMAT;
            uint32_t W = be32(d), H = be32(d + 4);
            int depth = d[8], ctype = d[9], interlace = d[12];
            if (W < 1 || H < 1 || W > 1 << 16 || H > 1 << 16 || depth != 8 || interlace != 0 || d[10] || d[11])
                return IMG_ERR_FORMAT;
            channels = ctype == 0 ? 1 : ctype == 2 ? 3 : ctype == 6 ? 4 : 0;
            if (!channels) return IMG_ERR_FORMAT;
            w = (int)W, h = (int)H, seen_ihdr = 1;
        } else if (memcmp(type, "IDAT", 4) == 0) {
            idat_len += len;
        } else if (memcmp(type, "IEND", 4) == 0) {
            seen_iend = 1;
        }
        pos += 12 + len;
    }
    size_t stride = (size_t)w * channels, need = stride * h;
    if (need > cap) return IMG_ERR_SPACE;
    /* pass 2: gather the IDAT data, inflate it, unfilter */
    uint8_t *z = malloc(idat_len ? idat_len : 1);
    size_t raw_len = (stride + 1) * h;
    uint8_t *raw = malloc(raw_len + 1);          /* one spare byte: a longer stream shows as "too long" */
    if (!z || !raw) { free(z); free(raw); return IMG_ERR_DATA; }
    size_t got = 0;
    for (pos = 8;;) {
        size_t len = be32(buf + pos);
        if (memcmp(buf + pos + 4, "IDAT", 4) == 0) { memcpy(z + got, buf + pos + 8, len); got += len; }
        if (memcmp(buf + pos + 4, "IEND", 4) == 0) break;
        pos += 12 + len;
    }
    long produced = kata_inflate(z, idat_len, raw, raw_len + 1);
    int rc = produced == (long)raw_len ? unfilter(raw, h, stride, channels, out) : IMG_ERR_DATA;
    free(z);
    free(raw);
    if (rc == IMG_OK) info->width = w, info->height = h, info->channels = channels;
    return rc;
}

void hwc_to_chw(const uint8_t *in, int h, int w, int c, const float *mean, const float *std, float *out) {
    size_t plane = (size_t)h * w;
    for (int k = 0; k < c; k++) {
        float s = 1.0f / (255.0f * std[k]), m = mean[k] / std[k];
        for (size_t i = 0; i < plane; i++) out[k * plane + i] = in[i * c + k] * s - m;
    }
}
