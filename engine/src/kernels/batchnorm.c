/*
 * batchnorm.c -- batch normalisation over (N, HW) per channel (Ioffe & Szegedy 2015), optionally fused
 * with ReLU, as in the s/t networks (docs/REFERENCE.md 2.4) and as an invertible flow layer (Real NVP, Sec.
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
 * as the output; backward_sums (sum dyh, sum dyh xhat), backward_apply. Every kernel here is written once,
 * composed of the per-channel steps of the current CPU path (nvp_batchnorm_steps: the scalar ones below,
 * the AVX2 ones in batchnorm_avx2.c): the fused kernels are the synchronised ones with this rank's sums as
 * the total, so one rank gets the same numbers either way (the AVX2 training forward takes its statistics
 * in one pass of the moments step, about the channel's first value).
 */
#include "batchnorm_internal.h"

#include <math.h>

#define OMP_MIN 32768 /* elements; below this a parallel region costs more than it saves */
#define EVAL_CHANNELS 16

/* ---- argument checks (every entry, whichever path runs) ---- */

static nvp_status check_sizes(const char *fn, int64_t n, int64_t c, int64_t hw) {
    NVP_CHECK_SIZE(fn, n);
    NVP_CHECK_SIZE(fn, c);
    NVP_CHECK_SIZE(fn, hw);
    return NVP_OK;
}

static nvp_status forward_train_check(
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

/* The arrays every per-channel kernel reads: out (y, dx or sums), x, gamma, beta, mean, invstd. */
static nvp_status check_channel_arrays(const char *fn, const char *out_name, const void *out, const float *x,
                                       const float *gamma, const float *beta, const float *mean,
                                       const float *invstd, int64_t n, int64_t c, int64_t hw) {
    nvp_status st = check_sizes(fn, n, c, hw);
    if (st != NVP_OK || c == 0) return st;
    if (out == NULL) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: %s is NULL", fn, out_name);
    NVP_CHECK_PTR(fn, x);
    NVP_CHECK_PTR(fn, gamma);
    NVP_CHECK_PTR(fn, beta);
    NVP_CHECK_PTR(fn, mean);
    NVP_CHECK_PTR(fn, invstd);
    return NVP_OK;
}

static nvp_status eval_check(const char *fn, float *y, const float *x, const float *gamma, const float *beta,
                                    const float *mean, const float *invstd, int64_t n, int64_t c, int64_t hw) {
    return check_channel_arrays(fn, "y", y, x, gamma, beta, mean, invstd, n, c, hw);
}

static nvp_status backward_check(float *dx, const float *dy, const float *x, const float *gamma,
                                        const float *beta, const float *mean, const float *invstd, int64_t n,
                                        int64_t c, int64_t hw) {
    const char *fn = "nvp_batchnorm_backward";
    nvp_status st = check_channel_arrays(fn, "dx", dx, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK || c == 0) return st;
    NVP_CHECK_PTR(fn, dy);
    return NVP_OK;
}

static nvp_status moments_check(double *sum, double *sumsq, const float *x, int64_t n, int64_t c,
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
static nvp_status steps_check(const char *fn, const void *out, const float *dy, const float *x,
                                     const float *gamma, const float *beta, const float *mean, const float *invstd,
                                     int64_t n, int64_t c, int64_t hw) {
    nvp_status st = check_channel_arrays(fn, "the output", out, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK || c == 0) return st;
    NVP_CHECK_PTR(fn, dy);
    return NVP_OK;
}

static nvp_status apply_check(float *dx, const float *dy, const float *x, const float *gamma,
                                     const float *beta, const float *mean, const float *invstd, const double *local,
                                     const double *total, int64_t m_total, int64_t n, int64_t c, int64_t hw) {
    const char *fn = "nvp_batchnorm_backward_apply";
    nvp_status st = steps_check(fn, dx, dy, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK || c == 0) return st;
    NVP_CHECK_PTR(fn, local);
    NVP_CHECK_PTR(fn, total);
    if (m_total < n * hw)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: m_total = %lld is less than this rank's %lld values per channel", fn,
                        (long long)m_total, (long long)(n * hw));
    return NVP_OK;
}

/* ---- the scalar arithmetic on a channel's sums (both paths) ---- */

/* mean[ch], invstd[ch] = 1/sqrt(q/m + eps) and the running averages (unbiased variance q/(m-1)) from the
 * mean mu and q = the sum of squared deviations over m values: the end of the statistics step. */
static void channel_stats(float *mean, float *invstd, float *running_mean, float *running_var, int64_t ch, double mu,
                          double q, int64_t m, float eps, float momentum) {
    mean[ch] = (float)mu;
    invstd[ch] = (float)(1.0 / sqrt(q / (double)m + (double)eps));
    if (running_mean) running_mean[ch] = (float)((1.0 - momentum) * running_mean[ch] + momentum * mu);
    if (running_var) running_var[ch] = (float)((1.0 - momentum) * running_var[ch] + momentum * (q / (double)(m - 1)));
}

/* dgamma[ch] += sdx + dlogdet m / gamma, dbeta[ch] += sd (this rank's sums over its m values); [OUT] k2,
 * k0 of dx (+)= k1 dyh + k2 xhat + k0 (k1 = gamma invstd) from the sums over all ranks' m_total values;
 * training = 0: k2 = k0 = 0 (the statistics were constants). The middle of the backward. */
static void channel_grads(float *dgamma, float *dbeta, float *k2, float *k0, int64_t ch, double sd, double sdx,
                          double sd_total, double sdx_total, int64_t m, int64_t m_total, float gamma, float is,
                          float dlogdet, int training) {
    if (dgamma) dgamma[ch] += (float)(sdx + (dlogdet != 0.0f ? (double)dlogdet * (double)m / gamma : 0.0));
    if (dbeta) dbeta[ch] += (float)sd;
    const float scale = gamma * is;
    *k2 = 0.0f, *k0 = 0.0f;
    if (training && m_total > 0) {
        *k0 = (float)(-(double)scale * sd_total / (double)m_total);
        *k2 = (float)(-(double)scale * sdx_total / (double)m_total - (double)dlogdet * is);
    }
}

/* ---- the scalar path's steps over one channel (the reference) ---- */

static void moments_ref(double *s_out, double *q_out, const float *x, int64_t n, int64_t c, int64_t hw, int64_t ch,
                        double center) {
    double s = 0.0, q = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float *xr = x + (i * c + ch) * hw;
        for (int64_t j = 0; j < hw; j++) {
            double d = xr[j] - center;
            s += d;
            q += d * d;
        }
    }
    *s_out = s;
    *q_out = q;
}

