/*
 * batchnorm.c -- batch normalisation over (N, HW) per channel (Ioffe & Szegedy 2015), optionally fused
 * with ReLU, as in the s/t networks (REFERENCE.md 2.4) and as an invertible flow layer (Real NVP, Sec.
 * 3.7). The public entries, the scalar references, the inverse and the op table; AVX2 twins in
 * batchnorm_avx2.c.
 *
 * x, y: (N,C,HW): channel ch of sample i is the contiguous row x + (i*C + ch)*HW. Threads split the
 * channels and each channel's sums accumulate in double in a fixed order, so results do not depend on the
 * thread count. Both paths compute the pre-activation as (x - mean)*(gamma*invstd) + beta, in the forward
 * and again in the backward (the ReLU mask), so the two always agree.
 *
 * Backward (training), with dyh = dy [relu mask], xhat = (x - mean) invstd, M = N*HW:
 *   dx     += gamma invstd / M (M dyh - sum(dyh) - xhat sum(dyh xhat))  - dlogdet invstd xhat
 *   dgamma += sum(dyh xhat) + dlogdet N HW / gamma,      dbeta += sum(dyh).
 * The dlogdet terms differentiate L = sum over the batch of HW sum_c (log invstd_c + log|gamma_c|)
 * = N HW sum_c (...): with the biased variance, d(log invstd)/dx_j = -invstd^2 (x_j - mean)/M (the
 * mean's own path sums to zero), so dL/dx_j = N HW (-invstd xhat_j / M) = -invstd xhat_j.
 * training = 0 (statistics are constants): dx += dyh gamma invstd; dgamma and dbeta as above.
 *
 * Synchronised batch norm splits the training transform into steps whose per-channel double sums the
 * caller adds up over ranks in between: moments (sum x, then sum (x - mean)^2), finish_stats, forward_eval
 * as the output; backward_sums (sum dyh, sum dyh xhat), backward_apply. Each step does the fused kernel's
 * arithmetic in its order, so one rank gets the fused kernel's numbers exactly.
 */
#include "batchnorm_internal.h"

#include <math.h>

#define OMP_MIN 32768 /* elements; below this a parallel region costs more than it saves */

/* ---- argument checks, shared with batchnorm_avx2.c (declared there; not part of the API) ---- */

static nvp_status check_sizes(const char *fn, int64_t n, int64_t c, int64_t hw) {
    NVP_CHECK_SIZE(fn, n);
    NVP_CHECK_SIZE(fn, c);
    NVP_CHECK_SIZE(fn, hw);
    return NVP_OK;
}

nvp_status nvp_batchnorm_forward_train_check(
    float *y, float *mean, float *invstd, const float *x, const float *gamma, const float *beta, int64_t n,
    int64_t c, int64_t hw, float eps, float momentum) {
    const char *fn = "nvp_batchnorm_forward_train";
    nvp_status st = check_sizes(fn, n, c, hw);
    if (st != NVP_OK) return st;
    if (!(eps >= 0.0f) || isinf(eps))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: eps = %g is not a finite value >= 0", fn, (double)eps);
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: momentum = %g is not in [0, 1]", fn, (double)momentum);
    if (c == 0) return NVP_OK;
    if (n * hw < 2)
        return nvp_fail(NVP_STATUS_BAD_SHAPE,
                        "%s: x (%lld,%lld,%lld) has %lld value(s) per channel; batch statistics need at least 2",
                        fn, (long long)n, (long long)c, (long long)hw, (long long)(n * hw));
    NVP_CHECK_PTR(fn, mean); /* y may be NULL: the statistics only (a conv applies them, nvp_bn_relu) */
    NVP_CHECK_PTR(fn, invstd);
    NVP_CHECK_PTR(fn, x);
    NVP_CHECK_PTR(fn, gamma);
    NVP_CHECK_PTR(fn, beta);
    return NVP_OK;
}

