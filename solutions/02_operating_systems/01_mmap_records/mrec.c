/* Reference. mr_open maps the whole file read-only once and closes the descriptor (the mapping stays
 * valid). It refuses, before mapping, anything shorter than a header (mmap of 0 bytes fails anyway), and
 * after reading the header anything whose records do not fill the rest of the file exactly, checked by
 * division so that a huge count cannot wrap around. Then a record is an address computation: no system
 * call, no copy. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kata.h"
#include "mrec.h"

struct mr_file {
    const unsigned char *map;
    size_t len;
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
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return NULL;
    mr_header_t h;
    memcpy(&h, map, sizeof h);
    uint64_t body = len - MR_HEADER_SIZE;
    if (memcmp(h.magic, MR_MAGIC, 4) != 0 || h.record_size == 0 || body % h.record_size != 0 ||
        body / h.record_size != h.count)
        goto bad;
    mr_file_t *f = malloc(sizeof *f);
    if (!f)
        goto bad;
    f->map = map;
    f->len = len;
    f->record_size = h.record_size;
    f->count = h.count;
    return f;
bad:
    munmap(map, len);
    return NULL;
}

uint64_t mr_count(const mr_file_t *f) { return f->count; }

uint32_t mr_record_size(const mr_file_t *f) { return f->record_size; }

const void *mr_record(const mr_file_t *f, uint64_t i) {
    if (i >= f->count)
        return NULL;
    return f->map + MR_HEADER_SIZE + i * f->record_size;
}

int mr_gather(const mr_file_t *f, const uint64_t *idx, uint64_t n, void *out) {
    for (uint64_t k = 0; k < n; k++)
        if (idx[k] >= f->count)
            return -1;
    unsigned char *o = out;
    for (uint64_t k = 0; k < n; k++, o += f->record_size)
        memcpy(o, f->map + MR_HEADER_SIZE + idx[k] * f->record_size, f->record_size);
    return 0;
}

void mr_close(mr_file_t *f) {
    if (!f)
        return;
    munmap((void *)f->map, f->len);
    free(f);
}