/* Two passes of the moments step: the sum, then the squares about the mean. */
static void batch_stats_ref(double *mu, double *q, const float *x, int64_t n, int64_t c, int64_t hw, int64_t ch) {
    double s;
    moments_ref(&s, q, x, n, c, hw, ch, 0.0);
    *mu = s / (double)(n * hw);
    moments_ref(&s, q, x, n, c, hw, ch, *mu);
}

static void affine_ref(float *y, const float *x, int64_t images, int64_t image_stride, int64_t channels, int64_t hw,
                       const float *mean, const float *gamma, const float *invstd, const float *beta, int relu) {
    for (int64_t ch = 0; ch < channels; ch++) {
        const float mf = mean[ch], scale = gamma[ch] * invstd[ch], b = beta[ch];
        for (int64_t i = 0; i < images; i++) {
            const float *xr = x + i * image_stride + ch * hw;
            float *yr = y + i * image_stride + ch * hw;
            for (int64_t j = 0; j < hw; j++) {
                float v = (xr[j] - mf) * scale + b;
                yr[j] = (relu && !(v > 0.0f)) ? 0.0f : v;
            }
        }
    }
}

static void grad_sums_ref(double *sd_out, double *sdx_out, const float *x, const float *dy, int64_t n, int64_t c,
                          int64_t hw, int64_t ch, float mf, float is, float scale, float b, int relu) {
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
    *sd_out = sd;
    *sdx_out = sdx;
}

