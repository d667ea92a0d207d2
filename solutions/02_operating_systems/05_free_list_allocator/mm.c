/* Reference: an implicit free list with boundary tags.
 *
 * Every block is [header 8 bytes | payload ... | footer 8 bytes], its size a multiple of 16 with the
 * allocated bit in bit 0 of the header and footer. The payload starts 16-aligned: the heap begins with 8
 * bytes of padding and a prologue, so headers sit at 8 mod 16. A zero-size allocated epilogue header ends
 * the heap. Best fit over all blocks (utilisation is what is graded, not speed); a fitting block is split
 * when the rest can hold a minimum block (32 bytes); free coalesces with both neighbours at once (the
 * footer of the block before says where it starts); the heap grows only by what the request lacks (a free
 * last block is extended rather than left behind). realloc shrinks in place, grows in place into a free
 * next block or at the end of the heap, and moves only when it must. Sizes are checked before rounding,
 * so that a request near SIZE_MAX cannot wrap around to a small block. */
#include <stdint.h>
#include <string.h>
#include "kata.h"
#include "memlib.h"

#define W 8
#define MIN_BLOCK 32
#define MAX_REQUEST ((size_t)1 << 40)

static char *heap_start; /* the prologue's payload */

static size_t get(const char *p) { return *(const size_t *)p; }
static void put(char *p, size_t v) { *(size_t *)p = v; }
static char *hdr(char *bp) { return bp - W; }
static size_t bsize(char *bp) { return get(hdr(bp)) & ~(size_t)15; }
static int used(char *bp) { return (int)(get(hdr(bp)) & 1); }
static char *ftr(char *bp) { return bp + bsize(bp) - 2 * W; }
static char *next(char *bp) { return bp + bsize(bp); }
static char *prev(char *bp) { return bp - (get(bp - 2 * W) & ~(size_t)15); }
static void mark(char *bp, size_t size, int alloc) {
    put(hdr(bp), size | (size_t)alloc);
    put(bp + size - 2 * W, size | (size_t)alloc);
}

static size_t block_for(size_t size) { /* payload + header + footer, rounded up to 16 */
    size_t b = (size + 2 * W + 15) & ~(size_t)15;
    return b < MIN_BLOCK ? MIN_BLOCK : b;
}

int mm_init(void) {
    char *p = mem_sbrk(4 * W);
    if (p == (void *)-1)
        return -1;
    put(p, 0);                 /* padding */
    put(p + W, 16 | 1);        /* prologue header */
    put(p + 2 * W, 16 | 1);    /* prologue footer */
    put(p + 3 * W, 0 | 1);     /* epilogue header */
    heap_start = p + 2 * W;
    return 0;
}

static char *coalesce(char *bp) {
    size_t size = bsize(bp);
    int pa = used(prev(bp)), na = used(next(bp));
    if (!na) {
        size += bsize(next(bp));
    }
    if (!pa) {
        bp = prev(bp);
        size += bsize(bp);
    }
    mark(bp, size, 0);
    return bp;
}

/* grow the heap by `bytes` (a multiple of 16) as one free block, merged with a free last block */
static char *extend(size_t bytes) {
    char *bp = mem_sbrk((intptr_t)bytes);
    if (bp == (void *)-1)
        return NULL;
    mark(bp, bytes, 0);              /* the old epilogue becomes this block's header */
    put(hdr(next(bp)), 0 | 1);       /* a new epilogue */
    return coalesce(bp);
}

static char *last_block(void) { /* the block just before the epilogue */
    char *end = (char *)mem_heap_hi() + 1; /* the epilogue header is at end - W */
    return prev(end);
}

static void place(char *bp, size_t need) {
    size_t size = bsize(bp);
    if (size - need >= MIN_BLOCK) {
        mark(bp, need, 1);
        mark(next(bp), size - need, 0);
    } else {
        mark(bp, size, 1);
    }
}

void *mm_malloc(size_t size) {
    if (size == 0 || size > MAX_REQUEST)
        return NULL;
    size_t need = block_for(size);
    char *best = NULL;
    for (char *bp = next(heap_start); bsize(bp) > 0; bp = next(bp))
        if (!used(bp) && bsize(bp) >= need && (!best || bsize(bp) < bsize(best))) {
            best = bp;
            if (bsize(bp) == need)
                break;
        }
    if (!best) {
        char *last = last_block();
        size_t have = (last != heap_start && !used(last)) ? bsize(last) : 0;
        best = extend(need - have);
        if (!best)
            return NULL;
    }
    place(best, need);
    return best;
}

void mm_free(void *p) {
    if (!p)
        return;
    char *bp = p;
    mark(bp, bsize(bp), 0);
    coalesce(bp);
}

void *mm_realloc(void *p, size_t size) {
    if (!p)
        return mm_malloc(size);
    if (size == 0) {
        mm_free(p);
        return NULL;
    }
    if (size > MAX_REQUEST)
        return NULL;
    char *bp = p;
    size_t need = block_for(size), have = bsize(bp);
    if (need <= have) { /* shrink in place, giving back the tail when it can hold a block */
        if (have - need >= MIN_BLOCK) {
            mark(bp, need, 1);
            mark(next(bp), have - need, 0);
            coalesce(next(bp));
        }
        return bp;
    }
    char *nx = next(bp);
    if (!used(nx) && have + bsize(nx) >= need) { /* grow into the free next block */
        size_t total = have + bsize(nx);
        mark(bp, total, 1);
        place(bp, need);
        return bp;
    }
    if (bsize(nx) == 0 || (!used(nx) && bsize(next(nx)) == 0)) { /* the last block: grow the heap under it */
        size_t more = need - have - (bsize(nx) ? bsize(nx) : 0);
        if (mem_sbrk((intptr_t)more) == (void *)-1)
            return NULL;
        mark(bp, need, 1);
        put(hdr(next(bp)), 0 | 1);
        return bp;
    }
    char *np = mm_malloc(size);
    if (!np)
        return NULL;
    memcpy(np, bp, have - 2 * W);
    mm_free(bp);
    return np;
}
