/* Test-side helper (not yours): calls sum_ilp (yours) or a one-chain baseline `reps` times in C, so a
 * timing measures the loop, not Python's call overhead. */
float sum_ilp(const float *x, long n);

__attribute__((noinline)) static float sum_one_chain(const float *x, long n) {
    float s = 0.0f;
    for (long i = 0; i < n; i++)
        s += x[i];
    return s;
}

double repeat_sum_ilp(const float *x, long n, int reps) {
    double t = 0.0;
    for (int r = 0; r < reps; r++) {
        __asm__ volatile("" ::: "memory"); /* the array may have changed: no hoisting the call */
        t += sum_ilp(x, n);
    }
    return t;
}

double repeat_sum_chain(const float *x, long n, int reps) {
    double t = 0.0;
    for (int r = 0; r < reps; r++) {
        __asm__ volatile("" ::: "memory");
        t += sum_one_chain(x, n);
    }
    return t;
}
