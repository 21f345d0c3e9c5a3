/*
 * batchnorm_avx2.c -- the AVX2 steps of batch norm over one channel (nvp_batchnorm_steps, batchnorm_internal.h),
 * of which batchnorm.c composes every kernel (see there for the formulas). Compiled with -mavx2 -mfma (this
 * file only); reached only through batchnorm.c's table on the avx2 and avx512 CPU paths. Each channel's
 * sums are widened to double lanes; every vector loop over a row of HW values ends with a scalar tail.
 */
#include "batchnorm_internal.h"

#include <immintrin.h>
#include <math.h>

static inline double hsum_pd(__m256d a) {
    double l[4];
    _mm256_storeu_pd(l, a);
    return (l[0] + l[1]) + (l[2] + l[3]);
}

static inline __m256d lo_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
static inline __m256d hi_pd(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

/* A channel's rows are one per image, c*hw floats apart, mostly written by the other thread's share
 * of the previous kernel (the convolutions split images, batch norm splits channels): the loops
 * stalled on each row's first loads (perf: the first use of a loaded x held 15-30 % of the samples).
 * Each asks for the row two images ahead. */
#define AHEAD 2
static inline void prefetch_row(const float *base, int64_t i, int64_t n, int64_t c, int64_t ch, int64_t hw) {
    if (i + AHEAD >= n) return;
    const char *q = (const char *)(base + ((i + AHEAD) * c + ch) * hw);
    for (int64_t e = 0; e < hw * 4; e += 64) __builtin_prefetch(q + e, 0, 3);
}

/* y = (x - mean) scale + b, then max(0, .) if relu, over one row of hw values */
static inline void affine_row(float *yr, const float *xr, int64_t hw, float mf, float scale, float b, int relu) {
    const __m256 vm = _mm256_set1_ps(mf), vs = _mm256_set1_ps(scale), vb = _mm256_set1_ps(b);
    const __m256 zero = _mm256_setzero_ps();
    int64_t nv = hw & ~(int64_t)7;
    for (int64_t j = 0; j < nv; j += 8) {
        __m256 v = _mm256_fmadd_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + j), vm), vs, vb);
        if (relu) v = _mm256_max_ps(v, zero);
        _mm256_storeu_ps(yr + j, v);
    }
    for (int64_t j = nv; j < hw; j++) {
        float v = fmaf(xr[j] - mf, scale, b);
        yr[j] = (relu && !(v > 0.0f)) ? 0.0f : v;
    }
}

/* *s = sum of d, *q = sum of d^2 over channel ch's N*HW values, d = x - center, in double lanes. */
static void channel_moments(double *s_out, double *q_out, const float *x, int64_t n, int64_t c, int64_t hw,
                                   int64_t ch, double center) {
    const int64_t nv = hw & ~(int64_t)7;
    const __m256d vc = _mm256_set1_pd(center);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    __m256d q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
    double s = 0.0, q = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *xr = x + (i * c + ch) * hw;
        prefetch_row(x, i, n, c, ch, hw);
        for (int64_t j = 0; j < nv; j += 8) {
            __m256 v = _mm256_loadu_ps(xr + j);
            __m256d d0 = _mm256_sub_pd(lo_pd(v), vc), d1 = _mm256_sub_pd(hi_pd(v), vc);
            s0 = _mm256_add_pd(s0, d0);
            s1 = _mm256_add_pd(s1, d1);
            q0 = _mm256_fmadd_pd(d0, d0, q0);
            q1 = _mm256_fmadd_pd(d1, d1, q1);
        }
        for (int64_t j = nv; j < hw; j++) {
            double d = xr[j] - center;
            s += d;
            q += d * d;
        }
    }
    *s_out = s + hsum_pd(_mm256_add_pd(s0, s1));
    *q_out = q + hsum_pd(_mm256_add_pd(q0, q1));
}

/* One pass of the moments step about shift = the channel's first value (the reference makes a second,
 * centred pass over x). q - s^2/m cancels about log2((mean/std)^2) of double's 53 bits; float data keeps
 * that below ~47, and the shift (a few standard deviations from the mean) makes it a handful. */
static void batch_stats(double *mu, double *q, const float *x, int64_t n, int64_t c, int64_t hw, int64_t ch) {
    const int64_t m = n * hw;
    const double shift = x[ch * hw];
    double s;
    channel_moments(&s, q, x, n, c, hw, ch, shift);
    double ds = s / (double)m;
    *mu = shift + ds;
    *q -= s * ds; /* the sum of squared deviations from the mean */
    if (*q < 0.0) *q = 0.0;
}

/* For channel ch: *sd = sum(dyh), *sdx = sum(dyh xhat) over (N, H, W), in double, where dyh is dy
 * masked by the fused ReLU (when relu) and xhat = (x - mean) invstd. */