static void grad_apply_ref(float *dx, const float *x, const float *dy, int64_t n, int64_t c, int64_t hw, int64_t ch,
                           float mf, float is, float scale, float b, int relu, float k1, float k2, float k0,
                           int accumulate) {
    for (int64_t i = 0; i < n; i++) {
        const float *xr = x + (i * c + ch) * hw, *dyr = dy + (i * c + ch) * hw;
        float *dxr = dx + (i * c + ch) * hw;
        for (int64_t j = 0; j < hw; j++) {
            float d = dyr[j];
            if (relu && !((xr[j] - mf) * scale + b > 0.0f)) d = 0.0f;
            dxr[j] = (accumulate ? dxr[j] : 0.0f) + (k1 * d + k2 * ((xr[j] - mf) * is) + k0);
        }
    }
}

static const nvp_batchnorm_steps steps_ref = {
    .moments = moments_ref,
    .batch_stats = batch_stats_ref,
    .affine = affine_ref,
    .grad_sums = grad_sums_ref,
    .grad_apply = grad_apply_ref,
};
static const nvp_batchnorm_steps *steps = &steps_ref; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_batchnorm_select(nvp_isa isa) { steps = isa >= NVP_ISA_AVX2 ? &nvp_batchnorm_steps_avx2 : &steps_ref; }

/* ---- the kernels, composed of the current path's steps: the fused training transform is the
 * synchronised one with this rank's sums as the total ---- */

// x, y: (N,C,HW); mean, invstd [OUT], running_mean, running_var (may be NULL), gamma, beta: (C)
nvp_status nvp_batchnorm_forward_train(float *y, float *mean, float *invstd, float *running_mean, float *running_var,
                                       const float *x, const float *gamma, const float *beta, int64_t n, int64_t c,
                                       int64_t hw, float eps, float momentum, int relu) {
    nvp_status st = forward_train_check(y, mean, invstd, x, gamma, beta, n, c, hw, eps, momentum);
    if (st != NVP_OK) return st;
    const nvp_batchnorm_steps *k = steps;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        double mu, q;
        k->batch_stats(&mu, &q, x, n, c, hw, ch);
        channel_stats(mean, invstd, running_mean, running_var, ch, mu, q, n * hw, eps, momentum);
        if (y != NULL) k->affine(y + ch * hw, x + ch * hw, n, c * hw, 1, hw, mean + ch, gamma + ch, invstd + ch,
                                 beta + ch, relu);
    }
    return NVP_OK;
}

// x, y: (N,C,HW); gamma, beta, mean, invstd: (C)
nvp_status nvp_batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                                      const float *mean, const float *invstd, int64_t n, int64_t c, int64_t hw,
                                      int relu) {
    nvp_status st = eval_check("nvp_batchnorm_forward_eval", y, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK) return st;
    const nvp_batchnorm_steps *k = steps;
    /* one apply step per block of up to EVAL_CHANNELS channels of an image: consecutive rows, so each
     * thread's share is contiguous in memory (as a loop over (image, channel) was) */
    const int64_t blocks = (c + EVAL_CHANNELS - 1) / EVAL_CHANNELS;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t t = 0; t < n * blocks; t++) {
        int64_t i = t / blocks, ch = t % blocks * EVAL_CHANNELS;
        int64_t nch = c - ch < EVAL_CHANNELS ? c - ch : EVAL_CHANNELS;
        k->affine(y + (i * c + ch) * hw, x + (i * c + ch) * hw, 1, c * hw, nch, hw, mean + ch, gamma + ch, invstd + ch,
                  beta + ch, relu);
    }
    return NVP_OK;
}

