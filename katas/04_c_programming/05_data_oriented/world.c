/* A particle world laid out for the loops that run over it. The README explains the task. */
#include <stdlib.h>
#include <string.h>
#include "kata.h"
#include "particles.h"

struct world {
    size_t n;
    /* your layout here */
};

/* Copy n particles into your layout (the caller keeps `init`). NULL if out of memory. */
world_t *world_create(const particle_t *init, size_t n) {
    KATA_TODO();
    return NULL;
}

/* For every particle: position += velocity * dt (float arithmetic, x, y and z). */
void world_step(world_t *w, float dt) {
    KATA_TODO();
}

/* The sum over particles of 0.5 * mass * (vx^2 + vy^2 + vz^2), accumulated in double. */
double world_kinetic_energy(const world_t *w) {
    KATA_TODO();
    return 0.0;
}

/* Particle i as a whole particle_t again, every field as it is now. */
void world_get(const world_t *w, size_t i, particle_t *out) {
    KATA_TODO();
}

/* Free everything world_create allocated. */
void world_destroy(world_t *w) {
    KATA_TODO();
}
