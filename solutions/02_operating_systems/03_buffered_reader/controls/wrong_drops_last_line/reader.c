/* Wrong: at the end of the file, returns 0 even when it has bytes of a last line that has no newline: that line is lost. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kata.h"

typedef struct br {
    int fd;
    char *buf;
    size_t size, pos, end;
    int eof;
} br_t;

br_t *br_open(const char *path, size_t bufsize) {
    if (bufsize == 0)
        return NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    br_t *b = malloc(sizeof *b);
    char *buf = malloc(bufsize);
    if (!b || !buf) {
        free(b);
        free(buf);
        close(fd);
        return NULL;
    }
    *b = (br_t){.fd = fd, .buf = buf, .size = bufsize};
    return b;
}

/* 1: bytes available, 0: end of file, -1: error */
static int fill(br_t *b) {
    if (b->pos < b->end)
        return 1;
    if (b->eof)
        return 0;
    ssize_t k;
    do
        k = read(b->fd, b->buf, b->size);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return -1;
    if (k == 0) {
        b->eof = 1;
        return 0;
    }
    b->pos = 0;
    b->end = (size_t)k;
    return 1;
}

long br_readline(br_t *b, char *dst, size_t cap) {
    if (cap < 2)
        return -1;
    size_t n = 0;
    while (n < cap - 1) {
        int r = fill(b);
        if (r < 0)
            return -1;
        if (r == 0)
            return 0; /* the last line has no newline: dropped */
        size_t avail = b->end - b->pos, want = cap - 1 - n;
        size_t take = avail < want ? avail : want;
        const char *nl = memchr(b->buf + b->pos, '\n', take);
        if (nl)
            take = (size_t)(nl - (b->buf + b->pos)) + 1;
        memcpy(dst + n, b->buf + b->pos, take);
        b->pos += take;
        n += take;
        if (nl)
            break;
    }
    dst[n] = 0;
    return (long)n;
}

void br_close(br_t *b) {
    if (!b)
        return;
    close(b->fd);
    free(b->buf);
    free(b);
}