nvp_status nvp_batchnorm_eval_check(const char *fn, float *y, const float *x,
                                                                          const float *gamma, const float *beta,
                                                                          const float *mean, const float *invstd,
                                                                          int64_t n, int64_t c, int64_t hw) {
    nvp_status st = check_sizes(fn, n, c, hw);
    if (st != NVP_OK) return st;
    if (c == 0) return NVP_OK;
    NVP_CHECK_PTR(fn, y);
    NVP_CHECK_PTR(fn, x);
    NVP_CHECK_PTR(fn, gamma);
    NVP_CHECK_PTR(fn, beta);
    NVP_CHECK_PTR(fn, mean);
    NVP_CHECK_PTR(fn, invstd);
    return NVP_OK;
}

nvp_status nvp_batchnorm_backward_check(
    float *dx, const float *dy, const float *x, const float *gamma, const float *beta, const float *mean,
    const float *invstd, int64_t n, int64_t c, int64_t hw) {
    const char *fn = "nvp_batchnorm_backward";
    nvp_status st = check_sizes(fn, n, c, hw);
    if (st != NVP_OK) return st;
    if (c == 0) return NVP_OK;
    NVP_CHECK_PTR(fn, dx);
    NVP_CHECK_PTR(fn, dy);
    NVP_CHECK_PTR(fn, x);
    NVP_CHECK_PTR(fn, gamma);
    NVP_CHECK_PTR(fn, beta);
    NVP_CHECK_PTR(fn, mean);
    NVP_CHECK_PTR(fn, invstd);
    return NVP_OK;
}

nvp_status nvp_batchnorm_moments_check(double *sum, double *sumsq,
                                                                             const float *x, int64_t n, int64_t c,
                                                                             int64_t hw) {
    const char *fn = "nvp_batchnorm_moments";
    nvp_status st = check_sizes(fn, n, c, hw);
    if (st != NVP_OK) return st;
    if (c == 0) return NVP_OK;
    if (sum == NULL && sumsq == NULL) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: sum and sumsq are both NULL", fn);
    NVP_CHECK_PTR(fn, x);
    return NVP_OK;
}

/* The backward steps: out is sums (nvp_batchnorm_backward_sums) or dx (nvp_batchnorm_backward_apply). */
nvp_status nvp_batchnorm_steps_check(
    const char *fn, const void *out, const float *dy, const float *x, const float *gamma, const float *beta,
    const float *mean, const float *invstd, int64_t n, int64_t c, int64_t hw) {
    nvp_status st = check_sizes(fn, n, c, hw);
    if (st != NVP_OK) return st;
    if (c == 0) return NVP_OK;
    if (out == NULL) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: the output is NULL", fn);
    NVP_CHECK_PTR(fn, dy);
    NVP_CHECK_PTR(fn, x);
    NVP_CHECK_PTR(fn, gamma);
    NVP_CHECK_PTR(fn, beta);
    NVP_CHECK_PTR(fn, mean);
    NVP_CHECK_PTR(fn, invstd);
    return NVP_OK;
}

nvp_status nvp_batchnorm_apply_check(
    float *dx, const float *dy, const float *x, const float *gamma, const float *beta, const float *mean,
    const float *invstd, const double *local, const double *total, int64_t m_total, int64_t n, int64_t c,
    int64_t hw) {
    const char *fn = "nvp_batchnorm_backward_apply";
    nvp_status st = nvp_batchnorm_steps_check(fn, dx, dy, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK || c == 0) return st;
    NVP_CHECK_PTR(fn, local);
    NVP_CHECK_PTR(fn, total);
    if (m_total < n * hw)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: m_total = %lld is less than this rank's %lld values per channel", fn,
                        (long long)m_total, (long long)(n * hw));
    return NVP_OK;
}

/* ---- scalar references ---- */

