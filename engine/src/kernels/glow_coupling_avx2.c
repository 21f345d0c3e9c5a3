/*
 * glow_coupling_avx2.c -- AVX2 twins of Glow's coupling kernels in glow_coupling.c (same formulas, same
 * checks). Compiled with -mavx2 -mfma (this file only); reached only through glow_coupling.c's op table on
 * the avx2 and avx512 CPU paths.
 *
 * A sample's changing half is one flat block of C/2 HW values: 8 lanes at a time, then the reference's own
 * span (glow_coupling_internal.h) on the last (C/2 HW) mod 8. sigmoid and log sigmoid come from one
 * e = exp(-|a|) in (0, 1], which cannot overflow: sigmoid(a) = (a >= 0 ? 1 : e) / (1 + e) and
 * log sigmoid(a) = min(a, 0) - log1p(e), so any finite r gives finite results wherever the reference's do.
 * exp and log1p are float polynomials (vecmath_avx2.h, ~2 ulp); log-det terms are summed in double per
 * sample, as in the reference.
 */
#include "glow_coupling_internal.h"
#include "vecmath_avx2.h"

#include <immintrin.h>

#define OMP_MIN 16384

/* sigmoid(a) and, when log_sig is not NULL, log sigmoid(a), lane by lane. */
static inline __m256 sigmoid256(__m256 a, __m256 *log_sig) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 e = exp256(_mm256_or_ps(a, _mm256_set1_ps(-0.0f))); /* exp(-|a|) */
    __m256 nonneg = _mm256_cmp_ps(a, _mm256_setzero_ps(), _CMP_GE_OQ);
    if (log_sig != NULL) *log_sig = _mm256_sub_ps(_mm256_min_ps(a, _mm256_setzero_ps()), log1p256(e));
    return _mm256_div_ps(_mm256_blendv_ps(e, one, nonneg), _mm256_add_ps(one, e));
}

// y, x: (N,C,HW); h: (N,C/2,HW) additive or (N,C,HW) otherwise; logdet: (N) +=
nvp_status nvp_glow_coupling_forward_avx2(float *y, float *logdet, const float *x, const float *h, int64_t n,
                                          int64_t c, int64_t hw, int parity, int kind) {
    nvp_status e = nvp_glow_coupling_forward_check_(y, logdet, x, h, n, c, hw, parity, kind);
    if (e) return e;
    const int additive = kind == NVP_GLOW_ADDITIVE;
    const int64_t half = c / 2, ch = additive ? half : c, m = half * hw, mv = m & ~(int64_t)7;
    const int64_t cond = parity == 0 ? 0 : half, chg = parity == 0 ? half : 0;
    const __m256 two = _mm256_set1_ps(2.0f);
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        const float *xb = x + b * c * hw, *tb = h + b * ch * hw, *rb = additive ? NULL : tb + m;
        float *yb = y + b * c * hw;
        for (int64_t i = 0; i < m; i++) yb[cond * hw + i] = xb[cond * hw + i];
        const float *xc = xb + chg * hw;
        float *yc = yb + chg * hw;
        __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
        for (int64_t i = 0; i < mv; i += 8) {
            __m256 v = _mm256_add_ps(_mm256_loadu_ps(xc + i), _mm256_loadu_ps(tb + i));
            if (kind == NVP_GLOW_AFFINE) {
                __m256 log_sig;
                v = _mm256_mul_ps(v, sigmoid256(_mm256_add_ps(_mm256_loadu_ps(rb + i), two), &log_sig));
                acc_pd(&lo, &hi, log_sig);
            } else if (kind == NVP_GLOW_GAUSSIAN) {
                __m256 r = _mm256_loadu_ps(rb + i);
                v = _mm256_mul_ps(v, exp256(r));
                acc_pd(&lo, &hi, r);
            }
            _mm256_storeu_ps(yc + i, v);
        }
        double sum = hsum_pd(lo, hi) + nvp_glow_forward_span_(yc, xc, tb, rb, kind, mv, m);
        if (!additive) logdet[b] += (float)sum;
    }
    return NVP_OK;
}

