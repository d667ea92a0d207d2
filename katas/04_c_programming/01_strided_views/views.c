/* Strided views: indexing, transpose, slice and flip without copying, and a copy out to C order.
 * The README has the rules; views.h has view_t. */
#include <stddef.h>
#include "kata.h"
#include "views.h"

/* The address of v[index[0], ..., index[ndim-1]]. */
float *view_at(const view_t *v, const long *index) {
    KATA_TODO();
    return NULL;
}

/* out = v with its axes permuted: out axis k is v's axis perm[k]. Returns 0, or -1 if perm is not a
 * permutation of 0..ndim-1 (then *out is left alone). */
int view_transpose(const view_t *v, const int *perm, view_t *out) {
    KATA_TODO();
    return -1;
}

/* out = v[..., start:stop:step, ...] along `axis` (0 <= start, step >= 1; stop is clamped to the
 * axis's extent). Returns 0, or -1 for a bad axis, start < 0 or step < 1. */
int view_slice(const view_t *v, int axis, long start, long stop, long step, view_t *out) {
    KATA_TODO();
    return -1;
}

/* out = v reversed along `axis` (numpy's np.flip). Returns 0, or -1 for a bad axis. */
int view_flip(const view_t *v, int axis, view_t *out) {
    KATA_TODO();
    return -1;
}

/* Copy the elements of v, in C (row-major) order, to the contiguous dst. */
void view_copy(const view_t *v, float *dst) {
    KATA_TODO();
}
