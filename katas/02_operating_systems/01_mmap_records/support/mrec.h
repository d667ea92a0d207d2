/* mrec.h: a file of fixed-size records (instructor-owned: do not edit). The layout is in the README. */
#ifndef MREC_H
#define MREC_H
#include <stddef.h>
#include <stdint.h>

#define MR_MAGIC "MREC"         /* 4 bytes, no terminating 0 in the file */
#define MR_HEADER_SIZE 16

typedef struct {                /* the header, at offset 0 (little-endian) */
    char magic[4];
    uint32_t record_size;       /* bytes per record, > 0 */
    uint64_t count;             /* number of records; they follow the header back to back */
} mr_header_t;

typedef struct mr_file mr_file_t;  /* yours */

mr_file_t *mr_open(const char *path);
uint64_t mr_count(const mr_file_t *f);
uint32_t mr_record_size(const mr_file_t *f);
const void *mr_record(const mr_file_t *f, uint64_t i);
int mr_gather(const mr_file_t *f, const uint64_t *idx, uint64_t n, void *out);
void mr_close(mr_file_t *f);

#endif
