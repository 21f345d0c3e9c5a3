/*
 * actnorm.c -- Glow's activation normalisation (Kingma & Dhariwal 2018, Sec. 3.1; openai/glow
 * model.py actnorm): a per-channel affine map y = (x + b_c) exp(logs_c) whose parameters a
 * data-dependent initialisation sets from the first batch (zero mean, unit variance per channel).
 * log|det| per sample = H W sum_c logs_c, which the caller adds (it does not depend on x).
 * Scalar references, the data-dependent initialisation and the dispatchers; the AVX2 twins are in
 * actnorm_avx2.c. relu = 1 fuses a ReLU after the map (the Glow s/t network: conv -> actnorm -> ReLU).
 *
 * Reductions (dlogs, dbias) are per channel in double, each channel by one thread in sample order,
 * so results do not depend on the thread count.
 */
#include "actnorm_internal.h"

#include <math.h>

#define OMP_MIN 32768 /* elements below which a parallel region costs more than it saves */

nvp_status nvp_actnorm_check_(const char *fn, const void *out, const void *in, const float *logs, const float *bias,
                              int64_t n, int64_t c, int64_t hw) {
    NVP_CHECK_SIZE(fn, n);
    NVP_CHECK_SIZE(fn, c);
    NVP_CHECK_SIZE(fn, hw);
    if (n * c * hw > 0 && (out == NULL || in == NULL || logs == NULL || bias == NULL))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: a tensor argument is NULL (out %p, in %p, logs %p, bias %p) for "
                        "x (%lld,%lld,%lld)", fn, out, in, (const void *)logs, (const void *)bias, (long long)n,
                        (long long)c, (long long)hw);
    return NVP_OK;
}

// y, x: (N,C,HW); logs, bias: (C)
nvp_status nvp_actnorm_forward_ref(float *y, const float *x, const float *logs, const float *bias, int64_t n,
                                   int64_t c, int64_t hw, int relu) {
    nvp_status e = nvp_actnorm_check_("nvp_actnorm_forward", y, x, logs, bias, n, c, hw);
    if (e) return e;
#pragma omp parallel for collapse(2) schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++) {
            const float s = expf(logs[ch]), t = bias[ch];
            const float *xp = x + (b * c + ch) * hw;
            float *yp = y + (b * c + ch) * hw;
            for (int64_t p = 0; p < hw; p++) {
                float v = (xp[p] + t) * s;
                yp[p] = relu && v < 0.0f ? 0.0f : v;
            }
        }
    return NVP_OK;
}

// x, y: (N,C,HW); logs, bias: (C)
nvp_status nvp_actnorm_inverse_ref(float *x, const float *y, const float *logs, const float *bias, int64_t n,
                                   int64_t c, int64_t hw) {
    nvp_status e = nvp_actnorm_check_("nvp_actnorm_inverse", x, y, logs, bias, n, c, hw);
    if (e) return e;
#pragma omp parallel for collapse(2) schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++)
        for (int64_t ch = 0; ch < c; ch++) {
            const float r = expf(-logs[ch]), t = bias[ch];
            const float *yp = y + (b * c + ch) * hw;
            float *xp = x + (b * c + ch) * hw;
            for (int64_t p = 0; p < hw; p++) xp[p] = yp[p] * r - t;
        }
    return NVP_OK;
}

// dx, dy, x: (N,C,HW); dlogs, dbias, logs, bias: (C)
nvp_status nvp_actnorm_backward_ref(float *dx, float *dlogs, float *dbias, const float *dy, const float *x,
                                    const float *logs, const float *bias, int64_t n, int64_t c, int64_t hw, int relu,
                                    int accumulate_dx) {
    nvp_status e = nvp_actnorm_check_("nvp_actnorm_backward", dy, x, logs, bias, n, c, hw);
    if (e) return e;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        const float s = expf(logs[ch]), t = bias[ch];
        double sl = 0.0, sb = 0.0;
        for (int64_t b = 0; b < n; b++) {
            const float *xp = x + (b * c + ch) * hw, *gp = dy + (b * c + ch) * hw;
            float *dp = dx != NULL ? dx + (b * c + ch) * hw : NULL;
            for (int64_t p = 0; p < hw; p++) {
                float v = (xp[p] + t) * s;
                float g = relu && v <= 0.0f ? 0.0f : gp[p];
                sl += (double)g * v;   /* dy/dlogs = y */
                sb += g;               /* dy/db = s: applied once below */
                if (dp != NULL) dp[p] = (accumulate_dx ? dp[p] : 0.0f) + g * s;
            }
        }
        if (dlogs != NULL) dlogs[ch] += (float)sl;
        if (dbias != NULL) dbias[ch] += (float)(sb * s);
    }
    return NVP_OK;
}

