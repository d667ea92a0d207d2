/* WAV parsing and PCM conversions (reference). */
#include <math.h>
#include <string.h>
#include "kata.h"
#include "wav.h"

static uint32_t u32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

int wav_parse(const uint8_t *buf, size_t n, wav_info_t *out) {
    if (n < 12 || memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0) return WAV_ERR_MAGIC;
    int have_fmt = 0;
    size_t pos = 12;
    while (1) {
        if (n - pos < 8) return WAV_ERR_TRUNCATED;       /* pos <= n always holds here */
        const uint8_t *c = buf + pos;
        size_t size = u32(c + 4);
        if (size > n - pos - 8) return WAV_ERR_TRUNCATED;  /* the chunk must fit: never pos + size (overflow) */
        if (memcmp(c, "fmt ", 4) == 0) {
            if (size < 16) return WAV_ERR_FORMAT;
            out->format = u16(c + 8);
            out->channels = u16(c + 10);
            out->sample_rate = (int)u32(c + 12);
            int align = u16(c + 20);
            out->bits = u16(c + 22);
            if (!((out->format == 1 && out->bits == 16) || (out->format == 3 && out->bits == 32))) return WAV_ERR_FORMAT;
            if (out->channels == 0 || out->sample_rate <= 0 || align != out->channels * out->bits / 8)
                return WAV_ERR_FORMAT;
            have_fmt = 1;
        } else if (memcmp(c, "data", 4) == 0) {
            if (!have_fmt) return WAV_ERR_FORMAT;
            out->data = c + 8;
            out->frames = size / (size_t)(out->channels * out->bits / 8);
            return WAV_OK;
        }
        size_t skip = 8 + size + (size & 1);             /* odd chunks are followed by a pad byte */
        if (skip > n - pos) return WAV_ERR_TRUNCATED;
        pos += skip;
    }
}

void wav_to_float(const wav_info_t *w, float *out) {
    size_t count = w->frames * (size_t)w->channels;
    if (w->format == 1) {
        for (size_t i = 0; i < count; i++) out[i] = (float)(int16_t)u16(w->data + 2 * i) / 32768.0f;
    } else {
        memcpy(out, w->data, 4 * count);                  /* little-endian IEEE floats, possibly unaligned */
    }
}

void mix_to_mono(const float *in, size_t frames, int channels, float *out) {
    for (size_t f = 0; f < frames; f++) {
        double s = 0;
        for (int c = 0; c < channels; c++) s += in[f * channels + c];
        out[f] = (float)(s / channels);
    }
}

size_t resample_count(size_t n, int src_rate, int dst_rate) {
    if (n == 0) return 0;
    return (size_t)((uint64_t)(n - 1) * (uint64_t)dst_rate / (uint64_t)src_rate) + 1;
}

void resample_linear(const float *in, size_t n, int src_rate, int dst_rate, float *out) {
    size_t m = resample_count(n, src_rate, dst_rate);
    for (size_t j = 0; j < m; j++) {
        uint64_t num = (uint64_t)j * (uint64_t)src_rate;   /* output j sits at input position num / dst */
        size_t i = (size_t)(num / (uint64_t)dst_rate);
        uint64_t r = num % (uint64_t)dst_rate;
        if (r == 0) {
            out[j] = in[i];                                   /* exactly on a sample: no in[i + 1] needed */
        } else {
            double f = (double)r / dst_rate;
            out[j] = (float)(in[i] * (1.0 - f) + in[i + 1] * f);
        }
    }
}

void float_to_int16(const float *in, size_t n, int16_t *out) {
    for (size_t i = 0; i < n; i++) {
        float v = in[i] * 32768.0f;
        if (!(v == v)) v = 0;                                  /* NaN */
        if (v > 32767.0f) v = 32767.0f;
        if (v < -32768.0f) v = -32768.0f;
        out[i] = (int16_t)lrintf(v);                           /* round half to even, like numpy.rint */
    }
}

static void put16(uint8_t *p, unsigned v) { p[0] = v & 0xff; p[1] = (v >> 8) & 0xff; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }

size_t wav_write_pcm16(const int16_t *samples, size_t frames, int channels, int sample_rate, uint8_t *out,
                       size_t cap) {
    size_t data = frames * (size_t)channels * 2;
    size_t total = 44 + data + (data & 1);
    if (cap < total) return 0;
    memcpy(out, "RIFF", 4);
    put32(out + 4, (uint32_t)(total - 8));
    memcpy(out + 8, "WAVEfmt ", 8);
    put32(out + 16, 16);
    put16(out + 20, 1);
    put16(out + 22, (unsigned)channels);
    put32(out + 24, (uint32_t)sample_rate);
    put32(out + 28, (uint32_t)(sample_rate * channels * 2));
    put16(out + 32, (unsigned)(channels * 2));
    put16(out + 34, 16);
    memcpy(out + 36, "data", 4);
    put32(out + 40, (uint32_t)data);
    for (size_t i = 0; i < frames * (size_t)channels; i++) put16(out + 44 + 2 * i, (uint16_t)samples[i]);
    return total;
}
