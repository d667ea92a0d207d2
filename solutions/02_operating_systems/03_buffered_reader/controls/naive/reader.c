/* Naive: no buffer at all, one read() system call per byte. Correct, and what a first version often
 * looks like (`while (read(fd, &c, 1) == 1)`): a 40 KB file costs 40,000 trips into the kernel. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include "kata.h"

typedef struct br {
    int fd;
} br_t;

br_t *br_open(const char *path, size_t bufsize) {
    if (bufsize == 0)
        return NULL;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NULL;
    br_t *b = malloc(sizeof *b);
    if (!b) {
        close(fd);
        return NULL;
    }
    b->fd = fd;
    return b;
}

long br_readline(br_t *b, char *dst, size_t cap) {
    if (cap < 2)
        return -1;
    size_t n = 0;
    while (n < cap - 1) {
        char c;
        ssize_t k = read(b->fd, &c, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        dst[n++] = c;
        if (c == '\n')
            break;
    }
    dst[n] = 0;
    return (long)n;
}

void br_close(br_t *b) {
    if (!b)
        return;
    close(b->fd);
    free(b);
}
