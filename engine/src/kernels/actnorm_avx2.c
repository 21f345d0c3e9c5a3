/*
 * actnorm_avx2.c -- AVX2 twins of the actnorm kernels in actnorm.c (same formulas, same checks).
 * Compiled with -mavx2 -mfma (this file only); reached only through actnorm.c's dispatchers after
 * nvp_init found AVX2. Every vector loop ends with a scalar tail. The backward's per-channel sums are
 * kept in double (8 float lanes are widened per step), so they agree with the reference to rounding.
 */
#include "actnorm_internal.h"

#include <immintrin.h>
#include <math.h>

#define OMP_MIN 32768

// y, x: (N,C,HW); logs, bias: (C)
nvp_status nvp_actnorm_forward_avx2(float *y, const float *x, const float *logs, const float *bias, int64_t n,
                                    int64_t c, int64_t hw, int relu) {
    nvp_status e = nvp_actnorm_check_("nvp_actnorm_forward", y, x, logs, bias, n, c, hw);
    if (e) return e;
    const int64_t hv = hw & ~(int64_t)7;
#pragma omp parallel for collapse(2) schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++) {
            const float s = expf(logs[ch]), t = bias[ch];
            const __m256 vs = _mm256_set1_ps(s), vt = _mm256_set1_ps(t), zero = _mm256_setzero_ps();
            const float *xp = x + (b * c + ch) * hw;
            float *yp = y + (b * c + ch) * hw;
            for (int64_t p = 0; p < hv; p += 8) {
                __m256 v = _mm256_mul_ps(_mm256_add_ps(_mm256_loadu_ps(xp + p), vt), vs);
                if (relu) v = _mm256_max_ps(v, zero);
                _mm256_storeu_ps(yp + p, v);
            }
            for (int64_t p = hv; p < hw; p++) {
                float v = (xp[p] + t) * s;
                yp[p] = relu && v < 0.0f ? 0.0f : v;
            }
        }
    return NVP_OK;
}

// x, y: (N,C,HW); logs, bias: (C)
nvp_status nvp_actnorm_inverse_avx2(float *x, const float *y, const float *logs, const float *bias, int64_t n,
                                    int64_t c, int64_t hw) {
    nvp_status e = nvp_actnorm_check_("nvp_actnorm_inverse", x, y, logs, bias, n, c, hw);
    if (e) return e;
    const int64_t hv = hw & ~(int64_t)7;
#pragma omp parallel for collapse(2) schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++) {
            const float r = expf(-logs[ch]), t = bias[ch];
            const __m256 vr = _mm256_set1_ps(r), vt = _mm256_set1_ps(t);
            const float *yp = y + (b * c + ch) * hw;
            float *xp = x + (b * c + ch) * hw;
            for (int64_t p = 0; p < hv; p += 8)
                _mm256_storeu_ps(xp + p, _mm256_fmsub_ps(_mm256_loadu_ps(yp + p), vr, vt));
            for (int64_t p = hv; p < hw; p++) xp[p] = yp[p] * r - t;
        }
    return NVP_OK;
}

static inline __m256d lo4(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
static inline __m256d hi4(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

static inline double hsum(__m256d v) {
    double t[4];
    _mm256_storeu_pd(t, v);
    return (t[0] + t[1]) + (t[2] + t[3]);
}

// dx, dy, x: (N,C,HW); dlogs, dbias, logs, bias: (C)
nvp_status nvp_actnorm_backward_avx2(float *dx, float *dlogs, float *dbias, const float *dy, const float *x,
                                     const float *logs, const float *bias, int64_t n, int64_t c, int64_t hw,
                                     int relu, int accumulate_dx) {
    nvp_status e = nvp_actnorm_check_("nvp_actnorm_backward", dy, x, logs, bias, n, c, hw);
    if (e) return e;
    const int64_t hv = hw & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const float s = expf(logs[ch]), t = bias[ch];
        const __m256 vs = _mm256_set1_ps(s), vt = _mm256_set1_ps(t), zero = _mm256_setzero_ps();
        __m256d al = _mm256_setzero_pd(), ab = _mm256_setzero_pd();
        double sl = 0.0, sb = 0.0;
        for (int64_t b = 0; b < n; b++) {
            const float *xp = x + (b * c + ch) * hw, *gp = dy + (b * c + ch) * hw;
            float *dp = dx != NULL ? dx + (b * c + ch) * hw : NULL;
            for (int64_t p = 0; p < hv; p += 8) {
                __m256 v = _mm256_mul_ps(_mm256_add_ps(_mm256_loadu_ps(xp + p), vt), vs);
                __m256 g = _mm256_loadu_ps(gp + p);
                if (relu) g = _mm256_and_ps(g, _mm256_cmp_ps(v, zero, _CMP_GT_OQ));
                __m256 gv = _mm256_mul_ps(g, v);
                al = _mm256_add_pd(al, _mm256_add_pd(lo4(gv), hi4(gv)));
                ab = _mm256_add_pd(ab, _mm256_add_pd(lo4(g), hi4(g)));
                if (dp != NULL) {
                    __m256 d = _mm256_mul_ps(g, vs);
                    if (accumulate_dx) d = _mm256_add_ps(_mm256_loadu_ps(dp + p), d);
                    _mm256_storeu_ps(dp + p, d);
                }
            }
            for (int64_t p = hv; p < hw; p++) {
                float v = (xp[p] + t) * s;
                float g = relu && v <= 0.0f ? 0.0f : gp[p];
                sl += (double)g * v;
                sb += g;
                if (dp != NULL) dp[p] = (accumulate_dx ? dp[p] : 0.0f) + g * s;
            }
        }
        sl += hsum(al);
        sb += hsum(ab);
        if (dlogs != NULL) dlogs[ch] += (float)sl;
        if (dbias != NULL) dbias[ch] += (float)(sb * s);
    }
    return NVP_OK;
}
