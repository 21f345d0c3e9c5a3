/*
 * batchnorm_avx2.c -- AVX2 twins of batchnorm.c (see there for the formulas). Compiled with -mavx2 -mfma
 * (this file only); reached only through the op table on the avx2 and avx512 CPU paths. Each channel's
 * sums are widened to double lanes; every vector loop over a row of HW values ends with a scalar tail. The
 * steps of synchronised batch norm (moments, backward_sums, backward_apply) repeat the fused kernels'
 * loops with the reductions between them left to the caller.
 */
#include "batchnorm_internal.h"

#include <immintrin.h>
#include <math.h>

#define OMP_MIN 32768

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

// x, y: (N,C,HW); mean, invstd [OUT], running_mean, running_var (may be NULL), gamma, beta: (C)
nvp_status nvp_batchnorm_forward_train_avx2(float *y, float *mean, float *invstd, float *running_mean,
                                            float *running_var, const float *x, const float *gamma,
                                            const float *beta, int64_t n, int64_t c, int64_t hw, float eps,
                                            float momentum, int relu) {
    nvp_status st = nvp_batchnorm_forward_train_check(y, mean, invstd, x, gamma, beta, n, c, hw, eps, momentum);
    if (st != NVP_OK) return st;
    const int64_t m = n * hw, nv = hw & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        /* One pass: sums of d = x - shift and d^2 in double (the reference's second, centred pass read
         * x again). q - s^2/m cancels about log2((mean/std)^2) of double's 53 bits; float data keeps
         * that below ~47, and shift = the channel's first value (a few standard deviations from the
         * mean) makes it a handful. */
        const double shift = x[ch * hw];
        const __m256d vshift = _mm256_set1_pd(shift);
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
        __m256d q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
        double s = 0.0, q = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *xr = x + (i * c + ch) * hw;
            prefetch_row(x, i, n, c, ch, hw);
            for (int64_t j = 0; j < nv; j += 8) {
                __m256 v = _mm256_loadu_ps(xr + j);
                __m256d d0 = _mm256_sub_pd(lo_pd(v), vshift), d1 = _mm256_sub_pd(hi_pd(v), vshift);
                s0 = _mm256_add_pd(s0, d0);
                s1 = _mm256_add_pd(s1, d1);
                q0 = _mm256_fmadd_pd(d0, d0, q0);
                q1 = _mm256_fmadd_pd(d1, d1, q1);
            }
            for (int64_t j = nv; j < hw; j++) {
                double d = xr[j] - shift;
                s += d;
                q += d * d;
            }
        }
        s += hsum_pd(_mm256_add_pd(s0, s1));
        q += hsum_pd(_mm256_add_pd(q0, q1));
        double ds = s / (double)m, mu = shift + ds;
        q -= s * ds; /* the sum of squared deviations from the mean */
        if (q < 0.0) q = 0.0;
        double var = q / (double)m;
        float mf = (float)mu, is = (float)(1.0 / sqrt(var + (double)eps));
        mean[ch] = mf;
        invstd[ch] = is;
        if (running_mean) running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mu);
        if (running_var)
            running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * (q / (double)(m - 1)));
        float scale = gamma[ch] * is;
        for (int64_t i = 0; y != NULL && i < n; i++)
            affine_row(y + (i * c + ch) * hw, x + (i * c + ch) * hw, hw, mf, scale, beta[ch], relu);
    }
    return NVP_OK;
}

nvp_status nvp_batchnorm_forward_eval_avx2(float *y, const float *x, const float *gamma, const float *beta,
                                           const float *mean, const float *invstd, int64_t n, int64_t c,
                                           int64_t hw, int relu) {
    nvp_status st = nvp_batchnorm_eval_check("nvp_batchnorm_forward_eval", y, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK) return st;
#pragma omp parallel for collapse(2) schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t i = 0; i < n; i++)
        for (int64_t ch = 0; ch < c; ch++)
            affine_row(y + (i * c + ch) * hw, x + (i * c + ch) * hw, hw, mean[ch], gamma[ch] * invstd[ch],
                       beta[ch], relu);
    return NVP_OK;
}

