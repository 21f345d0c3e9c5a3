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
 * conditioning half is copied. The network is not here: callers pass h.
 * The argument checks, the scalar references (whose per-element formulas, the spans, sit in
 * glow_coupling_internal.h so that the vector tails share them) and the op table; the AVX2 twins are in
 * glow_coupling_avx2.c (sigmoid, exp and log on 8 lanes; the "coupling" row of the glow-fmnist profile
 * went from 17.6 to 4.8 ms a step, experiments/results/glow.md).
 *
 * log sigmoid(a) = -softplus(-a) is computed as min(a, 0) - log1p(exp(-|a|)) (no overflow).
 * Reductions (logdet per sample) accumulate in double; work is split over samples.
 */
#include "glow_coupling_internal.h"

#define OMP_MIN 16384 /* elements below which a parallel region costs more than it saves */

nvp_status nvp_glow_coupling_check_(const char *fn, const void *out, const void *in, const float *h, int64_t n,
                                    int64_t c, int64_t hw, int parity, int kind) {
    NVP_CHECK_SIZE(fn, n);
    NVP_CHECK_SIZE(fn, c);
    NVP_CHECK_SIZE(fn, hw);
    if (parity != 0 && parity != 1)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: parity = %d (expected 0 or 1)", fn, parity);
    if (kind != NVP_GLOW_AFFINE && kind != NVP_GLOW_ADDITIVE && kind != NVP_GLOW_GAUSSIAN)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: kind = %d (expected 0 affine, 1 additive or 2 gaussian)", fn, kind);
    if (c % 2 != 0)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: a channel-wise coupling needs an even channel count, x is "
                        "(%lld,%lld,%lld)", fn, (long long)n, (long long)c, (long long)hw);
    if (n * c * hw > 0 && (out == NULL || in == NULL || h == NULL))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: a tensor argument is NULL (out %p, in %p, h %p) for x "
                        "(%lld,%lld,%lld)", fn, out, in, (const void *)h, (long long)n, (long long)c, (long long)hw);
    return NVP_OK;
}

nvp_status nvp_glow_coupling_forward_check_(const float *y, const float *logdet, const float *x, const float *h,
                                            int64_t n, int64_t c, int64_t hw, int parity, int kind) {
    nvp_status e = nvp_glow_coupling_check_("nvp_glow_coupling_forward", y, x, h, n, c, hw, parity, kind);
    if (e) return e;
    if (n > 0 && kind != NVP_GLOW_ADDITIVE && logdet == NULL)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_glow_coupling_forward: logdet is NULL");
    return NVP_OK;
}

nvp_status nvp_glow_coupling_backward_check_(const float *dx, const float *dh, const float *dy, const float *dlogdet,
                                             const float *x, const float *h, int64_t n, int64_t c, int64_t hw,
                                             int parity, int kind) {
    nvp_status e = nvp_glow_coupling_check_("nvp_glow_coupling_backward", dy, x, h, n, c, hw, parity, kind);
    if (e) return e;
    if (n * c * hw > 0 && (dx == NULL || dh == NULL || (kind != NVP_GLOW_ADDITIVE && dlogdet == NULL)))
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_glow_coupling_backward: a gradient is NULL (dx %p, dh %p, dlogdet %p)",
                        (const void *)dx, (const void *)dh, (const void *)dlogdet);
    return NVP_OK;
}

// y, x: (N,C,HW); h: (N,C/2,HW) additive or (N,C,HW) otherwise; logdet: (N) +=
nvp_status nvp_glow_coupling_forward_ref(float *y, float *logdet, const float *x, const float *h, int64_t n,
                                         int64_t c, int64_t hw, int parity, int kind) {
    nvp_status e = nvp_glow_coupling_forward_check_(y, logdet, x, h, n, c, hw, parity, kind);
    if (e) return e;
    const int additive = kind == NVP_GLOW_ADDITIVE;
    const int64_t half = c / 2, ch = additive ? half : c, m = half * hw;
    const int64_t cond = parity == 0 ? 0 : half, chg = parity == 0 ? half : 0;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        const float *xb = x + b * c * hw, *tb = h + b * ch * hw;
        float *yb = y + b * c * hw;
        for (int64_t i = 0; i < m; i++) yb[cond * hw + i] = xb[cond * hw + i];
        double sum = nvp_glow_forward_span_(yb + chg * hw, xb + chg * hw, tb, additive ? NULL : tb + m, kind, 0, m);
        if (!additive) logdet[b] += (float)sum;
    }
    return NVP_OK;
}

