/* Driver for the cache-miss gates: callgrind counts inside world_step() or world_kinetic_energy()
 * only. By hand:
 *   valgrind --tool=callgrind --cache-sim=yes --D1=32768,8,64 --toggle-collect=world_step ./prog 20000
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "particles.h"

int kata_todo_take(char *buf, int size);

static void todo(void) {
    char w[512];
    if (kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        exit(3);
    }
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : 20000;
    particle_t *p = calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        p[i].x = (float)i;
        p[i].vx = 1.0f;
        p[i].vy = 2.0f;
        p[i].vz = (float)(i % 7);
        p[i].mass = 1.0f + (float)(i % 3);
        p[i].id = (unsigned)i;
        snprintf(p[i].name, sizeof p[i].name, "p%zu", i);
    }
    world_t *w = world_create(p, n);
    todo();
    free(p); /* the world must not depend on the caller's array */
    world_step(w, 0.5f);
    todo();
    double e = world_kinetic_energy(w);
    todo();
    particle_t q;
    world_get(w, n - 1, &q);
    todo();
    if (q.x != (float)(n - 1) + 0.5f || e <= 0) {
        fprintf(stderr, "wrong results (x of the last particle %g, energy %g): fix the correctness tests first\n",
                q.x, e);
        return 4;
    }
    world_destroy(w);
    todo();
    return 0;
}
