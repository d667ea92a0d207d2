/* Wrong control: rf_open checks the header and the index's size, but not that each record lies inside
 * the file: a corrupt offset hands out a pointer past the mapping. */
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
    const unsigned char *map;
    size_t len;
    uint64_t count;
    const rf_entry_t *index;
};

static uint64_t align_up(uint64_t x) { return (x + RF_ALIGN - 1) / RF_ALIGN * RF_ALIGN; }

static int write_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n) {
        ssize_t k = write(fd, c, n);
        if (k <= 0)
            return -1;
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

int rf_write(const char *path, const unsigned char *blob, const uint64_t *lengths, const int64_t *labels,
             uint64_t count) {
    rf_entry_t *index = malloc((count ? count : 1) * sizeof *index);
    if (!index)
        return -1;
    uint64_t data_offset = align_up(RF_HEADER_SIZE + count * RF_ENTRY_SIZE), at = data_offset;
    for (uint64_t i = 0; i < count; i++) {
        index[i].offset = at;
        index[i].length = lengths[i];
        index[i].label = labels[i];
        at = align_up(at + lengths[i]);
    }
    uint64_t end = count ? index[count - 1].offset + lengths[count - 1] : data_offset;
    rf_header_t h = {0};
    memcpy(h.magic, RF_MAGIC, 8);
    h.count = count;
    h.index_offset = RF_HEADER_SIZE;
    h.data_offset = data_offset;
    h.file_size = end;
    static const unsigned char zeros[RF_ALIGN];
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = fd < 0 ? -1 : 0;
    if (!rc)
        rc = write_all(fd, &h, sizeof h);
    if (!rc)
        rc = write_all(fd, index, count * sizeof *index);
    uint64_t pos = RF_HEADER_SIZE + count * RF_ENTRY_SIZE;
    const unsigned char *src = blob;
    for (uint64_t i = 0; i < count && !rc; i++) {
        rc = write_all(fd, zeros, index[i].offset - pos);
        if (!rc)
            rc = write_all(fd, src, lengths[i]);
        src += lengths[i];
        pos = index[i].offset + lengths[i];
    }
    if (!rc && !count)
        rc = write_all(fd, zeros, data_offset - pos);
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    free(index);
    return rc;
}

rf_reader_t *rf_open(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < RF_HEADER_SIZE) {
        close(fd);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    const unsigned char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return NULL;
    rf_header_t h;
    memcpy(&h, m, sizeof h);
    int ok = memcmp(h.magic, RF_MAGIC, 8) == 0 && h.file_size == len && h.index_offset >= RF_HEADER_SIZE &&
             h.index_offset % 8 == 0 && h.index_offset <= len &&
             h.count <= (len - h.index_offset) / RF_ENTRY_SIZE;
    const rf_entry_t *index = ok ? (const rf_entry_t *)(m + h.index_offset) : NULL;
    rf_reader_t *r = ok ? malloc(sizeof *r) : NULL;
    if (!r) {
        munmap((void *)m, len);
        return NULL;
    }
    r->map = m;
    r->len = len;
    r->count = h.count;
    r->index = index;
    return r;
}

uint64_t rf_count(const rf_reader_t *r) {
    return r->count;
}

const unsigned char *rf_get(const rf_reader_t *r, uint64_t i, uint64_t *length, int64_t *label) {
    if (i >= r->count)
        return NULL;
    if (length)
        *length = r->index[i].length;
    if (label)
        *label = r->index[i].label;
    return r->map + r->index[i].offset;
}

void rf_close(rf_reader_t *r) {
    if (!r)
        return;
    munmap((void *)r->map, r->len);
    free(r);
}
