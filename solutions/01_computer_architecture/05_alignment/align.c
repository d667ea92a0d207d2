/* Reference: alignment arithmetic, an aligned allocator on top of malloc, and C struct layout. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "kata.h"

size_t align_up(size_t x, size_t a) {
    return (x + a - 1) & ~(a - 1);
}

/* Over-allocate by alignment - 1 plus room for one pointer; round the address past that pointer up to
 * the alignment; hide malloc's own pointer just below the block for aligned_free to find. */
void *aligned_malloc(size_t size, size_t alignment) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0)
        return NULL;
    if (size > SIZE_MAX - alignment - sizeof(void *))
        return NULL;
    void *raw = malloc(size + alignment - 1 + sizeof(void *));
    if (!raw)
        return NULL;
    uintptr_t p = align_up((uintptr_t)raw + sizeof(void *), alignment);
    ((void **)p)[-1] = raw;
    return (void *)p;
}

void aligned_free(void *p) {
    if (p)
        free(((void **)p)[-1]);
}

/* Each field goes at the next offset that is a multiple of its alignment; the struct's alignment is the
 * largest field alignment, and its size is rounded up to it so that arrays of the struct stay aligned. */
void struct_layout(const int *sizes, const int *aligns, int n, int *offsets, int *total_size, int *struct_align) {
    size_t off = 0, max_align = 1;
    for (int i = 0; i < n; i++) {
        off = align_up(off, (size_t)aligns[i]);
        offsets[i] = (int)off;
        off += (size_t)sizes[i];
        if ((size_t)aligns[i] > max_align)
            max_align = (size_t)aligns[i];
    }
    *total_size = (int)align_up(off, max_align);
    *struct_align = (int)max_align;
}

/* Largest alignment first (stable): no field then needs padding before it, since every size is a
 * multiple of its own alignment, so only the tail padding remains, and it is the smallest possible. */
void best_order(const int *sizes, const int *aligns, int n, int *order) {
    (void)sizes;
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++) { /* insertion sort: stable */
        int v = order[i], j = i - 1;
        while (j >= 0 && aligns[order[j]] < aligns[v]) {
            order[j + 1] = order[j];
            j--;
        }
        order[j + 1] = v;
    }
}
