/*
 * preprocess_avx2.c -- AVX2 twin of nvp_logit_forward (preprocess.c): y = log p - log(1 - p) with
 * p = alpha + (1 - 2 alpha) v / 256, and the per-sample log-det sum of log(1 - 2 alpha) - log p -
 * log(1 - p), accumulated in double lanes. The vector log is the Cephes logf polynomial (vecmath_avx2.h,
 * shared with the couplings): within 1 ulp of libm; p and 1 - p lie in [alpha, 1 - alpha].
 * Compiled with -mavx2 -mfma (this file only); the loop ends with a scalar tail.
 */
#include "preprocess_internal.h"
#include "vecmath_avx2.h"

#include <immintrin.h>
#include <math.h>

#define OMP_MIN 32768

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
            __m256 lp = log256(p), lq = log256(_mm256_sub_ps(one, p));
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
