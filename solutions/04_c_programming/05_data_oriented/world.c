/* Reference: structure of arrays for the hot fields, one array per field, and the whole particle_t
 * kept aside as the cold part (its hot fields there go stale; world_get patches them back in).
 * world_step then streams through six dense float arrays (24 bytes per particle instead of 96), and
 * world_kinetic_energy through four (16 bytes). One allocation holds all the hot arrays. */
#include <stdlib.h>
#include <string.h>
#include "kata.h"
#include "particles.h"

struct world {
    size_t n;
    float *x, *y, *z, *vx, *vy, *vz, *mass;  /* hot: 7 arrays of n floats, in one block */
    particle_t *cold;                          /* everything, for world_get */
};

world_t *world_create(const particle_t *init, size_t n) {
    world_t *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    float *hot = malloc(7 * (n ? n : 1) * sizeof(float));
    w->cold = malloc((n ? n : 1) * sizeof(particle_t));
    if (!hot || !w->cold) {
        free(hot);
        free(w->cold);
        free(w);
        return NULL;
    }
    w->n = n;
    float **fields[7] = {&w->x, &w->y, &w->z, &w->vx, &w->vy, &w->vz, &w->mass};
    for (int f = 0; f < 7; f++)
        *fields[f] = hot + (size_t)f * n;
    memcpy(w->cold, init, n * sizeof(particle_t));
    for (size_t i = 0; i < n; i++) {
        w->x[i] = init[i].x;
        w->y[i] = init[i].y;
        w->z[i] = init[i].z;
        w->vx[i] = init[i].vx;
        w->vy[i] = init[i].vy;
        w->vz[i] = init[i].vz;
        w->mass[i] = init[i].mass;
    }
    return w;
}

void world_step(world_t *w, float dt) {
    float *restrict x = w->x, *restrict y = w->y, *restrict z = w->z;
    const float *restrict vx = w->vx, *restrict vy = w->vy, *restrict vz = w->vz;
    for (size_t i = 0; i < w->n; i++) {
        x[i] += vx[i] * dt;
        y[i] += vy[i] * dt;
        z[i] += vz[i] * dt;
    }
}

double world_kinetic_energy(const world_t *w) {
    double e = 0.0;
    for (size_t i = 0; i < w->n; i++) {
        double v2 = (double)w->vx[i] * w->vx[i] + (double)w->vy[i] * w->vy[i] + (double)w->vz[i] * w->vz[i];
        e += 0.5 * w->mass[i] * v2;
    }
    return e;
}

void world_get(const world_t *w, size_t i, particle_t *out) {
    *out = w->cold[i];
    out->x = w->x[i];
    out->y = w->y[i];
    out->z = w->z[i];
    out->vx = w->vx[i];
    out->vy = w->vy[i];
    out->vz = w->vz[i];
    out->mass = w->mass[i];
}

void world_destroy(world_t *w) {
    if (!w)
        return;
    free(w->x);
    free(w->cold);
    free(w);
}