/* ---- the op table (core/internal.h): the public entries call the chosen path through it ---- */

typedef struct actnorm_ops {
    nvp_status (*forward)(float *, const float *, const float *, const float *, int64_t, int64_t, int64_t, int);
    nvp_status (*inverse)(float *, const float *, const float *, const float *, int64_t, int64_t, int64_t);
    nvp_status (*backward)(float *, float *, float *, const float *, const float *, const float *, const float *,
                           int64_t, int64_t, int64_t, int, int);
} actnorm_ops;

static const actnorm_ops ref_ops = {nvp_actnorm_forward_ref, nvp_actnorm_inverse_ref, nvp_actnorm_backward_ref};
static const actnorm_ops avx2_ops = {nvp_actnorm_forward_avx2, nvp_actnorm_inverse_avx2, nvp_actnorm_backward_avx2};
static const actnorm_ops *ops = &ref_ops; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_actnorm_select(nvp_isa isa) { ops = isa >= NVP_ISA_AVX2 ? &avx2_ops : &ref_ops; }

nvp_status nvp_actnorm_forward(float *y, const float *x, const float *logs, const float *bias, int64_t n, int64_t c,
                               int64_t hw, int relu) {
    return ops->forward(y, x, logs, bias, n, c, hw, relu);
}

nvp_status nvp_actnorm_inverse(float *x, const float *y, const float *logs, const float *bias, int64_t n, int64_t c,
                               int64_t hw) {
    return ops->inverse(x, y, logs, bias, n, c, hw);
}

nvp_status nvp_actnorm_backward(float *dx, float *dlogs, float *dbias, const float *dy, const float *x,
                                const float *logs, const float *bias, int64_t n, int64_t c, int64_t hw, int relu,
                                int accumulate_dx) {
    return ops->backward(dx, dlogs, dbias, dy, x, logs, bias, n, c, hw, relu, accumulate_dx);
}

/* Data-dependent initialisation (once per layer, so no vector twin): per channel, in double,
 * bias = -mean, logs = log(scale / (std + eps)); the outputs of x then have zero mean and standard
 * deviation scale / (1 + eps / std). */
// logs, bias: (C) [OUT]; x: (N,C,HW)
nvp_status nvp_actnorm_init(float *logs, float *bias, const float *x, int64_t n, int64_t c, int64_t hw, float scale,
                            float eps) {
    nvp_status e = nvp_actnorm_check_("nvp_actnorm_init", logs, x, logs, bias, n, c, hw);
    if (e) return e;
    if (n * hw < 1) return nvp_fail(NVP_STATUS_BAD_SHAPE, "nvp_actnorm_init: x (%lld,%lld,%lld) has no values per "
                                    "channel", (long long)n, (long long)c, (long long)hw);
    if (!(scale > 0.0f) || !(eps >= 0.0f))
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_actnorm_init: scale = %g must be > 0 and eps = %g >= 0",
                        (double)scale, (double)eps);
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t ch = 0; ch < c; ch++) {
        double s = 0.0, ss = 0.0;
        for (int64_t b = 0; b < n; b++) {
            const float *xp = x + (b * c + ch) * hw;
            for (int64_t p = 0; p < hw; p++) s += xp[p];
        }
        const double mean = s / (double)(n * hw);
        for (int64_t b = 0; b < n; b++) {
            const float *xp = x + (b * c + ch) * hw;
            for (int64_t p = 0; p < hw; p++) ss += ((double)xp[p] - mean) * ((double)xp[p] - mean);
        }
        const double sd = sqrt(ss / (double)(n * hw));
        bias[ch] = (float)-mean;
        logs[ch] = (float)log((double)scale / (sd + (double)eps));
    }
    return NVP_OK;
}
