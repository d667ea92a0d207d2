/* Test-side helper (not yours): a buffer on 2 MiB pages where the kernel allows, so the TLB does not add
 * its own steps to the timing curve. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

uint8_t *alloc_huge(size_t bytes) {
    uint8_t *p = aligned_alloc(1 << 21, (bytes + (1 << 21) - 1) & ~(size_t)((1 << 21) - 1));
    if (p) {
        madvise(p, bytes, MADV_HUGEPAGE);
        memset(p, 1, bytes);
    }
    return p;
}

void free_huge(uint8_t *p) { free(p); }
