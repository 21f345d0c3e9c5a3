/*
 * glow_coupling.c -- Glow's channel-wise couplings (Kingma & Dhariwal 2018, Sec. 3.3, Table 1; openai/glow
 * model.py `revnet2d_step`), on the changing half of the channels given the s/t network's output h
 * computed from the other half:
 *   additive (NICE, Dinh et al. 2015): y = x + t,                       log-det 0,   h = t
 *   affine:                            y = (x + t) sigmoid(r + 2),      log-det = sum log sigmoid(r + 2),
 *                                      h = (t, r): t = channels [0, C/2), r = [C/2, C) of h;
 *   gaussian (Glow's split prior as a flow): y = (x + t) exp(r),        log-det = sum r,  h = (t, r):
 *                                      with t = -mean, r = -log std of the changing half given the
 *                                      other, y is standard normal exactly when x ~ N(mean, std^2).
 * parity 0: channels [0, C/2) condition and [C/2, C) change; parity 1 the other way round. The
 * conditioning half is copied. The network is not here: callers pass h. Scalar code only: the work is
 * a few flops per element against the s/t network's hundreds (the profile: ~1 % of a step), and the
 * compiler vectorises the plain loops.
 *
 * log sigmoid(a) = -softplus(-a) is computed as min(a, 0) - log1p(exp(-|a|)) (no overflow).
 * Reductions (logdet per sample) accumulate in double; work is split over samples.
 */
#include "internal.h"

#include <math.h>

#define OMP_MIN 16384

enum { NVP_GLOW_AFFINE = 0, NVP_GLOW_ADDITIVE = 1, NVP_GLOW_GAUSSIAN = 2 };

static nvp_status check_args(const char *fn, const void *out, const void *in, const float *h, int64_t n, int64_t c,
                             int64_t hw, int parity, int kind) {
    NVP_CHECK_SIZE(fn, n);
    NVP_CHECK_SIZE(fn, c);
    NVP_CHECK_SIZE(fn, hw);
    if (parity != 0 && parity != 1) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: parity = %d (expected 0 or 1)", fn, parity);
    if (kind != NVP_GLOW_AFFINE && kind != NVP_GLOW_ADDITIVE && kind != NVP_GLOW_GAUSSIAN)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: kind = %d (expected 0 affine, 1 additive or 2 gaussian)", fn, kind);
    if (c % 2 != 0)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: a channel-wise coupling needs an even channel count, x is "
                        "(%lld,%lld,%lld)", fn, (long long)n, (long long)c, (long long)hw);
    if (n * c * hw > 0 && (out == NULL || in == NULL || h == NULL))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: a tensor argument is NULL (out %p, in %p, h %p) for x (%lld,%lld,%lld)",
                        fn, out, in, (const void *)h, (long long)n, (long long)c, (long long)hw);
    return NVP_OK;
}

static inline float log_sigmoid(float a) { return fminf(a, 0.0f) - log1pf(expf(-fabsf(a))); }
static inline float sigmoid(float a) { return a >= 0.0f ? 1.0f / (1.0f + expf(-a)) : expf(a) / (1.0f + expf(a)); }

// y, x: (N,C,HW); h: (N,C/2,HW) additive or (N,C,HW) otherwise; logdet: (N) +=
nvp_status nvp_glow_coupling_forward(float *y, float *logdet, const float *x, const float *h, int64_t n, int64_t c,
                                     int64_t hw, int parity, int kind) {
    nvp_status e = check_args("nvp_glow_coupling_forward", y, x, h, n, c, hw, parity, kind);
    if (e) return e;
    const int additive = kind == NVP_GLOW_ADDITIVE;
    if (n > 0 && !additive && logdet == NULL)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_glow_coupling_forward: logdet is NULL");
    const int64_t half = c / 2, ch = additive ? half : c;
    const int64_t cond = parity == 0 ? 0 : half, chg = parity == 0 ? half : 0;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        const float *xb = x + b * c * hw, *hb = h + b * ch * hw;
        float *yb = y + b * c * hw;
        for (int64_t i = 0; i < half * hw; i++) yb[cond * hw + i] = xb[cond * hw + i];
        double sum = 0.0;
        for (int64_t i = 0; i < half * hw; i++) {
            float v = xb[chg * hw + i] + hb[i];
            if (kind == NVP_GLOW_AFFINE) {
                float a = hb[half * hw + i] + 2.0f;
                v *= sigmoid(a);
                sum += log_sigmoid(a);
            } else if (kind == NVP_GLOW_GAUSSIAN) {
                float r = hb[half * hw + i];
                v *= expf(r);
                sum += r;
            }
            yb[chg * hw + i] = v;
        }
        if (!additive) logdet[b] += (float)sum;
    }
    return NVP_OK;
}

