/* Driver for the prefetch gate, built with -include prefetch_spy.h: it records the address of every
 * __builtin_prefetch in gather_sum(), then works out, for each prefetch of a table element, how many
 * iterations ahead of its use it was issued (call k is taken as issued in iteration k, as with one
 * prefetch per iteration). Prints: calls table_calls useful (4 <= distance <= 256) median_distance.
 * By hand:  ./prog 200000
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "gather.h"

int kata_todo_take(char *buf, int size);

static const void **seen;
static long n_seen, cap_seen;

void kata_prefetch_spy(const void *p) {
    if (n_seen == cap_seen) {
        cap_seen = cap_seen ? 2 * cap_seen : 1024;
        seen = realloc(seen, (size_t)cap_seen * sizeof *seen);
    }
    seen[n_seen++] = p;
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    long n = atol(argv[1]);
    long tsize = 1L << 22; /* 16 MiB of floats */
    float *table = malloc((size_t)tsize * sizeof(float));
    int32_t *idx = malloc((size_t)n * sizeof(int32_t));
    uint64_t r = 88172645463325252ull;
    for (long i = 0; i < tsize; i++) table[i] = (float)(i % 1000) * 0.25f;
    for (long i = 0; i < n; i++) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        idx[i] = (int32_t)(r % (uint64_t)tsize);
    }
    double want = 0;
    for (long i = 0; i < n; i++) want += table[idx[i]];
    double got = gather_sum(table, idx, n);
    char w[512];
    if (kata_todo_take(w, sizeof w)) {
        fprintf(stderr, "not implemented yet: %s\n", w);
        return 3;
    }
    if (fabs(got - want) > 1e-9 * fabs(want)) {
        fprintf(stderr, "gather_sum returned %.17g, expected %.17g: fix the correctness tests first\n", got, want);
        return 4;
    }
    long table_calls = 0, useful = 0, nd = 0;
    long *dist = malloc((size_t)(n_seen + 1) * sizeof(long));
    for (long k = 0; k < n_seen; k++) {
        const float *p = seen[k];
        if (p < table || p >= table + tsize)
            continue; /* a prefetch of something else (idx, say): allowed, not counted */
        long call = table_calls++;
        for (long d = 0; d <= 256 && call + d < n; d++)
            if (&table[idx[call + d]] == p) {
                dist[nd++] = d;
                useful += d >= 4;
                break;
            }
    }
    qsort(dist, (size_t)nd, sizeof(long), cmp_long);
    printf("%ld %ld %ld %ld\n", n_seen, table_calls, useful, nd ? dist[nd / 2] : -1);
    return 0;
}
