/* alloc_count.c: count the learner's allocations, mappings and open files, for leak checks.
 *
 * Linked into a learner library with -Wl,--wrap=malloc,... (see native/sanitize.py): every call the
 * learner's objects make to malloc, calloc, realloc, aligned_alloc, posix_memalign, free, mmap,
 * munmap, open, close, fopen and fclose lands here first, is recorded, and is passed on. Python's own
 * allocations never pass through (only the objects linked with --wrap are redirected), so the counts
 * are the learner's alone. Each live block remembers the return address of its allocating call, so
 * a leak can be named by file and line (addr2line on the library).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
void *__real_aligned_alloc(size_t, size_t);
int __real_posix_memalign(void **, size_t, size_t);
void __real_free(void *);
void *__real_mmap(void *, size_t, int, int, int, off_t);
int __real_munmap(void *, size_t);
int __real_open(const char *, int, ...);
int __real_close(int);
FILE *__real_fopen(const char *, const char *);
int __real_fclose(FILE *);

/* kinds of resource */
enum { K_HEAP = 0, K_MAP = 1, K_FD = 2, K_FILE = 3 };

#define SLOTS 16384 /* open addressing; more live things than this are counted but not located */

typedef struct {
    uintptr_t key;   /* pointer, or fd + 1 */
    long size;
    uintptr_t site;  /* return address of the allocating call */
    int kind;        /* -1: empty, -2: deleted */
} slot_t;

static slot_t table[SLOTS];
static int table_ready;
static long counts[8]; /* 0 allocs, 1 frees, 2 maps, 3 unmaps, 4 opens, 5 closes, 6 untracked frees, 7 overflow */
static long live_bytes, peak_bytes;

static void ready(void) {
    if (!table_ready) {
        for (int i = 0; i < SLOTS; i++) table[i].kind = -1;
        table_ready = 1;
    }
}

static unsigned long hash(uintptr_t k, int kind) { return (unsigned long)((k * 0x9E3779B97F4A7C15ull) >> 40) ^ (unsigned long)kind; }

static void put(int kind, uintptr_t key, long size, uintptr_t site) {
    ready();
    unsigned long h = hash(key, kind);
    for (int i = 0; i < SLOTS; i++) {
        slot_t *s = &table[(h + i) % SLOTS];
        if (s->kind < 0) {
            s->key = key; s->size = size; s->site = site; s->kind = kind;
            return;
        }
    }
    counts[7]++;
}

/* Remove and return the size, or -1 if the key was not live. */
static long take(int kind, uintptr_t key) {
    ready();
    unsigned long h = hash(key, kind);
    for (int i = 0; i < SLOTS; i++) {
        slot_t *s = &table[(h + i) % SLOTS];
        if (s->kind == -1) return -1;
        if (s->kind == kind && s->key == key) {
            s->kind = -2;
            return s->size;
        }
    }
    return -1;
}

void kata_count_alloc(void *p, size_t n, void *site) {
    if (!p) return;
    counts[0]++;
    live_bytes += (long)n;
    if (live_bytes > peak_bytes) peak_bytes = live_bytes;
    put(K_HEAP, (uintptr_t)p, (long)n, (uintptr_t)site);
}

void kata_count_free(void *p) {
    if (!p) return;
    long n = take(K_HEAP, (uintptr_t)p);
    if (n < 0) {
        counts[6]++;
        return;
    }
    counts[1]++;
    live_bytes -= n;
}

#define SITE __builtin_return_address(0)

void *__wrap_malloc(size_t n) {
    void *p = __real_malloc(n);
    kata_count_alloc(p, n, SITE);
    return p;
}

void *__wrap_calloc(size_t a, size_t b) {
    void *p = __real_calloc(a, b);
    kata_count_alloc(p, a * b, SITE);
    return p;
}

void *__wrap_realloc(void *old, size_t n) {
    void *p = __real_realloc(old, n);
    if (p || n == 0) {
        kata_count_free(old);
        kata_count_alloc(p, n, SITE);
    }
    return p;
}

void *__wrap_aligned_alloc(size_t a, size_t n) {
    void *p = __real_aligned_alloc(a, n);
    kata_count_alloc(p, n, SITE);
    return p;
}

int __wrap_posix_memalign(void **out, size_t a, size_t n) {
    int r = __real_posix_memalign(out, a, n);
    if (r == 0) kata_count_alloc(*out, n, SITE);
    return r;
}

void __wrap_free(void *p) {
    kata_count_free(p);
    __real_free(p);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    void *p = __real_mmap(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED) {
        counts[2]++;
        put(K_MAP, (uintptr_t)p, (long)len, (uintptr_t)SITE);
    }
    return p;
}

int __wrap_munmap(void *p, size_t len) {
    int r = __real_munmap(p, len);
    if (r == 0 && take(K_MAP, (uintptr_t)p) >= 0) counts[3]++;
    return r;
}

int __wrap_open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    int fd = __real_open(path, flags, mode);
    if (fd >= 0) {
        counts[4]++;
        put(K_FD, (uintptr_t)fd + 1, 0, (uintptr_t)SITE);
    }
    return fd;
}

int __wrap_close(int fd) {
    if (take(K_FD, (uintptr_t)fd + 1) >= 0) counts[5]++;
    return __real_close(fd);
}

FILE *__wrap_fopen(const char *path, const char *mode) {
    FILE *f = __real_fopen(path, mode);
    if (f) {
        counts[4]++;
        put(K_FILE, (uintptr_t)f, 0, (uintptr_t)SITE);
    }
    return f;
}

int __wrap_fclose(FILE *f) {
    if (f && take(K_FILE, (uintptr_t)f) >= 0) counts[5]++;
    return __real_fclose(f);
}

/* ---- what Python asks ---- */

/* out[0..9]: allocs, frees, maps, unmaps, opens, closes, untracked frees, overflow, live bytes, peak bytes */
void kata_alloc_counts(long *out) {
    for (int i = 0; i < 8; i++) out[i] = counts[i];
    out[8] = live_bytes;
    out[9] = peak_bytes;
}

void kata_alloc_reset(void) {
    for (int i = 0; i < 8; i++) counts[i] = 0;
    live_bytes = peak_bytes = 0;
    for (int i = 0; i < SLOTS; i++) table[i].kind = -1;
    table_ready = 1;
}

/* The live things: kind, size and site (as an offset into this library) of up to max of them. */
long kata_alloc_live(int *kinds, long *sizes, long *sites, long max) {
    Dl_info info;
    uintptr_t base = 0;
    if (dladdr((void *)&kata_alloc_live, &info) && info.dli_fbase) base = (uintptr_t)info.dli_fbase;
    long n = 0;
    for (int i = 0; i < SLOTS && n < max; i++) {
        if (table[i].kind < 0) continue;
        kinds[n] = table[i].kind;
        sizes[n] = table[i].size;
        sites[n] = (long)(table[i].site - base);
        n++;
    }
    return n;
}
