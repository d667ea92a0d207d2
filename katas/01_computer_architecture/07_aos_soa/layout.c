/* Array of structs to struct of arrays, and an update loop the compiler vectorizes. See README.md. */
#include "kata.h"
#include "particles.h"

/* Copy the position and velocity fields of p[0..n) into six separate arrays. */
void aos_to_soa(const Particle *p, long n, float *x, float *y, float *z, float *vx, float *vy, float *vz) {
    KATA_TODO();
}

/* x[i] += vx[i] * dt, and the same for y and z. The arrays never overlap. gcc -O2 must turn the loop
 * into AVX2 code (packed ymm instructions): the test reads the disassembly. */
void soa_advance(float *x, float *y, float *z, const float *vx, const float *vy, const float *vz, long n, float dt) {
    KATA_TODO();
}
