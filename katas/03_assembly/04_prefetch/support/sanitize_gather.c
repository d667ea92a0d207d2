/* Driver for the sanitizer run: idx and table allocated to their exact sizes, so reading idx[i + D]
 * past the end (a prefetch distance that is not stopped at n) is a heap-buffer-overflow. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "gather.h"

int kata_todo_take(char *buf, int size);

int main(void) {
    for (long n = 0; n < 300; n += 37) {
        float *table = malloc(1000 * sizeof(float));
        int32_t *idx = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
        for (long i = 0; i < 1000; i++) table[i] = (float)i;
        for (long i = 0; i < n; i++) idx[i] = (int32_t)(i * 7919 % 1000);
        volatile double s = gather_sum(table, idx, n);
        (void)s;
        char w[512];
        if (kata_todo_take(w, sizeof w)) {
            fprintf(stderr, "not implemented yet: %s\n", w);
            return 3;
        }
        free(table);
        free(idx);
    }
    return 0;
}
