/* Two loops that gcc -O2 (-march=x86-64-v3) compiles to scalar code as they are usually written.
 * Rewrite each so that gcc vectorizes it (AVX2: ymm registers), without pragmas, attributes,
 * intrinsics or assembly: change the code, not the compiler. The README explains why gcc refuses. */
#include "kata.h"

/* y[i] += a * x[i] for i < n. x and y never overlap.
 * Usually written:  for (long i = 0; i < n; i++) y[i] += a * x[i];  */
void axpy(float *y, const float *x, float a, long n) {
    KATA_TODO();
}

/* x[0] + x[1] + ... + x[n-1], in any order (float rounding differences are fine).
 * Usually written:  float s = 0; for (long i = 0; i < n; i++) s += x[i]; return s;  */
float sum(const float *x, long n) {
    KATA_TODO();
    return 0.0f;
}