// x, y: (N,C,HW); h as in the forward (computed from the conditioning half, the same in x and y)
nvp_status nvp_glow_coupling_inverse_ref(float *x, const float *y, const float *h, int64_t n, int64_t c, int64_t hw,
                                         int parity, int kind) {
    nvp_status e = nvp_glow_coupling_check_("nvp_glow_coupling_inverse", x, y, h, n, c, hw, parity, kind);
    if (e) return e;
    const int additive = kind == NVP_GLOW_ADDITIVE;
    const int64_t half = c / 2, ch = additive ? half : c, m = half * hw;
    const int64_t cond = parity == 0 ? 0 : half, chg = parity == 0 ? half : 0;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        const float *yb = y + b * c * hw, *tb = h + b * ch * hw;
        float *xb = x + b * c * hw;
        for (int64_t i = 0; i < m; i++) xb[cond * hw + i] = yb[cond * hw + i];
        nvp_glow_inverse_span_(xb + chg * hw, yb + chg * hw, tb, additive ? NULL : tb + m, kind, 0, m);
    }
    return NVP_OK;
}

// dx, dy, x: (N,C,HW); dh, h: as in the forward; dlogdet: (N)
nvp_status nvp_glow_coupling_backward_ref(float *dx, float *dh, const float *dy, const float *dlogdet, const float *x,
                                          const float *h, int64_t n, int64_t c, int64_t hw, int parity, int kind) {
    nvp_status e = nvp_glow_coupling_backward_check_(dx, dh, dy, dlogdet, x, h, n, c, hw, parity, kind);
    if (e) return e;
    const int additive = kind == NVP_GLOW_ADDITIVE;
    const int64_t half = c / 2, ch = additive ? half : c, m = half * hw;
    const int64_t cond = parity == 0 ? 0 : half, chg = parity == 0 ? half : 0;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        const float *xb = x + b * c * hw, *tb = h + b * ch * hw, *gb = dy + b * c * hw;
        float *dxb = dx + b * c * hw, *dtb = dh + b * ch * hw;
        for (int64_t i = 0; i < m; i++) dxb[cond * hw + i] += gb[cond * hw + i];
        nvp_glow_backward_span_(dxb + chg * hw, dtb, additive ? NULL : dtb + m, gb + chg * hw, xb + chg * hw, tb,
                                additive ? NULL : tb + m, additive ? 0.0f : dlogdet[b], kind, 0, m);
    }
    return NVP_OK;
}

/* ---- the op table (core/internal.h): the public entries call the chosen path through it ---- */

typedef struct glow_coupling_ops {
    nvp_status (*forward)(float *, float *, const float *, const float *, int64_t, int64_t, int64_t, int, int);
    nvp_status (*inverse)(float *, const float *, const float *, int64_t, int64_t, int64_t, int, int);
    nvp_status (*backward)(float *, float *, const float *, const float *, const float *, const float *, int64_t,
                           int64_t, int64_t, int, int);
} glow_coupling_ops;

static const glow_coupling_ops ref_ops = {nvp_glow_coupling_forward_ref, nvp_glow_coupling_inverse_ref,
                                          nvp_glow_coupling_backward_ref};
static const glow_coupling_ops avx2_ops = {nvp_glow_coupling_forward_avx2, nvp_glow_coupling_inverse_avx2,
                                           nvp_glow_coupling_backward_avx2};
static const glow_coupling_ops *ops = &ref_ops; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_glow_coupling_select(nvp_isa isa) { ops = isa >= NVP_ISA_AVX2 ? &avx2_ops : &ref_ops; }

nvp_status nvp_glow_coupling_forward(float *y, float *logdet, const float *x, const float *h, int64_t n, int64_t c,
                                     int64_t hw, int parity, int kind) {
    return ops->forward(y, logdet, x, h, n, c, hw, parity, kind);
}

nvp_status nvp_glow_coupling_inverse(float *x, const float *y, const float *h, int64_t n, int64_t c, int64_t hw,
                                     int parity, int kind) {
    return ops->inverse(x, y, h, n, c, hw, parity, kind);
}

nvp_status nvp_glow_coupling_backward(float *dx, float *dh, const float *dy, const float *dlogdet, const float *x,
                                      const float *h, int64_t n, int64_t c, int64_t hw, int parity, int kind) {
    return ops->backward(dx, dh, dy, dlogdet, x, h, n, c, hw, parity, kind);
}
