/* sys_count.c: count the learner's I/O system calls, deterministically (strace is not needed).
 *
 * Linked into a learner library next to native/sanitize/alloc_count.c with -Wl,--wrap=read,... (see
 * native/oskit.py): every read, pread, write, pwrite, lseek, fread, fgetc, getc, fgets and getline call
 * the learner's objects make lands here first, is counted, and is passed on. Only the learner's objects
 * are redirected, so Python's own I/O is never counted.
 *
 * kata_sys_read_limit(n) makes every read()/pread() return at most n bytes (0: no limit), the short
 * reads a pipe, a socket or a signal hands a real program: code that assumes read() fills its buffer
 * shows its mistake at once.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

ssize_t __real_read(int, void *, size_t);
ssize_t __real_pread(int, void *, size_t, off_t);
ssize_t __real_write(int, const void *, size_t);
ssize_t __real_pwrite(int, const void *, size_t, off_t);
off_t __real_lseek(int, off_t, int);
size_t __real_fread(void *, size_t, size_t, FILE *);
int __real_fgetc(FILE *);
int __real_getc(FILE *);
char *__real_fgets(char *, int, FILE *);
ssize_t __real_getline(char **, size_t *, FILE *);

enum { S_READ, S_PREAD, S_WRITE, S_PWRITE, S_LSEEK, S_STDIO, S_READ_BYTES, S_NCOUNTS };
static long sys_counts[S_NCOUNTS];
static long read_limit;

static size_t cap(size_t n) { return (read_limit > 0 && n > (size_t)read_limit) ? (size_t)read_limit : n; }

ssize_t __wrap_read(int fd, void *buf, size_t n) {
    sys_counts[S_READ]++;
    ssize_t r = __real_read(fd, buf, cap(n));
    if (r > 0) sys_counts[S_READ_BYTES] += r;
    return r;
}

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t off) {
    sys_counts[S_PREAD]++;
    ssize_t r = __real_pread(fd, buf, cap(n), off);
    if (r > 0) sys_counts[S_READ_BYTES] += r;
    return r;
}

ssize_t __wrap_write(int fd, const void *buf, size_t n) { sys_counts[S_WRITE]++; return __real_write(fd, buf, n); }
ssize_t __wrap_pwrite(int fd, const void *buf, size_t n, off_t off) {
    sys_counts[S_PWRITE]++;
    return __real_pwrite(fd, buf, n, off);
}
off_t __wrap_lseek(int fd, off_t off, int whence) { sys_counts[S_LSEEK]++; return __real_lseek(fd, off, whence); }
size_t __wrap_fread(void *p, size_t a, size_t b, FILE *f) { sys_counts[S_STDIO]++; return __real_fread(p, a, b, f); }
int __wrap_fgetc(FILE *f) { sys_counts[S_STDIO]++; return __real_fgetc(f); }
int __wrap_getc(FILE *f) { sys_counts[S_STDIO]++; return __real_getc(f); }
char *__wrap_fgets(char *s, int n, FILE *f) { sys_counts[S_STDIO]++; return __real_fgets(s, n, f); }
ssize_t __wrap_getline(char **l, size_t *n, FILE *f) { sys_counts[S_STDIO]++; return __real_getline(l, n, f); }

/* ---- what Python asks ---- */
void kata_sys_counts(long *out) {
    for (int i = 0; i < S_NCOUNTS; i++) out[i] = sys_counts[i];
}
void kata_sys_reset(void) {
    for (int i = 0; i < S_NCOUNTS; i++) sys_counts[i] = 0;
}
void kata_sys_read_limit(long n) { read_limit = n; }
