/* dma.h: a simulated DMA engine and its descriptor ring (instructor-owned: do not edit). The rules are in
 * the README. */
#ifndef DMA_H
#define DMA_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define DMA_RING 16         /* descriptors in the ring */
#define DMA_MAX_LEN 1024    /* bytes one descriptor may move, at most */
#define DMA_STAGE 4096      /* bytes in each of the two staging buffers */

enum { DESC_FREE = 0, DESC_READY = 1, DESC_DONE = 2 };

typedef struct {
    uint64_t src;                /* an address inside one staging buffer */
    uint64_t dst;                /* where the device writes */
    uint32_t len;                /* 1 .. DMA_MAX_LEN, and src + len inside the same staging buffer */
    _Atomic uint32_t status;     /* FREE or DONE: the driver's; READY: the device's until it stores DONE */
} dma_desc_t;

typedef struct dma_dev dma_dev_t;

dma_desc_t *dma_ring(dma_dev_t *d);       /* DMA_RING descriptors; the device takes them in ring order from 0 */
uint8_t *dma_staging(dma_dev_t *d, int k); /* staging buffer k (0 or 1): the only memory the device reads */

typedef struct {
    const uint8_t *addr;
    size_t len;
} sg_entry_t;

/* yours */
long dma_gather(dma_dev_t *d, const sg_entry_t *sg, int nseg, uint8_t *dst, size_t cap);

#endif
