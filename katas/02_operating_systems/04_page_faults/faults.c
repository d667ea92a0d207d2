/* Page faults: first touch, prefaulting, huge pages, and counting them. The contract is in the README;
 * the flags in support/region.h. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include "kata.h"
#include "region.h"

/* This process's minor page faults so far. */
long minor_faults(void) {
    KATA_TODO();
    return -1;
}

/* An anonymous, private, read-write region of `bytes` rounded up to whole pages (NULL if bytes == 0 or
 * the kernel refuses). REGION_PREFAULT: every page present and writable without a fault on return.
 * REGION_HUGE: 2 MiB-aligned and advised for transparent huge pages; without it, advised against them. */
void *region_map(size_t bytes, int flags) {
    KATA_TODO();
    return NULL;
}

/* Unmap what region_map(bytes, ...) returned. 0, or -1 on failure. */
int region_unmap(void *p, size_t bytes) {
    KATA_TODO();
    return -1;
}

/* Write one byte into every page of [p, p + bytes); return how many pages that is. */
size_t touch_pages(void *p, size_t bytes) {
    KATA_TODO();
    return 0;
}
