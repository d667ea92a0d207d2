/* WAV parsing and PCM conversions. The README describes the format, the conventions and the errors. */
#include <math.h>
#include <string.h>
#include "kata.h"
#include "wav.h"

int wav_parse(const uint8_t *buf, size_t n, wav_info_t *out) {
    KATA_TODO();
    return WAV_ERR_MAGIC;
}

void wav_to_float(const wav_info_t *w, float *out) {
    KATA_TODO();
}

void mix_to_mono(const float *in, size_t frames, int channels, float *out) {
    KATA_TODO();
}

size_t resample_count(size_t n, int src_rate, int dst_rate) {
    KATA_TODO();
    return 0;
}

void resample_linear(const float *in, size_t n, int src_rate, int dst_rate, float *out) {
    KATA_TODO();
}

void float_to_int16(const float *in, size_t n, int16_t *out) {
    KATA_TODO();
}

size_t wav_write_pcm16(const int16_t *samples, size_t frames, int channels, int sample_rate, uint8_t *out,
                       size_t cap) {
    KATA_TODO();
    return 0;
}
