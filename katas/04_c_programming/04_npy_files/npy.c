/* .npy files, written and read through mmap. The README describes the format and the rules. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kata.h"
#include "npy.h"

/* Write data (C order, float32, shape[0..ndim-1]) as a version 1.0 .npy file: map the file and copy
 * the header and the data into the mapping. Return NPY_OK or NPY_ERR_IO. */
int npy_save_f32(const char *path, const float *data, int ndim, const long *shape) {
    KATA_TODO();
    return NPY_ERR_IO;
}

/* Map the file, check and parse its header, and fill *out (data pointing into the mapping).
 * On any error return the error code, with nothing left mapped or open. */
int npy_load_f32(const char *path, npy_array_t *out) {
    KATA_TODO();
    return NPY_ERR_IO;
}

/* Unmap; afterwards map and data are NULL. */
void npy_unload(npy_array_t *a) {
    KATA_TODO();
}
