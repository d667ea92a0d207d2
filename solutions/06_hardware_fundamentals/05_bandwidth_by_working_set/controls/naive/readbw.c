/* Naive control: correct, one scalar accumulator. Each add waits 4 cycles for the previous one: about one
 * float (4 bytes) per 4 cycles, slower than even this machine's L3 can deliver, so every working set
 * reads at the same speed and the cache levels vanish from the plot. */
#include "kata.h"

double read_passes(const float *a, long n, int passes) {
    double total = 0.0;
    for (int p = 0; p < passes; p++) {
        float s = 0.0f;
        for (long i = 0; i < n; i++)
            s += a[i];
        total += s;
    }
    return total;
}
