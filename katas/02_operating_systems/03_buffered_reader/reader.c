/* A buffered line reader on top of read(): one system call fills a buffer, many lines come out of it.
 * The contract is in the README. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kata.h"

typedef struct br {
    /* yours: the descriptor, the buffer, where the unread bytes start and end, EOF seen ... */
    int unused;
} br_t;

/* Open `path` for reading with a buffer of `bufsize` bytes. NULL if the file cannot be opened or
 * bufsize is 0 (nothing left open or allocated then). */
br_t *br_open(const char *path, size_t bufsize) {
    KATA_TODO();
    return NULL;
}

/* The next line, fgets-style: copy bytes up to and including the next '\n', but at most cap - 1 of them,
 * into dst, and end them with a 0 byte. Return how many bytes were copied (not counting the 0); 0 at the
 * end of the file; -1 if cap < 2 or read() fails. */
long br_readline(br_t *b, char *dst, size_t cap) {
    KATA_TODO();
    return -1;
}

void br_close(br_t *b) {
    KATA_TODO();
}
