/* particles.h: the particle as the rest of the program knows it (instructor-owned: do not edit). */
#ifndef PARTICLES_H
#define PARTICLES_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    float x, y, z;        /* position            (hot: every step)          */
    float vx, vy, vz;     /* velocity            (hot: every step, energy)  */
    float mass;           /*                     (hot: energy)              */
    uint32_t id;          /* everything below is cold: read when a particle  */
    char name[32];        /* is inspected, never in the simulation loops     */
    double born;
    uint64_t flags;
    float color[4];
} particle_t;             /* 96 bytes */

typedef struct world world_t; /* defined by you, in world.c */

world_t *world_create(const particle_t *init, size_t n);
void world_step(world_t *w, float dt);
double world_kinetic_energy(const world_t *w);
void world_get(const world_t *w, size_t i, particle_t *out);
void world_destroy(world_t *w);

#endif
