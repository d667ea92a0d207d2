/* probe.c: the test's own measurements (instructor-owned). One region's life, measured from C so that
 * nothing else (Python's allocator) maps or faults in between: faults from getrusage, residency from
 * mincore, the address space's size from /proc/self/status (read with open/read: no stdio buffer). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include "region.h"

long probe_minflt(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_minflt;
}

/* pages of [p, p + bytes) resident in memory, or -1 if part of the range is not mapped */
static long resident(void *p, size_t bytes) {
    static unsigned char vec[1 << 16];
    size_t pages = (bytes + 4095) / 4096;
    if (pages > sizeof vec || mincore(p, bytes, vec) != 0)
        return -1;
    long n = 0;
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    return n;
}

static long vmsize_kb(void) {
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *v = strstr(buf, "VmSize:");
    long kb = -1;
    if (v)
        sscanf(v, "VmSize: %ld", &kb);
    return kb;
}

/* One region's life. out[0] address, out[1] VmSize growth at map (KiB), out[2] faults inside region_map,
 * out[3] resident pages after region_map, out[4] faults while touching every page (by the probe's own
 * stores, or by your touch_pages if use_touch), out[5] resident pages after that, out[6] touch_pages'
 * return value, out[7] region_unmap's return value, out[8] VmSize left over after unmap (KiB),
 * out[9] mincore of the range after unmap (-1: unmapped). Returns 0, or -1 if region_map gave NULL. */
int probe_cycle(size_t bytes, int flags, int use_touch, long *out) {
    long vm0 = vmsize_kb(), f0 = probe_minflt();
    char *p = region_map(bytes, flags);
    long f1 = probe_minflt(), vm1 = vmsize_kb();
    out[0] = (long)(uintptr_t)p;
    out[1] = vm1 - vm0;
    out[2] = f1 - f0;
    if (!p)
        return -1;
    out[3] = resident(p, bytes);
    long f2 = probe_minflt();
    if (use_touch) {
        out[6] = (long)touch_pages(p, bytes);
    } else {
        volatile char *c = (volatile char *)p;
        for (size_t i = 0; i < bytes; i += 4096)
            c[i] = 1; /* a store only: no load first */
        out[6] = -1;
    }
    out[4] = probe_minflt() - f2;
    out[5] = resident(p, bytes);
    out[7] = region_unmap(p, bytes);
    out[8] = vmsize_kb() - vm0;
    out[9] = resident(p, bytes);
    return 0;
}
