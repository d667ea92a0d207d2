/* Driver for the sanitizer run: writes a record file into the folder argv[1], reads every record back
 * in a scrambled order, asks for indices past the end, then opens every other file on the command
 * line (corrupt ones must give NULL) and reads all their records. Out-of-bounds reads and writes,
 * and anything never freed, are reported with the line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "records.h"

int kata_todo_take(char *buf, int size);

static void todo(void) {
    char w[512];
    if (kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        exit(3);
    }
}

int main(int argc, char **argv) {
    enum { N = 37 };
    uint64_t lengths[N], total = 0;
    int64_t labels[N];
    for (int i = 0; i < N; i++) {
        lengths[i] = (uint64_t)(i * 13 % 150);
        labels[i] = (int64_t)i * -7;
        total += lengths[i];
    }
    unsigned char *blob = malloc(total + 1);
    for (uint64_t k = 0; k < total; k++) blob[k] = (unsigned char)(k * 31);
    char path[4096];
    snprintf(path, sizeof path, "%s/driver.krec", argv[1]);
    if (rf_write(path, blob, lengths, labels, N) != 0) {
        todo();
        fprintf(stderr, "rf_write failed\n");
        _Exit(4);
    }
    todo();
    rf_reader_t *r = rf_open(path);
    todo();
    if (!r) { fprintf(stderr, "rf_open of a file rf_write wrote returned NULL\n"); _Exit(4); }
    volatile unsigned sink = 0;
    for (int k = 0; k < 3 * N; k++) {
        uint64_t i = (uint64_t)(k * 17 % (N + 3)), len;
        int64_t label;
        const unsigned char *p = rf_get(r, i, &len, &label);
        todo();
        if (p)
            for (uint64_t j = 0; j < len; j++) sink += p[j];
    }
    rf_close(r);
    todo();
    for (int a = 2; a < argc; a++) {
        rf_reader_t *c = rf_open(argv[a]);
        todo();
        if (!c)
            continue;
        for (uint64_t i = 0; i < rf_count(c); i++) {
            uint64_t len;
            const unsigned char *p = rf_get(c, i, &len, NULL);
            for (uint64_t j = 0; p && j < len; j++) sink += p[j];
        }
        rf_close(c);
    }
    free(blob);
    return 0;
}
