/* Driver for the sanitizer run: each file named on the command line is decoded as PNG and as PPM, whole
 * and cut at many lengths, from heap blocks of exactly that size, into outputs of exactly the size the
 * image needs (and one byte less). Memory errors and leaks are reported with your file and line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "image.h"
#include "zinflate.c"

int kata_todo_take(char *buf, int size);

static void todo(void) {
    char w[512];
    if (kata_todo_take(w, sizeof w)) { fprintf(stderr, "not implemented yet: %s\n", w); exit(3); }
}

static void run(const uint8_t *file, size_t n) {
    uint8_t *buf = malloc(n ? n : 1);
    memcpy(buf, file, n);
    for (int fmt = 0; fmt < 2; fmt++) {
        img_info_t info;
        uint8_t probe[1];
        int rc = fmt ? png_decode(buf, n, probe, 0, &info) : ppm_decode(buf, n, probe, 0, &info);
        todo();
        if (rc != IMG_ERR_SPACE) continue;
        /* the header is fine: find the size by decoding into a generous block, then exactly */
        size_t big = 3u << 20;
        uint8_t *tmp = malloc(big);
        rc = fmt ? png_decode(buf, n, tmp, big, &info) : ppm_decode(buf, n, tmp, big, &info);
        free(tmp);
        if (rc != IMG_OK) continue;
        size_t need = (size_t)info.width * info.height * info.channels;
        uint8_t *out = malloc(need);
        rc = fmt ? png_decode(buf, n, out, need, &info) : ppm_decode(buf, n, out, need, &info);
        if (rc != IMG_OK) { fprintf(stderr, "decode into exactly %zu bytes returned %d\n", need, rc); _Exit(4); }
        float mean[4] = {0.5f, 0.4f, 0.3f, 0.2f}, std[4] = {0.2f, 0.25f, 0.3f, 0.35f};
        float *chw = malloc(sizeof(float) * need);
        hwc_to_chw(out, info.height, info.width, info.channels, mean, std, chw);
        todo();
        free(chw);
        free(out);
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
        for (size_t k = 0; k < n; k += (k < 100 ? 1 : 61)) run(file, k);
        run(file, n);
    }
    return 0;
}