/* For channel ch: *sd = sum(dyh), *sdx = sum(dyh xhat) over (N, H, W), in double, where dyh is dy
 * masked by the fused ReLU (when relu) and xhat = (x - mean) invstd. The first pass of the backward,
 * shared by the fused kernel and the split (synchronised) one, so both give the same bits. */
static inline void channel_grad_sums(double *sd_out, double *sdx_out, const float *x, const float *dy, int64_t n,
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

nvp_status nvp_batchnorm_backward_avx2(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                       const float *gamma, const float *beta, const float *mean,
                                       const float *invstd, int64_t n, int64_t c, int64_t hw, int relu,
                                       float dlogdet, int training, int accumulate_dx) {
    nvp_status st = nvp_batchnorm_backward_check(dx, dy, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK) return st;
    const int64_t m = n * hw, nv = hw & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const float mf = mean[ch], is = invstd[ch], scale = gamma[ch] * is, b = beta[ch];
        const __m256 vm = _mm256_set1_ps(mf), vis = _mm256_set1_ps(is), vs = _mm256_set1_ps(scale);
        const __m256 vb = _mm256_set1_ps(b), zero = _mm256_setzero_ps();
        /* pass 1: sum(dyh), sum(dyh xhat) in double */
        double sd, sdx;
        channel_grad_sums(&sd, &sdx, x, dy, n, c, hw, ch, mf, is, scale, b, relu);
        if (dgamma) dgamma[ch] += (float)(sdx + (dlogdet != 0.0f ? (double)dlogdet * (double)m / gamma[ch] : 0.0));
        if (dbeta) dbeta[ch] += (float)sd;
        /* pass 2: dx (+)= k1 dyh + k2 xhat + k0 (without reading dx unless accumulating) */
        float k1 = scale, k2 = 0.0f, k0 = 0.0f;
        if (training && m > 0) {
            k0 = (float)(-(double)scale * sd / (double)m);
            k2 = (float)(-(double)scale * sdx / (double)m - (double)dlogdet * is);
        }
        const __m256 vk1 = _mm256_set1_ps(k1), vk2 = _mm256_set1_ps(k2), vk0 = _mm256_set1_ps(k0);
        for (int64_t i = 0; i < n; i++) {
            const float *xr = x + (i * c + ch) * hw, *dyr = dy + (i * c + ch) * hw;
            float *dxr = dx + (i * c + ch) * hw;
            prefetch_row(dx, i, n, c, ch, hw);
            for (int64_t j = 0; j < nv; j += 8) {
                __m256 xc = _mm256_sub_ps(_mm256_loadu_ps(xr + j), vm);
                __m256 d = _mm256_loadu_ps(dyr + j);
                if (relu) d = _mm256_and_ps(d, _mm256_cmp_ps(_mm256_fmadd_ps(xc, vs, vb), zero, _CMP_GT_OQ));
                __m256 acc = accumulate_dx ? _mm256_add_ps(_mm256_loadu_ps(dxr + j), vk0) : vk0;
                acc = _mm256_fmadd_ps(vk2, _mm256_mul_ps(xc, vis), acc);
                _mm256_storeu_ps(dxr + j, _mm256_fmadd_ps(vk1, d, acc));
            }
            for (int64_t j = nv; j < hw; j++) {
                float d = dyr[j];
                if (relu && !(fmaf(xr[j] - mf, scale, b) > 0.0f)) d = 0.0f;
                dxr[j] = (accumulate_dx ? dxr[j] : 0.0f) + (k1 * d + k2 * ((xr[j] - mf) * is) + k0);
            }
        }
    }
    return NVP_OK;
}

/* ---- synchronised batch norm in steps (see batchnorm.c) ---- */