// x, y: (N,C,HW); h as in the forward
nvp_status nvp_glow_coupling_inverse_avx2(float *x, const float *y, const float *h, int64_t n, int64_t c, int64_t hw,
                                          int parity, int kind) {
    nvp_status e = nvp_glow_coupling_check_("nvp_glow_coupling_inverse", x, y, h, n, c, hw, parity, kind);
    if (e) return e;
    const int additive = kind == NVP_GLOW_ADDITIVE;
    const int64_t half = c / 2, ch = additive ? half : c, m = half * hw, mv = m & ~(int64_t)7;
    const int64_t cond = parity == 0 ? 0 : half, chg = parity == 0 ? half : 0;
    const __m256 two = _mm256_set1_ps(2.0f), sign = _mm256_set1_ps(-0.0f);
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        const float *yb = y + b * c * hw, *tb = h + b * ch * hw, *rb = additive ? NULL : tb + m;
        float *xb = x + b * c * hw;
        for (int64_t i = 0; i < m; i++) xb[cond * hw + i] = yb[cond * hw + i];
        const float *yc = yb + chg * hw;
        float *xc = xb + chg * hw;
        for (int64_t i = 0; i < mv; i += 8) {
            __m256 v = _mm256_loadu_ps(yc + i);
            if (kind == NVP_GLOW_AFFINE)
                v = _mm256_div_ps(v, sigmoid256(_mm256_add_ps(_mm256_loadu_ps(rb + i), two), NULL));
            else if (kind == NVP_GLOW_GAUSSIAN)
                v = _mm256_mul_ps(v, exp256(_mm256_xor_ps(_mm256_loadu_ps(rb + i), sign)));
            _mm256_storeu_ps(xc + i, _mm256_sub_ps(v, _mm256_loadu_ps(tb + i)));
        }
        nvp_glow_inverse_span_(xc, yc, tb, rb, kind, mv, m);
    }
    return NVP_OK;
}

// dx, dy, x: (N,C,HW); dh, h: as in the forward; dlogdet: (N)
nvp_status nvp_glow_coupling_backward_avx2(float *dx, float *dh, const float *dy, const float *dlogdet,
                                           const float *x, const float *h, int64_t n, int64_t c, int64_t hw,
                                           int parity, int kind) {
    nvp_status e = nvp_glow_coupling_backward_check_(dx, dh, dy, dlogdet, x, h, n, c, hw, parity, kind);
    if (e) return e;
    const int additive = kind == NVP_GLOW_ADDITIVE;
    const int64_t half = c / 2, ch = additive ? half : c, m = half * hw, mv = m & ~(int64_t)7;
    const int64_t cond = parity == 0 ? 0 : half, chg = parity == 0 ? half : 0;
    const __m256 two = _mm256_set1_ps(2.0f), one = _mm256_set1_ps(1.0f);
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        const float *xb = x + b * c * hw, *tb = h + b * ch * hw, *rb = additive ? NULL : tb + m;
        const float *gb = dy + b * c * hw;
        float *dxb = dx + b * c * hw, *dtb = dh + b * ch * hw, *drb = additive ? NULL : dtb + m;
        const float dl = additive ? 0.0f : dlogdet[b];
        const __m256 vdl = _mm256_set1_ps(dl);
        for (int64_t i = 0; i < m; i++) dxb[cond * hw + i] += gb[cond * hw + i];
        const float *xc = xb + chg * hw, *gc = gb + chg * hw;
        float *dxc = dxb + chg * hw;
        for (int64_t i = 0; i < mv; i += 8) {
            __m256 g = _mm256_loadu_ps(gc + i), gs = g; /* gs = dL/du: g times the scale */
            if (!additive) {
                __m256 u = _mm256_add_ps(_mm256_loadu_ps(xc + i), _mm256_loadu_ps(tb + i));
                __m256 r = _mm256_loadu_ps(rb + i), ddr; /* ddr: this step's dL/dr */
                if (kind == NVP_GLOW_AFFINE) {
                    __m256 sg = sigmoid256(_mm256_add_ps(r, two), NULL);
                    gs = _mm256_mul_ps(g, sg);
                    ddr = _mm256_mul_ps(_mm256_fmadd_ps(gs, u, vdl), _mm256_sub_ps(one, sg)); /* sg' = sg (1 - sg) */
                } else {
                    gs = _mm256_mul_ps(g, exp256(r));
                    ddr = _mm256_fmadd_ps(gs, u, vdl);
                }
                _mm256_storeu_ps(drb + i, _mm256_add_ps(_mm256_loadu_ps(drb + i), ddr));
            }
            _mm256_storeu_ps(dxc + i, _mm256_add_ps(_mm256_loadu_ps(dxc + i), gs));
            _mm256_storeu_ps(dtb + i, _mm256_add_ps(_mm256_loadu_ps(dtb + i), gs));
        }
        nvp_glow_backward_span_(dxc, dtb, drb, gc, xc, tb, rb, dl, kind, mv, m);
    }
    return NVP_OK;
}
