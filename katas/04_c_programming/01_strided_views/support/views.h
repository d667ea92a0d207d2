/* views.h: an N-dimensional view of float data, numpy style (instructor-owned: do not edit). */
#ifndef VIEWS_H
#define VIEWS_H

#define VIEW_MAX_DIMS 8

typedef struct {
    float *data;                  /* address of element (0, 0, ..., 0) */
    int ndim;                     /* 0 .. VIEW_MAX_DIMS */
    long shape[VIEW_MAX_DIMS];    /* extent of each axis (>= 0) */
    long strides[VIEW_MAX_DIMS];  /* step of each axis, in ELEMENTS (not bytes); may be 0 or negative */
} view_t;

float *view_at(const view_t *v, const long *index);
int view_transpose(const view_t *v, const int *perm, view_t *out);
int view_slice(const view_t *v, int axis, long start, long stop, long step, view_t *out);
int view_flip(const view_t *v, int axis, view_t *out);
void view_copy(const view_t *v, float *dst);

#endif