// x, y: (N,C,HW); mean, invstd [OUT], running_mean, running_var (may be NULL), gamma, beta: (C)
nvp_status nvp_batchnorm_forward_train_ref(float *y, float *mean, float *invstd, float *running_mean,
                                           float *running_var, const float *x, const float *gamma,
                                           const float *beta, int64_t n, int64_t c, int64_t hw, float eps,
                                           float momentum, int relu) {
    nvp_status st = nvp_batchnorm_forward_train_check(y, mean, invstd, x, gamma, beta, n, c, hw, eps, momentum);
    if (st != NVP_OK) return st;
    const int64_t m = n * hw;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        double s = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *xr = x + (i * c + ch) * hw;
            for (int64_t j = 0; j < hw; j++) s += xr[j];
        }
        double mu = s / (double)m;
        double q = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *xr = x + (i * c + ch) * hw;
            for (int64_t j = 0; j < hw; j++) {
                double d = xr[j] - mu;
                q += d * d;
            }
        }
        double var = q / (double)m;
        float mf = (float)mu, is = (float)(1.0 / sqrt(var + (double)eps));
        mean[ch] = mf;
        invstd[ch] = is;
        if (running_mean) running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mu);
        if (running_var)
            running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * (q / (double)(m - 1)));
        float scale = gamma[ch] * is, b = beta[ch];
        for (int64_t i = 0; y != NULL && i < n; i++) {
            const float *xr = x + (i * c + ch) * hw;
            float *yr = y + (i * c + ch) * hw;
            for (int64_t j = 0; j < hw; j++) {
                float v = (xr[j] - mf) * scale + b;
                yr[j] = (relu && !(v > 0.0f)) ? 0.0f : v;
            }
        }
    }
    return NVP_OK;
}

nvp_status nvp_batchnorm_forward_eval_ref(float *y, const float *x, const float *gamma, const float *beta,
                                          const float *mean, const float *invstd, int64_t n, int64_t c,
                                          int64_t hw, int relu) {
    nvp_status st = nvp_batchnorm_eval_check("nvp_batchnorm_forward_eval", y, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK) return st;
#pragma omp parallel for collapse(2) schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        for (int64_t ch = 0; ch < c; ch++) {
            const float *xr = x + (i * c + ch) * hw;
            float *yr = y + (i * c + ch) * hw;
            float mf = mean[ch], scale = gamma[ch] * invstd[ch], b = beta[ch];
            for (int64_t j = 0; j < hw; j++) {
                float v = (xr[j] - mf) * scale + b;
                yr[j] = (relu && !(v > 0.0f)) ? 0.0f : v;
            }
        }
    }
    return NVP_OK;
}

/* The inverse has no AVX2 twin: it runs once per sampled batch, and the compiler vectorises it. */
nvp_status nvp_batchnorm_inverse(float *x, const float *y, const float *gamma, const float *beta,
                                 const float *mean, const float *invstd, int64_t n, int64_t c, int64_t hw) {
    const char *fn = "nvp_batchnorm_inverse";
    nvp_status st = nvp_batchnorm_eval_check(fn, x, y, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK) return st;
    for (int64_t ch = 0; ch < c; ch++) {
        float s = gamma[ch] * invstd[ch];
        if (!(s != 0.0f) || !isfinite(s))
            return nvp_fail(NVP_STATUS_BAD_ARG, "%s: gamma[%lld]*invstd[%lld] = %g is not invertible", fn,
                            (long long)ch, (long long)ch, (double)s);
    }
#pragma omp parallel for collapse(2) schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        for (int64_t ch = 0; ch < c; ch++) {
            const float *yr = y + (i * c + ch) * hw;
            float *xr = x + (i * c + ch) * hw;
            float r = (float)(1.0 / ((double)gamma[ch] * invstd[ch])), mf = mean[ch], b = beta[ch];
            for (int64_t j = 0; j < hw; j++) xr[j] = (yr[j] - b) * r + mf;
        }
    }
    return NVP_OK;
}

