/* Naive: read() the whole file into a malloc'd buffer at open, then serve records from the copy.
 * Correct, but every byte is copied through the kernel up front, the whole file lives on the heap, and a
 * 100 GB dataset would not fit: the gate wants one mapping and no read() at all. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kata.h"
#include "mrec.h"

struct mr_file {
    unsigned char *data;
    uint32_t record_size;
    uint64_t count;
};

mr_file_t *mr_open(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < MR_HEADER_SIZE) {
        close(fd);
        return NULL;
    }
    size_t len = (size_t)st.st_size, got = 0;
    unsigned char *data = malloc(len);
    while (data && got < len) {
        ssize_t k = read(fd, data + got, len - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    mr_header_t h;
    if (!data || got < len)
        goto bad;
    memcpy(&h, data, sizeof h);
    uint64_t body = len - MR_HEADER_SIZE;
    if (memcmp(h.magic, MR_MAGIC, 4) != 0 || h.record_size == 0 || body % h.record_size != 0 ||
        body / h.record_size != h.count)
        goto bad;
    mr_file_t *f = malloc(sizeof *f);
    if (!f)
        goto bad;
    f->data = data;
    f->record_size = h.record_size;
    f->count = h.count;
    return f;
bad:
    free(data);
    return NULL;
}

uint64_t mr_count(const mr_file_t *f) { return f->count; }

uint32_t mr_record_size(const mr_file_t *f) { return f->record_size; }

const void *mr_record(const mr_file_t *f, uint64_t i) {
    return i < f->count ? f->data + MR_HEADER_SIZE + i * f->record_size : NULL;
}

int mr_gather(const mr_file_t *f, const uint64_t *idx, uint64_t n, void *out) {
    for (uint64_t k = 0; k < n; k++)
        if (idx[k] >= f->count)
            return -1;
    for (uint64_t k = 0; k < n; k++)
        memcpy((unsigned char *)out + k * f->record_size, f->data + MR_HEADER_SIZE + idx[k] * f->record_size,
               f->record_size);
    return 0;
}

void mr_close(mr_file_t *f) {
    if (!f)
        return;
    free(f->data);
    free(f);
}
