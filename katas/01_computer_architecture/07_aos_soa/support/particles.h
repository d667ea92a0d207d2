/* The particle record (instructor-owned: do not edit). 32 bytes: two records per 64-byte cache line. */
#ifndef PARTICLES_H
#define PARTICLES_H

typedef struct {
    float x, y, z;       /* position */
    float vx, vy, vz;    /* velocity */
    float mass, charge;  /* not used by the update: in an array of structs they ride along anyway */
} Particle;

#endif
