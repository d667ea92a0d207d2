/* wav.h: WAV parsing and PCM conversions (instructor-owned: do not edit). */
#ifndef WAV_H
#define WAV_H
#include <stddef.h>
#include <stdint.h>

enum {
    WAV_OK = 0,
    WAV_ERR_MAGIC = -1,      /* not "RIFF" .... "WAVE" (or shorter than 12 bytes) */
    WAV_ERR_FORMAT = -2,     /* no "fmt " chunk before "data", fmt shorter than 16 bytes, a format other than
                                PCM 16-bit (1) or IEEE float 32-bit (3), 0 channels or a 0 sample rate,
                                block_align != channels * bits / 8 */
    WAV_ERR_TRUNCATED = -3,  /* a chunk header or a chunk runs past the end of the buffer, or no "data" */
};

typedef struct {
    int format;            /* 1 = PCM int16, 3 = IEEE float32 */
    int channels;
    int sample_rate;
    int bits;              /* 16 or 32 */
    const uint8_t *data;   /* points INTO the buffer, at the first sample */
    size_t frames;         /* data chunk size / block_align (a partial last frame is ignored) */
} wav_info_t;

int wav_parse(const uint8_t *buf, size_t n, wav_info_t *out);
void wav_to_float(const wav_info_t *w, float *out);          /* frames * channels floats, interleaved */
void mix_to_mono(const float *in, size_t frames, int channels, float *out);  /* mean of each frame */
size_t resample_count(size_t n, int src_rate, int dst_rate);
void resample_linear(const float *in, size_t n, int src_rate, int dst_rate, float *out);
void float_to_int16(const float *in, size_t n, int16_t *out);
size_t wav_write_pcm16(const int16_t *samples, size_t frames, int channels, int sample_rate, uint8_t *out,
                       size_t cap);  /* bytes written, or 0 if cap is too small (then nothing written) */

#endif
