/* Reference. Prefault with MAP_POPULATE (the kernel fills the page table while mapping: the faults happen
 * in region_map, none later). Huge pages: map 2 MiB more than asked, keep the 2 MiB-aligned part, unmap the
 * head and tail, and madvise(MADV_HUGEPAGE): one fault then brings in 2 MiB. Everything else is advised
 * MADV_NOHUGEPAGE so that a 4 KiB page is a 4 KiB fault. */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include "kata.h"
#include "region.h"

long minor_faults(void) {
    struct rusage r;
    if (getrusage(RUSAGE_SELF, &r) != 0)
        return -1;
    return r.ru_minflt;
}

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

static void prefault(char *p, size_t len) {
    if (madvise(p, len, MADV_POPULATE_WRITE) == 0)
        return;
    for (size_t i = 0; i < len; i += page_size()) /* kernels before 5.14: a store per page */
        ((volatile char *)p)[i] = 0;
}

void *region_map(size_t bytes, int flags) {
    if (bytes == 0 || bytes > SIZE_MAX / 2)
        return NULL;
    int prot = PROT_READ | PROT_WRITE, mf = MAP_PRIVATE | MAP_ANONYMOUS;
    size_t len = round_up(bytes, page_size());
    char *p;
    if (!(flags & REGION_HUGE)) {
        p = mmap(NULL, len, prot, mf, -1, 0);
        if (p == MAP_FAILED)
            return NULL;
        madvise(p, len, MADV_NOHUGEPAGE);
    } else {
        char *raw = mmap(NULL, len + HUGE_PAGE, prot, mf, -1, 0);
        if (raw == MAP_FAILED)
            return NULL;
        p = (char *)round_up((uintptr_t)raw, HUGE_PAGE);
        if (p > raw)
            munmap(raw, (size_t)(p - raw));                    /* the head before the 2 MiB boundary */
        munmap(p + len, (size_t)(raw + len + HUGE_PAGE - (p + len))); /* the tail past the region */
        madvise(p, len, MADV_HUGEPAGE);
    }
    if (flags & REGION_PREFAULT)
        prefault(p, len);
    return p;
}

int region_unmap(void *p, size_t bytes) {
    if (!p || bytes == 0)
        return -1;
    return munmap(p, round_up(bytes, page_size())) == 0 ? 0 : -1;
}

size_t touch_pages(void *p, size_t bytes) {
    volatile char *c = p;
    size_t ps = page_size(), n = 0;
    for (size_t i = 0; i < bytes; i += ps, n++)
        c[i] = 0; /* a store only: a load first would map the shared zero page, then fault again to copy it */
    return n;
}
