/* memlib.h: the heap your allocator manages (instructor-owned: do not edit).
 * One contiguous region that grows at its end, like the classic brk/sbrk heap. */
#ifndef MEMLIB_H
#define MEMLIB_H
#include <stddef.h>
#include <stdint.h>

#define MM_ALIGN 16

/* Grow the heap by incr >= 0 bytes; return the old end of the heap (the start of the new bytes), or
 * (void *)-1 if incr < 0 or the heap would pass its maximum. The heap starts 16-byte aligned. */
void *mem_sbrk(intptr_t incr);
void *mem_heap_lo(void);     /* the first byte of the heap */
void *mem_heap_hi(void);     /* the last byte of the heap (lo - 1 while it is empty) */
size_t mem_heapsize(void);

/* Your allocator (mm.c) */
int mm_init(void);
void *mm_malloc(size_t size);
void mm_free(void *p);
void *mm_realloc(void *p, size_t size);

#endif