nvp_status nvp_batchnorm_backward_ref(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                      const float *gamma, const float *beta, const float *mean,
                                      const float *invstd, int64_t n, int64_t c, int64_t hw, int relu,
                                      float dlogdet, int training, int accumulate_dx) {
    nvp_status st = nvp_batchnorm_backward_check(dx, dy, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK) return st;
    const int64_t m = n * hw;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const float mf = mean[ch], is = invstd[ch], scale = gamma[ch] * is, b = beta[ch];
        double sd = 0.0, sdx = 0.0; /* sum(dyh), sum(dyh xhat) */
        for (int64_t i = 0; i < n; i++) {
            const float *xr = x + (i * c + ch) * hw, *dyr = dy + (i * c + ch) * hw;
            for (int64_t j = 0; j < hw; j++) {
                float d = dyr[j];
                if (relu && !((xr[j] - mf) * scale + b > 0.0f)) d = 0.0f;
                sd += d;
                sdx += (double)d * ((xr[j] - mf) * is);
            }
        }
        if (dgamma) dgamma[ch] += (float)(sdx + (dlogdet != 0.0f ? (double)dlogdet * (double)m / gamma[ch] : 0.0));
        if (dbeta) dbeta[ch] += (float)sd;
        /* dx (+)= k1 dyh + k2 xhat + k0 */
        float k1 = scale, k2 = 0.0f, k0 = 0.0f;
        if (training && m > 0) {
            k0 = (float)(-(double)scale * sd / (double)m);
            k2 = (float)(-(double)scale * sdx / (double)m - (double)dlogdet * is);
        }
        for (int64_t i = 0; i < n; i++) {
            const float *xr = x + (i * c + ch) * hw, *dyr = dy + (i * c + ch) * hw;
            float *dxr = dx + (i * c + ch) * hw;
            for (int64_t j = 0; j < hw; j++) {
                float d = dyr[j];
                if (relu && !((xr[j] - mf) * scale + b > 0.0f)) d = 0.0f;
                dxr[j] = (accumulate_dx ? dxr[j] : 0.0f) + (k1 * d + k2 * ((xr[j] - mf) * is) + k0);
            }
        }
    }
    return NVP_OK;
}

/* ---- synchronised batch norm in steps (the caller reduces the sums over ranks in between) ---- */

// x: (N,C,HW); center (may be NULL), sum, sumsq [OUT] (either may be NULL): (C)
nvp_status nvp_batchnorm_moments_ref(double *sum, double *sumsq, const float *x, const double *center, int64_t n,
                                     int64_t c, int64_t hw) {
    nvp_status st = nvp_batchnorm_moments_check(sum, sumsq, x, n, c, hw);
    if (st != NVP_OK) return st;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const double cc = center ? center[ch] : 0.0;
        double s = 0.0, q = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *xr = x + (i * c + ch) * hw;
            for (int64_t j = 0; j < hw; j++) {
                double d = xr[j] - cc;
                s += d;
                q += d * d;
            }
        }
        if (sum) sum[ch] = s;
        if (sumsq) sumsq[ch] = q;
    }
    return NVP_OK;
}

// mean, invstd [OUT], running_mean, running_var (may be NULL), mean_d, sumsq: (C); m values per channel
nvp_status nvp_batchnorm_finish_stats(float *mean, float *invstd, float *running_mean, float *running_var,
                                      const double *mean_d, const double *sumsq, int64_t m, int64_t c, float eps,
                                      float momentum) {
    const char *fn = "nvp_batchnorm_finish_stats";
    NVP_CHECK_SIZE(fn, c);
    if (!(eps >= 0.0f) || isinf(eps))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: eps = %g is not a finite value >= 0", fn, (double)eps);
    if (!(momentum >= 0.0f && momentum <= 1.0f))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: momentum = %g is not in [0, 1]", fn, (double)momentum);
    if (c == 0) return NVP_OK;
    if (m < 2)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: %lld value(s) per channel over all ranks; batch statistics need "
                        "at least 2", fn, (long long)m);
    NVP_CHECK_PTR(fn, mean);
    NVP_CHECK_PTR(fn, invstd);
    NVP_CHECK_PTR(fn, mean_d);
    NVP_CHECK_PTR(fn, sumsq);
    for (int64_t ch = 0; ch < c; ch++) {
        double mu = mean_d[ch], q = sumsq[ch];
        mean[ch] = (float)mu;
        invstd[ch] = (float)(1.0 / sqrt(q / (double)m + (double)eps));
        if (running_mean) running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mu);
        if (running_var)
            running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * (q / (double)(m - 1)));
    }
    return NVP_OK;
}

