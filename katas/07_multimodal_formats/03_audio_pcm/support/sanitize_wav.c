/* Driver for the sanitizer run: every file named on the command line is parsed whole and cut at many
 * lengths, each time from a heap block of exactly that size; what parses is converted, mixed down,
 * resampled and written again into blocks of exactly the size the README gives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wav.h"

int kata_todo_take(char *buf, int size);

static void todo(void) {
    char w[512];
    if (kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        exit(3);
    }
}

static void run(const uint8_t *file, size_t n) {
    uint8_t *buf = malloc(n ? n : 1);
    memcpy(buf, file, n);
    wav_info_t w;
    int rc = wav_parse(buf, n, &w);
    todo();
    if (rc == WAV_OK) {
        size_t count = w.frames * (size_t)w.channels;
        float *f = malloc(4 * (count ? count : 1));
        wav_to_float(&w, f);
        todo();
        float *mono = malloc(4 * (w.frames ? w.frames : 1));
        mix_to_mono(f, w.frames, w.channels, mono);
        todo();
        int rates[] = {8000, 16000, 22050, 44100, 48000};
        for (int k = 0; k < 5; k++) {
            size_t m = resample_count(w.frames, w.sample_rate, rates[k]);
            todo();
            float *r = malloc(4 * (m ? m : 1));
            resample_linear(mono, w.frames, w.sample_rate, rates[k], r);
            todo();
            free(r);
        }
        int16_t *s = malloc(2 * (count ? count : 1));
        float_to_int16(f, count, s);
        todo();
        size_t total = 44 + 2 * count;
        uint8_t *o = malloc(total);
        if (wav_write_pcm16(s, w.frames, w.channels, w.sample_rate, o, total - 1) != 0) {
            fprintf(stderr, "wav_write_pcm16 with one byte too little room did not return 0\n");
            _Exit(4);
        }
        if (wav_write_pcm16(s, w.frames, w.channels, w.sample_rate, o, total) != total) {
            fprintf(stderr, "wav_write_pcm16 did not return %zu\n", total);
            _Exit(4);
        }
        todo();
        free(o); free(s); free(mono); free(f);
    }
    free(buf);
}

int main(int argc, char **argv) {
    static uint8_t file[1 << 20];
    for (int i = 1; i < argc; i++) {
        FILE *fp = fopen(argv[i], "rb");
        if (!fp) { perror(argv[i]); return 2; }
        size_t n = fread(file, 1, sizeof file, fp);
        fclose(fp);
        for (size_t k = 0; k < n; k += (k < 128 ? 1 : 97)) run(file, k);
        run(file, n);
    }
    return 0;
}
