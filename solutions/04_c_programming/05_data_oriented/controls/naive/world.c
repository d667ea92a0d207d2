/* Naive control: the world is a copy of the particle_t array. Correct, but world_step reads and writes
 * the first 24 bytes of each 96-byte particle: every particle costs a whole cache line. */
#include <stdlib.h>
#include <string.h>
#include "kata.h"
#include "particles.h"

struct world {
    size_t n;
    particle_t *p;
};

world_t *world_create(const particle_t *init, size_t n) {
    world_t *w = malloc(sizeof *w);
    if (!w)
        return NULL;
    w->p = malloc((n ? n : 1) * sizeof(particle_t));
    if (!w->p) {
        free(w);
        return NULL;
    }
    w->n = n;
    memcpy(w->p, init, n * sizeof(particle_t));
    return w;
}

void world_step(world_t *w, float dt) {
    for (size_t i = 0; i < w->n; i++) {
        w->p[i].x += w->p[i].vx * dt;
        w->p[i].y += w->p[i].vy * dt;
        w->p[i].z += w->p[i].vz * dt;
    }
}

double world_kinetic_energy(const world_t *w) {
    double e = 0.0;
    for (size_t i = 0; i < w->n; i++) {
        const particle_t *q = &w->p[i];
        double v2 = (double)q->vx * q->vx + (double)q->vy * q->vy + (double)q->vz * q->vz;
        e += 0.5 * q->mass * v2;
    }
    return e;
}

void world_get(const world_t *w, size_t i, particle_t *out) {
    *out = w->p[i];
}

void world_destroy(world_t *w) {
    free(w->p);
    free(w);
}
