/* Reference. Writing: build the header in a small buffer, pad it with spaces and a final '\n' so that
 * magic + version + length + header is a multiple of 64, size the file with ftruncate, map it shared
 * and writable, copy header and data in, unmap, close.
 * Reading: map the whole file read-only, check magic and version, read the little-endian header length
 * (2 bytes in version 1, 4 in versions 2 and 3), copy the header out into a NUL-terminated string (the
 * mapping has no NUL at the end: strstr on it could run off the end of the file), parse the three keys
 * in whatever order they come, and check the file is long enough for the data. Every error path undoes
 * what was done before it. */
#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kata.h"
#include "npy.h"

static const char MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

int npy_save_f32(const char *path, const float *data, int ndim, const long *shape) {
    char dict[512];
    int len = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    size_t count = 1;
    for (int k = 0; k < ndim; k++) {
        len += snprintf(dict + len, sizeof dict - len, "%ld,%s", shape[k], k + 1 < ndim ? " " : "");
        count *= (size_t)shape[k];
    }
    len += snprintf(dict + len, sizeof dict - len, "), }");
    size_t header = 10 + (size_t)len + 1;      /* magic, version, length, dict, '\n' */
    size_t padded = (header + 63) / 64 * 64;
    size_t hlen = padded - 10;
    if (hlen > 65535)
        return NPY_ERR_IO;
    size_t total = padded + count * sizeof(float);

    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return NPY_ERR_IO;
    if (ftruncate(fd, (off_t)total) != 0) {
        close(fd);
        return NPY_ERR_IO;
    }
    unsigned char *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        close(fd);
        return NPY_ERR_IO;
    }
    memcpy(m, MAGIC, 6);
    m[6] = 1;
    m[7] = 0;
    m[8] = (unsigned char)(hlen & 0xff);
    m[9] = (unsigned char)(hlen >> 8);
    memcpy(m + 10, dict, (size_t)len);
    memset(m + 10 + len, ' ', hlen - (size_t)len - 1);
    m[padded - 1] = '\n';
    if (count)
        memcpy(m + padded, data, count * sizeof(float));
    int rc = munmap(m, total);
    if (close(fd) != 0 || rc != 0)
        return NPY_ERR_IO;
    return NPY_OK;
}

/* The value after 'key': in the header, or NULL. */
static const char *value_of(const char *h, const char *key) {
    const char *p = strstr(h, key);
    if (!p)
        return NULL;
    p += strlen(key);
    while (isspace((unsigned char)*p))
        p++;
    if (*p != ':')
        return NULL;
    p++;
    while (isspace((unsigned char)*p))
        p++;
    return p;
}

static int parse(const char *h, npy_array_t *out) {
    const char *d = value_of(h, "'descr'");
    const char *f = value_of(h, "'fortran_order'");
    const char *s = value_of(h, "'shape'");
    if (!d || !f || !s || (*d != '\'' && *d != '"'))
        return NPY_ERR_HEADER;
    char q = *d++;
    const char *end = strchr(d, q);
    if (!end)
        return NPY_ERR_HEADER;
    if (end - d != 3 || strncmp(d, "<f4", 3) != 0)
        return NPY_ERR_DTYPE;
    if (!strncmp(f, "True", 4))
        out->fortran_order = 1;
    else if (!strncmp(f, "False", 5))
        out->fortran_order = 0;
    else
        return NPY_ERR_HEADER;
    if (*s != '(')
        return NPY_ERR_HEADER;
    s++;
    out->ndim = 0;
    for (;;) {
        while (isspace((unsigned char)*s))
            s++;
        if (*s == ')')
            break;
        if (!isdigit((unsigned char)*s) || out->ndim == NPY_MAX_DIMS)
            return NPY_ERR_HEADER;
        char *after;
        out->shape[out->ndim++] = strtol(s, &after, 10);
        s = after;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == ',')
            s++;
        else if (*s != ')')
            return NPY_ERR_HEADER;
    }
    return NPY_OK;
}

int npy_load_f32(const char *path, npy_array_t *out) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return NPY_ERR_IO;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size == 0) {
        close(fd);
        return st.st_size == 0 ? NPY_ERR_MAGIC : NPY_ERR_IO;
    }
    size_t len = (size_t)st.st_size;
    unsigned char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd); /* the mapping keeps the file alive */
    if (m == MAP_FAILED)
        return NPY_ERR_IO;
    int rc = NPY_OK;
    size_t hstart = 0, hlen = 0;
    if (len < 10 || memcmp(m, MAGIC, 6) != 0 || m[6] < 1 || m[6] > 3 || m[7] != 0) {
        rc = NPY_ERR_MAGIC;
    } else if (m[6] == 1) {
        hstart = 10;
        hlen = (size_t)m[8] | (size_t)m[9] << 8;
    } else if (len < 12) {
        rc = NPY_ERR_TRUNCATED;
    } else {
        hstart = 12;
        hlen = (size_t)m[8] | (size_t)m[9] << 8 | (size_t)m[10] << 16 | (size_t)m[11] << 24;
    }
    npy_array_t r = {0};
    if (rc == NPY_OK && hlen > len - hstart)
        rc = NPY_ERR_TRUNCATED;
    if (rc == NPY_OK) {
        char *h = malloc(hlen + 1);
        if (!h) {
            rc = NPY_ERR_IO;
        } else {
            memcpy(h, m + hstart, hlen);
            h[hlen] = 0;
            rc = parse(h, &r);
            free(h);
        }
    }
    if (rc == NPY_OK) {
        size_t count = 1;
        for (int k = 0; k < r.ndim; k++)
            count *= (size_t)r.shape[k];
        size_t need = hstart + hlen + count * sizeof(float);
        if (need > len)
            rc = NPY_ERR_TRUNCATED;
    }
    if (rc != NPY_OK) {
        munmap(m, len);
        return rc;
    }
    r.map = m;
    r.map_len = len;
    r.data = (const float *)(m + hstart + hlen);
    *out = r;
    return NPY_OK;
}

void npy_unload(npy_array_t *a) {
    if (a->map)
        munmap(a->map, a->map_len);
    a->map = NULL;
    a->data = NULL;
    a->map_len = 0;
}