static void channel_grad_sums(double *sd_out, double *sdx_out, const float *x, const float *dy, int64_t n,
                                     int64_t c, int64_t hw, int64_t ch, float mf, float is, float scale, float b,
                                     int relu) {
    const int64_t nv = hw & ~(int64_t)7;
    const __m256 vm = _mm256_set1_ps(mf), vis = _mm256_set1_ps(is), vs = _mm256_set1_ps(scale);
    const __m256 vb = _mm256_set1_ps(b), zero = _mm256_setzero_ps();
    __m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
    __m256d p0 = _mm256_setzero_pd(), p1 = _mm256_setzero_pd();
    double sd = 0.0, sdx = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *xr = x + (i * c + ch) * hw, *dyr = dy + (i * c + ch) * hw;
        prefetch_row(x, i, n, c, ch, hw);
        prefetch_row(dy, i, n, c, ch, hw);
        for (int64_t j = 0; j < nv; j += 8) {
            __m256 xc = _mm256_sub_ps(_mm256_loadu_ps(xr + j), vm);
            __m256 d = _mm256_loadu_ps(dyr + j);
            if (relu) d = _mm256_and_ps(d, _mm256_cmp_ps(_mm256_fmadd_ps(xc, vs, vb), zero, _CMP_GT_OQ));
            __m256 xh = _mm256_mul_ps(xc, vis);
            __m256d d0 = lo_pd(d), d1 = hi_pd(d);
            a0 = _mm256_add_pd(a0, d0);
            a1 = _mm256_add_pd(a1, d1);
            p0 = _mm256_fmadd_pd(d0, lo_pd(xh), p0);
            p1 = _mm256_fmadd_pd(d1, hi_pd(xh), p1);
        }
        for (int64_t j = nv; j < hw; j++) {
            float d = dyr[j];
            if (relu && !(fmaf(xr[j] - mf, scale, b) > 0.0f)) d = 0.0f;
            sd += d;
            sdx += (double)d * ((xr[j] - mf) * is);
        }
    }
*sd_out = sd + hsum_pd(_mm256_add_pd(a0, a1));
*sdx_out = sdx + hsum_pd(_mm256_add_pd(p0, p1));
}

/* dx (+)= k1 dyh + k2 xhat + k0 over channel ch (written without reading dx unless accumulate). */
static void channel_grad_apply(float *dx, const float *x, const float *dy, int64_t n, int64_t c, int64_t hw,
                                      int64_t ch, float mf, float is, float scale, float b, int relu, float k1,
                                      float k2, float k0, int accumulate) {
    const int64_t nv = hw & ~(int64_t)7;
    const __m256 vm = _mm256_set1_ps(mf), vis = _mm256_set1_ps(is), vs = _mm256_set1_ps(scale);
    const __m256 vb = _mm256_set1_ps(b), zero = _mm256_setzero_ps();
    const __m256 vk1 = _mm256_set1_ps(k1), vk2 = _mm256_set1_ps(k2), vk0 = _mm256_set1_ps(k0);
    for (int64_t i = 0; i < n; i++) {
        const float *xr = x + (i * c + ch) * hw, *dyr = dy + (i * c + ch) * hw;
        float *dxr = dx + (i * c + ch) * hw;
        prefetch_row(dx, i, n, c, ch, hw);
        for (int64_t j = 0; j < nv; j += 8) {
            __m256 xc = _mm256_sub_ps(_mm256_loadu_ps(xr + j), vm);
            __m256 d = _mm256_loadu_ps(dyr + j);
            if (relu) d = _mm256_and_ps(d, _mm256_cmp_ps(_mm256_fmadd_ps(xc, vs, vb), zero, _CMP_GT_OQ));
            __m256 acc = accumulate ? _mm256_add_ps(_mm256_loadu_ps(dxr + j), vk0) : vk0;
            acc = _mm256_fmadd_ps(vk2, _mm256_mul_ps(xc, vis), acc);
            _mm256_storeu_ps(dxr + j, _mm256_fmadd_ps(vk1, d, acc));
        }
        for (int64_t j = nv; j < hw; j++) {
            float d = dyr[j];
            if (relu && !(fmaf(xr[j] - mf, scale, b) > 0.0f)) d = 0.0f;
            dxr[j] = (accumulate ? dxr[j] : 0.0f) + (k1 * d + k2 * ((xr[j] - mf) * is) + k0);
        }
    }
}

static void affine(float *y, const float *x, int64_t images, int64_t image_stride, int64_t channels, int64_t hw,
                   const float *mean, const float *gamma, const float *invstd, const float *beta, int relu) {
    for (int64_t ch = 0; ch < channels; ch++) {
        const float mf = mean[ch], scale = gamma[ch] * invstd[ch], b = beta[ch];
        for (int64_t i = 0; i < images; i++)
            affine_row(y + i * image_stride + ch * hw, x + i * image_stride + ch * hw, hw, mf, scale, b, relu);
    }
}

const nvp_batchnorm_steps nvp_batchnorm_steps_avx2 = {
    .moments = channel_moments,
    .batch_stats = batch_stats,
    .affine = affine,
    .grad_sums = channel_grad_sums,
    .grad_apply = channel_grad_apply,
};