// dx, dy, x: (N,C,HW); dgamma, dbeta (may be NULL), gamma, beta, mean, invstd: (C)
nvp_status nvp_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                  const float *gamma, const float *beta, const float *mean, const float *invstd,
                                  int64_t n, int64_t c, int64_t hw, int relu, float dlogdet, int training,
                                  int accumulate_dx) {
    nvp_status st = backward_check(dx, dy, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK) return st;
    const nvp_batchnorm_steps *k = steps;
    const int64_t m = n * hw;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const float mf = mean[ch], is = invstd[ch], scale = gamma[ch] * is, b = beta[ch];
        double sd, sdx;
        float k2, k0;
        k->grad_sums(&sd, &sdx, x, dy, n, c, hw, ch, mf, is, scale, b, relu);
        channel_grads(dgamma, dbeta, &k2, &k0, ch, sd, sdx, sd, sdx, m, m, gamma[ch], is, dlogdet, training);
        k->grad_apply(dx, x, dy, n, c, hw, ch, mf, is, scale, b, relu, scale, k2, k0, accumulate_dx);
    }
    return NVP_OK;
}

/* The inverse has no AVX2 twin: it runs once per sampled batch, and the compiler vectorises it. */
nvp_status nvp_batchnorm_inverse(float *x, const float *y, const float *gamma, const float *beta,
                                 const float *mean, const float *invstd, int64_t n, int64_t c, int64_t hw) {
    const char *fn = "nvp_batchnorm_inverse";
    nvp_status st = eval_check(fn, x, y, gamma, beta, mean, invstd, n, c, hw);
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

/* ---- synchronised batch norm in steps (the caller reduces the sums over ranks in between) ---- */

// x: (N,C,HW); center (may be NULL), sum, sumsq [OUT] (either may be NULL): (C)
nvp_status nvp_batchnorm_moments(double *sum, double *sumsq, const float *x, const double *center, int64_t n,
                                 int64_t c, int64_t hw) {
    nvp_status st = moments_check(sum, sumsq, x, n, c, hw);
    if (st != NVP_OK) return st;
    const nvp_batchnorm_steps *k = steps;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        double s, q;
        k->moments(&s, &q, x, n, c, hw, ch, center ? center[ch] : 0.0);
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
    for (int64_t ch = 0; ch < c; ch++)
        channel_stats(mean, invstd, running_mean, running_var, ch, mean_d[ch], sumsq[ch], m, eps, momentum);
    return NVP_OK;
}

// dy, x: (N,C,HW); sums [OUT]: (2C) = sum(dyh) per channel, then sum(dyh xhat) per channel
nvp_status nvp_batchnorm_backward_sums(double *sums, const float *dy, const float *x, const float *gamma,
                                       const float *beta, const float *mean, const float *invstd, int64_t n,
                                       int64_t c, int64_t hw, int relu) {
    nvp_status st = steps_check("nvp_batchnorm_backward_sums", sums, dy, x, gamma, beta, mean, invstd, n, c, hw);
    if (st != NVP_OK) return st;
    const nvp_batchnorm_steps *k = steps;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++)
        k->grad_sums(&sums[ch], &sums[c + ch], x, dy, n, c, hw, ch, mean[ch], invstd[ch], gamma[ch] * invstd[ch],
                     beta[ch], relu);
    return NVP_OK;
}

// dx, dy, x: (N,C,HW); dgamma, dbeta (may be NULL): (C); local, total: (2C) from nvp_batchnorm_backward_sums
nvp_status nvp_batchnorm_backward_apply(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                        const float *gamma, const float *beta, const float *mean,
                                        const float *invstd, const double *local, const double *total,
                                        int64_t m_total, int64_t n, int64_t c, int64_t hw, int relu, float dlogdet) {
    nvp_status st = apply_check(dx, dy, x, gamma, beta, mean, invstd, local, total, m_total, n, c, hw);
    if (st != NVP_OK) return st;
    const nvp_batchnorm_steps *k = steps;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const float mf = mean[ch], is = invstd[ch], scale = gamma[ch] * is;
        float k2, k0;
        channel_grads(dgamma, dbeta, &k2, &k0, ch, local[ch], local[c + ch], total[ch], total[c + ch], n * hw,
                      m_total, gamma[ch], is, dlogdet, 1);
        k->grad_apply(dx, x, dy, n, c, hw, ch, mf, is, scale, beta[ch], relu, scale, k2, k0, 1);
    }
    return NVP_OK;
}
