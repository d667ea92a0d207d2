/* Wrong control: view_copy reads the memory after data linearly, right only for contiguous views. */
#include <stddef.h>
#include "kata.h"
#include "views.h"

float *view_at(const view_t *v, const long *index) {
    long off = 0;
    for (int k = 0; k < v->ndim; k++)
        off += index[k] * v->strides[k];
    return v->data + off;
}

int view_transpose(const view_t *v, const int *perm, view_t *out) {
    int seen[VIEW_MAX_DIMS] = {0};
    for (int k = 0; k < v->ndim; k++) {
        if (perm[k] < 0 || perm[k] >= v->ndim || seen[perm[k]])
            return -1;
        seen[perm[k]] = 1;
    }
    view_t r = *v;
    for (int k = 0; k < v->ndim; k++) {
        r.shape[k] = v->shape[perm[k]];
        r.strides[k] = v->strides[perm[k]];
    }
    *out = r;
    return 0;
}

int view_slice(const view_t *v, int axis, long start, long stop, long step, view_t *out) {
    if (axis < 0 || axis >= v->ndim || start < 0 || step < 1)
        return -1;
    long n = v->shape[axis];
    if (stop > n) stop = n;
    if (start > n) start = n;
    long len = stop > start ? (stop - start + step - 1) / step : 0;
    view_t r = *v;
    if (len > 0)
        r.data = v->data + start * v->strides[axis];
    r.shape[axis] = len;
    r.strides[axis] = v->strides[axis] * step;
    *out = r;
    return 0;
}

int view_flip(const view_t *v, int axis, view_t *out) {
    if (axis < 0 || axis >= v->ndim)
        return -1;
    view_t r = *v;
    if (v->shape[axis] > 0)
        r.data = v->data + (v->shape[axis] - 1) * v->strides[axis];
    r.strides[axis] = -v->strides[axis];
    *out = r;
    return 0;
}

void view_copy(const view_t *v, float *dst) {
    long total = 1;
    for (int k = 0; k < v->ndim; k++)
        total *= v->shape[k];
    for (long i = 0; i < total; i++)  /* as if the view were contiguous: ignores the strides */
        dst[i] = v->data[i];
}
