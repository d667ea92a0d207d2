/* A scatter-gather copy driven by a DMA descriptor ring, with double buffering. The device and its rules
 * are in support/dma.h and the README. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include "kata.h"
#include "dma.h"

/* Copy the segments sg[0..nseg) back to back into dst (cap bytes) through the device: stage the bytes in
 * the two staging buffers, post descriptors, and return only when the device has completed every one.
 * Return the number of bytes copied, or -1 (posting nothing) if nseg < 0, a segment has a NULL address
 * and a non-zero length, dst is NULL with bytes to copy, or the total exceeds cap. */
long dma_gather(dma_dev_t *d, const sg_entry_t *sg, int nseg, uint8_t *dst, size_t cap) {
    KATA_TODO();
    return -1;
}
