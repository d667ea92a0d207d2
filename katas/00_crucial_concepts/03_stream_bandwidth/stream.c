/* The four STREAM kernels (McCalpin). See README.md. The arrays never overlap. */
#include "kata.h"

void stream_copy(const float *a, float *c, long n) {                 /* c = a          */
    KATA_TODO();
}

void stream_scale(const float *c, float *b, float s, long n) {       /* b = s * c      */
    KATA_TODO();
}

void stream_add(const float *a, const float *b, float *c, long n) {  /* c = a + b      */
    KATA_TODO();
}

void stream_triad(const float *b, const float *c, float *a, float s, long n) { /* a = b + s * c */
    KATA_TODO();
}