// x: (N,C,HW); center (may be NULL), sum, sumsq [OUT] (either may be NULL): (C)
nvp_status nvp_batchnorm_moments_avx2(double *sum, double *sumsq, const float *x, const double *center, int64_t n,
                                      int64_t c, int64_t hw) {
    nvp_status st = nvp_batchnorm_moments_check(sum, sumsq, x, n, c, hw);
    if (st != NVP_OK) return st;
    const int64_t nv = hw & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const double cc = center ? center[ch] : 0.0;
        const __m256d vc = _mm256_set1_pd(cc);
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
        __m256d q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
        double s = 0.0, q = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *xr = x + (i * c + ch) * hw;
            for (int64_t j = 0; j < nv; j += 8) {
                __m256 v = _mm256_loadu_ps(xr + j);
                __m256d d0 = _mm256_sub_pd(lo_pd(v), vc), d1 = _mm256_sub_pd(hi_pd(v), vc);
                s0 = _mm256_add_pd(s0, d0);
                s1 = _mm256_add_pd(s1, d1);
                q0 = _mm256_fmadd_pd(d0, d0, q0);
                q1 = _mm256_fmadd_pd(d1, d1, q1);
            }
            for (int64_t j = nv; j < hw; j++) {
                double d = xr[j] - cc;
                s += d;
                q += d * d;
            }
        }
        if (sum) sum[ch] = s + hsum_pd(_mm256_add_pd(s0, s1));
        if (sumsq) sumsq[ch] = q + hsum_pd(_mm256_add_pd(q0, q1));
    }
    return NVP_OK;
}

// dy, x: (N,C,HW); sums [OUT]: (2C) = sum(dyh) per channel, then sum(dyh xhat) per channel
nvp_status nvp_batchnorm_backward_sums_avx2(double *sums, const float *dy, const float *x, const float *gamma,
                                            const float *beta, const float *mean, const float *invstd, int64_t n,
                                            int64_t c, int64_t hw, int relu) {
    nvp_status st =
        nvp_batchnorm_steps_check("nvp_batchnorm_backward_sums", sums, dy, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK) return st;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const float mf = mean[ch], is = invstd[ch], scale = gamma[ch] * is, b = beta[ch];
        channel_grad_sums(&sums[ch], &sums[c + ch], x, dy, n, c, hw, ch, mf, is, scale, b, relu);
    }
    return NVP_OK;
}

// dx, dy, x: (N,C,HW); dgamma, dbeta (may be NULL): (C); local, total: (2C) from nvp_batchnorm_backward_sums
nvp_status nvp_batchnorm_backward_apply_avx2(float *dx, float *dgamma, float *dbeta, const float *dy,
                                             const float *x, const float *gamma, const float *beta,
                                             const float *mean, const float *invstd, const double *local,
                                             const double *total, int64_t m_total, int64_t n, int64_t c,
                                             int64_t hw, int relu, float dlogdet) {
    nvp_status st = nvp_batchnorm_apply_check(dx, dy, x, gamma, beta, mean, invstd, local, total, m_total, n, c, hw);
    if (st != NVP_OK) return st;
    const int64_t m = n * hw, nv = hw & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const float mf = mean[ch], is = invstd[ch], scale = gamma[ch] * is, b = beta[ch];
        if (dgamma)
            dgamma[ch] += (float)(local[c + ch] + (dlogdet != 0.0f ? (double)dlogdet * (double)m / gamma[ch] : 0.0));
        if (dbeta) dbeta[ch] += (float)local[ch];
        const float k1 = scale, k0 = (float)(-(double)scale * total[ch] / (double)m_total);
        const float k2 = (float)(-(double)scale * total[c + ch] / (double)m_total - (double)dlogdet * is);
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
                __m256 acc = _mm256_add_ps(_mm256_loadu_ps(dxr + j), vk0);
                acc = _mm256_fmadd_ps(vk2, _mm256_mul_ps(xc, vis), acc);
                _mm256_storeu_ps(dxr + j, _mm256_fmadd_ps(vk1, d, acc));
            }
            for (int64_t j = nv; j < hw; j++) {
                float d = dyr[j];
                if (relu && !(fmaf(xr[j] - mf, scale, b) > 0.0f)) d = 0.0f;
                dxr[j] += k1 * d + k2 * ((xr[j] - mf) * is) + k0;
            }
        }
    }
    return NVP_OK;
}
