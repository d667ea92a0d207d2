/* Wrong control: aos_to_soa swaps vy and vz (reads fields in the wrong order). */
#include "kata.h"
#include "particles.h"

void aos_to_soa(const Particle *p, long n, float *x, float *y, float *z, float *vx, float *vy, float *vz) {
    for (long i = 0; i < n; i++) {
        x[i] = p[i].x;
        y[i] = p[i].y;
        z[i] = p[i].z;
        vx[i] = p[i].vx;
        vy[i] = p[i].vz;
        vz[i] = p[i].vy;
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
