/* Reference: a read kernel fast enough to expose each level's bandwidth: 32 floats per iteration into
 * four independent vector accumulators (two 32-byte loads can start per cycle), so in L1 the core is
 * limited by its load ports, not by the 4-cycle latency of one chain of adds. */
#include <immintrin.h>
#include "kata.h"

static float sum_once(const float *a, long n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i));
        s1 = _mm256_add_ps(s1, _mm256_loadu_ps(a + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(a + i + 16));
        s3 = _mm256_add_ps(s3, _mm256_loadu_ps(a + i + 24));
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(a + i));
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float r = _mm_cvtss_f32(h);
    for (; i < n; i++)
        r += a[i];
    return r;
}

double read_passes(const float *a, long n, int passes) {
    double total = 0.0;
    for (int p = 0; p < passes; p++)
        total += sum_once(a, n);
    return total;
}
