/* Driver for the sanitizer run: every file named on the command line is decoded whole and cut at every
 * length, each time from a heap block of exactly that many bytes, with output blocks of exactly the
 * capacity passed. A read of s[n] or a write of out[cap] is reported with its line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "utf8.h"

int kata_todo_take(char *buf, int size);

static void todo(void) {
    char w[512];
    if (kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        exit(3);
    }
}

static void run(const uint8_t *data, size_t n) {
    uint8_t *s = malloc(n);
    memcpy(s, data, n);
    size_t at = 0;
    long count = utf8_validate(s, n, &at);
    todo();
    long cap = count >= 0 ? count : (long)n;
    uint32_t *out = malloc(sizeof(uint32_t) * (size_t)cap);
    long got = utf8_decode(s, n, out, (size_t)cap, &at);
    todo();
    if (got != count) { fprintf(stderr, "utf8_decode returned %ld, utf8_validate %ld\n", got, count); _Exit(4); }
    free(out);
    if (count > 0) {
        out = malloc(sizeof(uint32_t) * (size_t)(count - 1));
        got = utf8_decode(s, n, out, (size_t)(count - 1), &at);
        if (got != UTF8_ERR_SPACE) {
            fprintf(stderr, "utf8_decode with one slot too few returned %ld, not UTF8_ERR_SPACE\n", got);
            _Exit(4);
        }
        free(out);
    }
    free(s);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { perror(argv[i]); return 2; }
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        for (size_t k = 0; k <= n; k++) run(buf, k);
    }
    return 0;
}
