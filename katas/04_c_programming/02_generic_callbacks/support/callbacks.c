/* Test-side callbacks (instructor-owned): linked into the library beside generic.c. Every compare
 * counts itself in the ctx it is given, which is how the comparison-count gate works. */
#include <stdint.h>
#include <string.h>

typedef struct {
    long calls;
    long bad_pointer;   /* set when a callback gets a pointer outside [lo, hi) */
    const char *lo, *hi;
    long size;          /* element size the callback expects */
} counter_t;

static void guard(counter_t *c, const void *p) {
    const char *q = p;
    if (c->lo && (q < c->lo || q + c->size > c->hi || (q - c->lo) % c->size != 0))
        c->bad_pointer++;
}

int cmp_i32(const void *a, const void *b, void *ctx) {
    counter_t *c = ctx;
    c->calls++;
    guard(c, a);
    guard(c, b);
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* records of `size` bytes whose first 4 bytes are an int32 key; the rest is payload */
int cmp_key(const void *a, const void *b, void *ctx) {
    counter_t *c = ctx;
    c->calls++;
    guard(c, a);
    guard(c, b);
    int32_t x, y;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    return (x > y) - (x < y);
}

int cmp_f64_desc(const void *a, const void *b, void *ctx) {
    counter_t *c = ctx;
    c->calls++;
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* map: int16 -> double, times the scale in ctx */
void map_i16_to_f64(const void *in, void *out, void *ctx) {
    double scale = *(const double *)ctx;
    *(double *)out = *(const int16_t *)in * scale;
}

/* reduce: acc is {int64 sum; int64 count; int64 first; int64 last} over int64 items */
void reduce_stats(void *acc, const void *item, void *ctx) {
    int64_t *a = acc, v = *(const int64_t *)item;
    if (a[1] == 0) a[2] = v;
    a[0] += v;
    a[1]++;
    a[3] = v;
}
