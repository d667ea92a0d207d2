/* memlib.c: the simulated heap (instructor-owned). The test calls mem_setup(max) before each trace. */
#include <stdlib.h>
#include <string.h>
#include "memlib.h"

static char *heap, *brk_;
static size_t max_;

int mem_setup(size_t max) {
    free(heap);
    heap = aligned_alloc(4096, (max + 4095) / 4096 * 4096);
    if (!heap)
        return -1;
    memset(heap, 0xCD, max); /* the heap starts full of garbage, as a reused one would */
    brk_ = heap;
    max_ = max;
    return 0;
}

void *mem_sbrk(intptr_t incr) {
    if (incr < 0 || (size_t)incr > max_ - (size_t)(brk_ - heap))
        return (void *)-1;
    char *old = brk_;
    brk_ += incr;
    return old;
}

void *mem_heap_lo(void) { return heap; }
void *mem_heap_hi(void) { return brk_ - 1; }
size_t mem_heapsize(void) { return (size_t)(brk_ - heap); }