// dy, x: (N,C,HW); sums [OUT]: (2C) = sum(dyh) per channel, then sum(dyh xhat) per channel
nvp_status nvp_batchnorm_backward_sums_ref(double *sums, const float *dy, const float *x, const float *gamma,
                                           const float *beta, const float *mean, const float *invstd, int64_t n,
                                           int64_t c, int64_t hw, int relu) {
    nvp_status st =
        nvp_batchnorm_steps_check("nvp_batchnorm_backward_sums", sums, dy, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK) return st;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const float mf = mean[ch], is = invstd[ch], scale = gamma[ch] * is, b = beta[ch];
        double sd = 0.0, sdx = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *xr = x + (i * c + ch) * hw, *dyr = dy + (i * c + ch) * hw;
            for (int64_t j = 0; j < hw; j++) {
                float d = dyr[j];
                if (relu && !((xr[j] - mf) * scale + b > 0.0f)) d = 0.0f;
                sd += d;
                sdx += (double)d * ((xr[j] - mf) * is);
            }
        }
        sums[ch] = sd;
        sums[c + ch] = sdx;
    }
    return NVP_OK;
}

// dx, dy, x: (N,C,HW); dgamma, dbeta (may be NULL): (C); local, total: (2C) from nvp_batchnorm_backward_sums
nvp_status nvp_batchnorm_backward_apply_ref(float *dx, float *dgamma, float *dbeta, const float *dy,
                                            const float *x, const float *gamma, const float *beta,
                                            const float *mean, const float *invstd, const double *local,
                                            const double *total, int64_t m_total, int64_t n, int64_t c,
                                            int64_t hw, int relu, float dlogdet) {
    nvp_status st = nvp_batchnorm_apply_check(dx, dy, x, gamma, beta, mean, invstd, local, total, m_total, n, c, hw);
    if (st != NVP_OK) return st;
    const int64_t m = n * hw;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const float mf = mean[ch], is = invstd[ch], scale = gamma[ch] * is, b = beta[ch];
        if (dgamma)
            dgamma[ch] += (float)(local[c + ch] + (dlogdet != 0.0f ? (double)dlogdet * (double)m / gamma[ch] : 0.0));
        if (dbeta) dbeta[ch] += (float)local[ch];
        const float k1 = scale, k0 = (float)(-(double)scale * total[ch] / (double)m_total);
        const float k2 = (float)(-(double)scale * total[c + ch] / (double)m_total - (double)dlogdet * is);
        for (int64_t i = 0; i < n; i++) {
            const float *xr = x + (i * c + ch) * hw, *dyr = dy + (i * c + ch) * hw;
            float *dxr = dx + (i * c + ch) * hw;
            for (int64_t j = 0; j < hw; j++) {
                float d = dyr[j];
                if (relu && !((xr[j] - mf) * scale + b > 0.0f)) d = 0.0f;
                dxr[j] += k1 * d + k2 * ((xr[j] - mf) * is) + k0;
            }
        }
    }
    return NVP_OK;
}

/* ---- the op table: the public entries call the chosen path through it ---- */

