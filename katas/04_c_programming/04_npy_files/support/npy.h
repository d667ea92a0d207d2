/* npy.h: float32 .npy files through mmap (instructor-owned: do not edit). */
#ifndef NPY_H
#define NPY_H
#include <stddef.h>

#define NPY_MAX_DIMS 8

enum {
    NPY_OK = 0,
    NPY_ERR_IO = -1,         /* cannot open, size, map or write the file */
    NPY_ERR_MAGIC = -2,      /* not "\x93NUMPY", or a version other than 1.0, 2.0, 3.0 */
    NPY_ERR_HEADER = -3,     /* the header dict cannot be parsed (or more than NPY_MAX_DIMS axes) */
    NPY_ERR_DTYPE = -4,      /* descr is not '<f4' */
    NPY_ERR_TRUNCATED = -5,  /* the file is shorter than its header says, or than the data needs */
};

typedef struct {
    void *map;             /* the whole file, mapped read-only */
    size_t map_len;
    const float *data;     /* points INTO the map, at the first element: no copy */
    int ndim;
    long shape[NPY_MAX_DIMS];
    int fortran_order;     /* 1 if the data is stored column-major */
} npy_array_t;

int npy_save_f32(const char *path, const float *data, int ndim, const long *shape);
int npy_load_f32(const char *path, npy_array_t *out);
void npy_unload(npy_array_t *a);

#endif
