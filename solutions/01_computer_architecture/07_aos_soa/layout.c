/* Reference: the conversion is a plain gather per field; the update promises no overlap with `restrict`
 * and runs its main loop over a multiple of 8, so gcc -O2 (whose cheap vectorizer wants neither a
 * run-time alias check nor a vector epilogue) emits vfmadd...ps on ymm registers. */
#include "kata.h"
#include "particles.h"

void aos_to_soa(const Particle *p, long n, float *x, float *y, float *z, float *vx, float *vy, float *vz) {
    for (long i = 0; i < n; i++) {
        x[i] = p[i].x;
        y[i] = p[i].y;
        z[i] = p[i].z;
        vx[i] = p[i].vx;
        vy[i] = p[i].vy;
        vz[i] = p[i].vz;
    }
}

void soa_advance(float *restrict x, float *restrict y, float *restrict z, const float *restrict vx,
                 const float *restrict vy, const float *restrict vz, long n, float dt) {
    long m = n & ~7L;
    for (long i = 0; i < m; i++) {
        x[i] += vx[i] * dt;
        y[i] += vy[i] * dt;
        z[i] += vz[i] * dt;
    }
    for (long i = m; i < n; i++) {
        x[i] += vx[i] * dt;
        y[i] += vy[i] * dt;
        z[i] += vz[i] * dt;
    }
}
