/* Naive control: correct, but the update loop stays scalar at -O2: without `restrict` gcc must assume
 * x might overlap vx, and the loop would need a vector epilogue its cheap cost model refuses. */
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

void soa_advance(float *x, float *y, float *z, const float *vx, const float *vy, const float *vz, long n, float dt) {
    for (long i = 0; i < n; i++) {
        x[i] += vx[i] * dt;
        y[i] += vy[i] * dt;
        z[i] += vz[i] * dt;
    }
}