typedef struct batchnorm_ops {
    __typeof__(nvp_batchnorm_forward_train_ref) *batchnorm_forward_train;
    __typeof__(nvp_batchnorm_forward_eval_ref) *batchnorm_forward_eval;
    __typeof__(nvp_batchnorm_backward_ref) *batchnorm_backward;
    __typeof__(nvp_batchnorm_moments_ref) *batchnorm_moments;
    __typeof__(nvp_batchnorm_backward_sums_ref) *batchnorm_backward_sums;
    __typeof__(nvp_batchnorm_backward_apply_ref) *batchnorm_backward_apply;
} batchnorm_ops;
static const batchnorm_ops ref_ops = {
    .batchnorm_forward_train = nvp_batchnorm_forward_train_ref,
    .batchnorm_forward_eval = nvp_batchnorm_forward_eval_ref,
    .batchnorm_backward = nvp_batchnorm_backward_ref,
    .batchnorm_moments = nvp_batchnorm_moments_ref,
    .batchnorm_backward_sums = nvp_batchnorm_backward_sums_ref,
    .batchnorm_backward_apply = nvp_batchnorm_backward_apply_ref,
};
static const batchnorm_ops avx2_ops = {
    .batchnorm_forward_train = nvp_batchnorm_forward_train_avx2,
    .batchnorm_forward_eval = nvp_batchnorm_forward_eval_avx2,
    .batchnorm_backward = nvp_batchnorm_backward_avx2,
    .batchnorm_moments = nvp_batchnorm_moments_avx2,
    .batchnorm_backward_sums = nvp_batchnorm_backward_sums_avx2,
    .batchnorm_backward_apply = nvp_batchnorm_backward_apply_avx2,
};
static const batchnorm_ops *ops = &ref_ops; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_batchnorm_select(nvp_isa isa) { ops = isa >= NVP_ISA_AVX2 ? &avx2_ops : &ref_ops; }

nvp_status nvp_batchnorm_forward_train(float *y, float *mean, float *invstd, float *running_mean,
                                       float *running_var, const float *x, const float *gamma,
                                       const float *beta, int64_t n, int64_t c, int64_t hw, float eps,
                                       float momentum, int relu) {
    return ops->batchnorm_forward_train(y, mean, invstd, running_mean, running_var, x, gamma,
                                                           beta, n, c, hw, eps, momentum, relu);
}

nvp_status nvp_batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                                      const float *mean, const float *invstd, int64_t n, int64_t c, int64_t hw,
                                      int relu) {
    return ops->batchnorm_forward_eval(y, x, gamma, beta, mean, invstd, n, c, hw, relu);
}

nvp_status nvp_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                  const float *gamma, const float *beta, const float *mean, const float *invstd,
                                  int64_t n, int64_t c, int64_t hw, int relu, float dlogdet, int training,
                                  int accumulate_dx) {
    return ops->batchnorm_backward(dx, dgamma, dbeta, dy, x, gamma, beta, mean, invstd, n, c,
                                                      hw, relu, dlogdet, training, accumulate_dx);
}

nvp_status nvp_batchnorm_moments(double *sum, double *sumsq, const float *x, const double *center, int64_t n,
                                 int64_t c, int64_t hw) {
    return ops->batchnorm_moments(sum, sumsq, x, center, n, c, hw);
}

nvp_status nvp_batchnorm_backward_sums(double *sums, const float *dy, const float *x, const float *gamma,
                                       const float *beta, const float *mean, const float *invstd, int64_t n,
                                       int64_t c, int64_t hw, int relu) {
    return ops->batchnorm_backward_sums(sums, dy, x, gamma, beta, mean, invstd, n, c, hw, relu);
}

nvp_status nvp_batchnorm_backward_apply(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                        const float *gamma, const float *beta, const float *mean,
                                        const float *invstd, const double *local, const double *total,
                                        int64_t m_total, int64_t n, int64_t c, int64_t hw, int relu, float dlogdet) {
    return ops->batchnorm_backward_apply(dx, dgamma, dbeta, dy, x, gamma, beta, mean, invstd,
                                                            local, total, m_total, n, c, hw, relu, dlogdet);
}