// x, y: (N,C,HW); h as in the forward (computed from the conditioning half, the same in x and y)
nvp_status nvp_glow_coupling_inverse(float *x, const float *y, const float *h, int64_t n, int64_t c, int64_t hw,
                                     int parity, int kind) {
    nvp_status e = check_args("nvp_glow_coupling_inverse", x, y, h, n, c, hw, parity, kind);
    if (e) return e;
    const int64_t half = c / 2, ch = kind == NVP_GLOW_ADDITIVE ? half : c;
    const int64_t cond = parity == 0 ? 0 : half, chg = parity == 0 ? half : 0;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        const float *yb = y + b * c * hw, *hb = h + b * ch * hw;
        float *xb = x + b * c * hw;
        for (int64_t i = 0; i < half * hw; i++) xb[cond * hw + i] = yb[cond * hw + i];
        for (int64_t i = 0; i < half * hw; i++) {
            float v = yb[chg * hw + i];
            if (kind == NVP_GLOW_AFFINE) v /= sigmoid(hb[half * hw + i] + 2.0f);
            else if (kind == NVP_GLOW_GAUSSIAN) v *= expf(-hb[half * hw + i]);
            xb[chg * hw + i] = v - hb[i];
        }
    }
    return NVP_OK;
}

// dx, dy, x: (N,C,HW); dh, h: as in the forward; dlogdet: (N)
nvp_status nvp_glow_coupling_backward(float *dx, float *dh, const float *dy, const float *dlogdet, const float *x,
                                      const float *h, int64_t n, int64_t c, int64_t hw, int parity, int kind) {
    nvp_status e = check_args("nvp_glow_coupling_backward", dy, x, h, n, c, hw, parity, kind);
    if (e) return e;
    const int additive = kind == NVP_GLOW_ADDITIVE;
    if (n * c * hw > 0 && (dx == NULL || dh == NULL || (!additive && dlogdet == NULL)))
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_glow_coupling_backward: a gradient is NULL (dx %p, dh %p, dlogdet %p)",
                        (void *)dx, (void *)dh, (const void *)dlogdet);
    const int64_t half = c / 2, ch = additive ? half : c;
    const int64_t cond = parity == 0 ? 0 : half, chg = parity == 0 ? half : 0;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        const float *xb = x + b * c * hw, *hb = h + b * ch * hw, *gb = dy + b * c * hw;
        float *dxb = dx + b * c * hw, *dhb = dh + b * ch * hw;
        const float dl = additive ? 0.0f : dlogdet[b];
        for (int64_t i = 0; i < half * hw; i++) dxb[cond * hw + i] += gb[cond * hw + i];
        for (int64_t i = 0; i < half * hw; i++) {
            float g = gb[chg * hw + i];
            if (additive) {
                dxb[chg * hw + i] += g;
                dhb[i] += g;
                continue;
            }
            float u = xb[chg * hw + i] + hb[i];
            if (kind == NVP_GLOW_AFFINE) {
                float sg = sigmoid(hb[half * hw + i] + 2.0f);
                dxb[chg * hw + i] += g * sg;
                dhb[i] += g * sg;                                           /* d/dt */
                dhb[half * hw + i] += (g * u * sg + dl) * (1.0f - sg);      /* d/dr: sigmoid' = sg (1 - sg) */
            } else {
                float ex = expf(hb[half * hw + i]);
                dxb[chg * hw + i] += g * ex;
                dhb[i] += g * ex;
                dhb[half * hw + i] += g * u * ex + dl;
            }
        }
    }
    return NVP_OK;
}
