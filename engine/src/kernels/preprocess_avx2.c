/*
 * preprocess_avx2.c -- AVX2 twin of nvp_logit_forward (preprocess.c): y = log p - log(1 - p) with
 * p = alpha + (1 - 2 alpha) v / 256, and the per-sample log-det sum of log(1 - 2 alpha) - log p -
 * log(1 - p), accumulated in double lanes. The vector log is the Cephes logf polynomial (as in
 * avx_mathfun): relative error about 1e-7 on normal floats; p and 1 - p lie in [alpha, 1 - alpha].
 * Compiled with -mavx2 -mfma (this file only); the loop ends with a scalar tail.
 */
#include "preprocess_internal.h"

#include <immintrin.h>
#include <math.h>

#define OMP_MIN 32768

/* log(x) for x > 0 and normal (the callers' x is in [alpha, 1 - alpha]). */
static inline __m256 log256_ps(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f);
    __m256i bits = _mm256_castps_si256(x);
    __m256i exponent = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126));
    /* mantissa in [0.5, 1) */
    __m256 m = _mm256_or_ps(_mm256_and_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(0x007fffff))), half);
    __m256 e = _mm256_cvtepi32_ps(exponent);
    /* if m < sqrt(1/2): e -= 1, m = 2m - 1; else m = m - 1 */
    __m256 small = _mm256_cmp_ps(m, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
    __m256 tmp = _mm256_and_ps(m, small);
    m = _mm256_sub_ps(m, one);
    e = _mm256_sub_ps(e, _mm256_and_ps(one, small));
    m = _mm256_add_ps(m, tmp);
    __m256 z = _mm256_mul_ps(m, m);
    __m256 p = _mm256_set1_ps(7.0376836292e-2f);
    p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(-1.1514610310e-1f));
    p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(1.1676998740e-1f));
    p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(-1.2420140846e-1f));
    p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(1.4249322787e-1f));
    p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(-1.6668057665e-1f));
    p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(2.0000714765e-1f));
    p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(-2.4999993993e-1f));
    p = _mm256_fmadd_ps(p, m, _mm256_set1_ps(3.3333331174e-1f));
    p = _mm256_mul_ps(_mm256_mul_ps(p, m), z);
    p = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), p);
    p = _mm256_fnmadd_ps(z, half, p);
    m = _mm256_add_ps(m, p);
    return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), m);
}

nvp_status nvp_logit_forward_avx2(float *y, float *logdet, const float *v, int64_t n, int64_t d, float alpha) {
    nvp_status st = nvp_check_logit_forward(y, logdet, v, n, d, alpha);
    if (st || n == 0) return st;
    const float span = 1.0f - 2.0f * alpha;
    const double log_span = log((double)span);
    const __m256 va = _mm256_set1_ps(alpha), vscale = _mm256_set1_ps(span / 256.0f), one = _mm256_set1_ps(1.0f);
#pragma omp parallel for schedule(static) if (n * d > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        const float *vb = v + b * d;
        float *yb = y + b * d;
        __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd(); /* sum of log p + log(1 - p) */
        int64_t i = 0;
        for (; i + 8 <= d; i += 8) {
            __m256 p = _mm256_fmadd_ps(_mm256_loadu_ps(vb + i), vscale, va);
            __m256 lp = log256_ps(p), lq = log256_ps(_mm256_sub_ps(one, p));
            _mm256_storeu_ps(yb + i, _mm256_sub_ps(lp, lq));
            __m256 s = _mm256_add_ps(lp, lq);
            acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(s)));
            acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(s, 1)));
        }
        double lanes[4];
        _mm256_storeu_pd(lanes, _mm256_add_pd(acc0, acc1));
        double sum_logs = lanes[0] + lanes[1] + lanes[2] + lanes[3];
        for (; i < d; i++) {
            double p = alpha + span * ((double)vb[i] / 256.0);
            double lp = log(p), lq = log1p(-p);
            yb[i] = (float)(lp - lq);
            sum_logs += lp + lq;
        }
        logdet[b] += (float)((double)d * log_span - sum_logs);
    }
    return NVP_OK;
}
