/* An FFCV-style record file: written once, then read by random access through mmap, with no copies.
 * The layout and the rules are in the README; the structs in records.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kata.h"
#include "records.h"

struct rf_reader {
    /* yours: the mapping, its length, the count, where the index is ... */
    int unused;
};

/* Write `count` records: record i is the next lengths[i] bytes of blob, with labels[i].
 * Return 0, or -1 on an I/O error. */
int rf_write(const char *path, const unsigned char *blob, const uint64_t *lengths, const int64_t *labels,
             uint64_t count) {
    KATA_TODO();
    return -1;
}

/* Map the file and check it (see the README); NULL if it is not a valid record file. */
rf_reader_t *rf_open(const char *path) {
    KATA_TODO();
    return NULL;
}

uint64_t rf_count(const rf_reader_t *r) {
    KATA_TODO();
    return 0;
}

/* Record i's bytes, in place in the mapping; its length and label through the pointers.
 * NULL if i is out of range. */
const unsigned char *rf_get(const rf_reader_t *r, uint64_t i, uint64_t *length, int64_t *label) {
    KATA_TODO();
    return NULL;
}

void rf_close(rf_reader_t *r) {
    KATA_TODO();
}
