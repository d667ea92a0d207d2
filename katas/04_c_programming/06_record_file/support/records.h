/* records.h: an FFCV-style record file (instructor-owned: do not edit). The layout is in the README. */
#ifndef RECORDS_H
#define RECORDS_H
#include <stddef.h>
#include <stdint.h>

#define RF_MAGIC "KREC0001"     /* 8 bytes, no terminating 0 in the file */
#define RF_HEADER_SIZE 64
#define RF_ENTRY_SIZE 24
#define RF_ALIGN 64

typedef struct {                /* the header, at offset 0 (little-endian) */
    char magic[8];
    uint64_t count;             /* number of records */
    uint64_t index_offset;      /* where the index starts */
    uint64_t data_offset;       /* where the data region starts */
    uint64_t file_size;         /* the size of the whole file */
    uint8_t reserved[24];       /* zero */
} rf_header_t;

typedef struct {                /* one index entry per record */
    uint64_t offset;            /* where the record's bytes start (from the start of the file) */
    uint64_t length;            /* how many bytes */
    int64_t label;
} rf_entry_t;

typedef struct rf_reader rf_reader_t;  /* yours */

int rf_write(const char *path, const unsigned char *blob, const uint64_t *lengths, const int64_t *labels,
             uint64_t count);
rf_reader_t *rf_open(const char *path);
uint64_t rf_count(const rf_reader_t *r);
const unsigned char *rf_get(const rf_reader_t *r, uint64_t i, uint64_t *length, int64_t *label);
void rf_close(rf_reader_t *r);

#endif
