/* region.h: flags and prototypes for the page-fault kata (instructor-owned: do not edit). */
#ifndef REGION_H
#define REGION_H
#include <stddef.h>

#define REGION_PREFAULT 1   /* every page present (and writable without a fault) when region_map returns */
#define REGION_HUGE 2       /* backed by 2 MiB transparent huge pages where the kernel allows it */
#define HUGE_PAGE (2u << 20)

void *region_map(size_t bytes, int flags);
int region_unmap(void *p, size_t bytes);
size_t touch_pages(void *p, size_t bytes);
long minor_faults(void);

#endif
