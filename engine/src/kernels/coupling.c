/*
 * coupling.c -- the fused affine coupling of Real NVP (Dinh et al. 2017, Eq. 4-9; docs/REFERENCE.md 2.3):
 * forward, inverse and backward of y = (x + t) exp(lam tanh(s_raw)) on the changing positions of a
 * checkerboard or channel-wise mask, plus the checkerboard mask itself. Scalar references and the op
 * table; the AVX2 twins are in coupling_avx2.c. The s/t network is not here: callers pass
 * its output st. Derivation: lua/nvp/layers/coupling.md.
 *
 * Reductions (logdet per sample, dlam per channel) accumulate in double. Work is split over the
 * batch; dlam is summed per sample first and the samples are then combined in order, so results do
 * not depend on the thread count.
 */
#include "coupling_internal.h"

#include <math.h>
#include <stdlib.h>

#define OMP_MIN 16384 /* elements below which a parallel region costs more than it saves */

/* Shared by coupling.c and coupling_avx2.c (not public): checks the sizes, mask kind and parity,
 * and sets *ct (channels of s and of lam), *cst (channels of st). */

nvp_status nvp_coupling_check_(const char *fn, const void *out, const void *in, const void *st,
                               const void *lam, int64_t n, int64_t c, int64_t h, int64_t w, int mask_kind,
                               int parity, int64_t *ct, int64_t *cst) {
    NVP_CHECK_SIZE(fn, n);
    NVP_CHECK_SIZE(fn, c);
    NVP_CHECK_SIZE(fn, h);
    NVP_CHECK_SIZE(fn, w);
    if (mask_kind != 0 && mask_kind != 1)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: mask_kind = %d (expected 0 checkerboard or 1 channel-wise)", fn,
                        mask_kind);
    if (parity != 0 && parity != 1)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: parity = %d (expected 0 or 1)", fn, parity);
    if (mask_kind == 1 && c % 2 != 0)
        return nvp_fail(NVP_STATUS_BAD_SHAPE,
                        "%s: a channel-wise coupling needs an even channel count, x is (%lld,%lld,%lld,%lld)", fn,
                        (long long)n, (long long)c, (long long)h, (long long)w);
    *ct = mask_kind == 0 ? c : c / 2;
    *cst = mask_kind == 0 ? 2 * c : c;
    if (n * c * h * w > 0) {
        if (out == NULL || in == NULL || st == NULL || lam == NULL)
            return nvp_fail(NVP_STATUS_BAD_ARG, "%s: a tensor argument is NULL (out %p, in %p, st %p, lam %p)", fn,
                            out, in, st, lam);
    }
    return NVP_OK;
}

/* The s/t channel of x channel xc: itself (checkerboard) or its place within its half. */
static inline int64_t st_channel(int64_t xc, int64_t c, int mask_kind) {
    return mask_kind == 0 ? xc : xc % (c / 2);
}

/* Does position (i, j) of x channel xc change? Checkerboard: (i + j + parity) even; channel-wise:
 * xc is in the first half (parity 0) or the second (parity 1). */
static inline int is_changing(int64_t xc, int64_t i, int64_t j, int64_t c, int mask_kind, int parity) {
    if (mask_kind == 0) return ((i + j + parity) & 1) == 0;
    return parity == 0 ? xc < c / 2 : xc >= c / 2;
}

// y, x: (N,C,H,W); st: (N,Cst,H,W); lam: (Ct); logdet: (N)
nvp_status nvp_coupling_forward_ref(float *y, float *logdet, const float *x, const float *st, const float *lam,
                                    int64_t n, int64_t c, int64_t h, int64_t w, int mask_kind, int parity) {
    int64_t ct, cst;
    nvp_status e = nvp_coupling_check_("nvp_coupling_forward", y, x, st, lam, n, c, h, w, mask_kind, parity, &ct,
                                       &cst);
    if (e) return e;
    if (n > 0 && logdet == NULL) return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_coupling_forward: logdet is NULL");
    const int64_t hw = h * w;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        double sum = 0.0;
        for (int64_t xc = 0; xc < c; xc++) {
            const float *xp = x + (b * c + xc) * hw;
            float *yp = y + (b * c + xc) * hw;
            int64_t k = st_channel(xc, c, mask_kind);
            for (int64_t i = 0; i < h; i++)
                for (int64_t j = 0; j < w; j++) {
                    int64_t p = i * w + j;
                    if (!is_changing(xc, i, j, c, mask_kind, parity)) {
                        yp[p] = xp[p];
                        continue;
                    }
                    float r = st[(b * cst + k) * hw + p], t = st[(b * cst + ct + k) * hw + p];
                    float s = lam[k] * tanhf(r);
                    yp[p] = (xp[p] + t) * expf(s);
                    sum += s;
                }
        }
        logdet[b] += (float)sum;
    }
    return NVP_OK;
}

// x, y: (N,C,H,W); st: (N,Cst,H,W); lam: (Ct)
nvp_status nvp_coupling_inverse_ref(float *x, const float *y, const float *st, const float *lam, int64_t n,
                                    int64_t c, int64_t h, int64_t w, int mask_kind, int parity) {
    int64_t ct, cst;
    nvp_status e = nvp_coupling_check_("nvp_coupling_inverse", x, y, st, lam, n, c, h, w, mask_kind, parity, &ct,
                                       &cst);
    if (e) return e;
    const int64_t hw = h * w;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        for (int64_t xc = 0; xc < c; xc++) {
            const float *yp = y + (b * c + xc) * hw;
            float *xp = x + (b * c + xc) * hw;
            int64_t k = st_channel(xc, c, mask_kind);
            for (int64_t i = 0; i < h; i++)
                for (int64_t j = 0; j < w; j++) {
                    int64_t p = i * w + j;
                    if (!is_changing(xc, i, j, c, mask_kind, parity)) {
                        xp[p] = yp[p];
                        continue;
                    }
                    float r = st[(b * cst + k) * hw + p], t = st[(b * cst + ct + k) * hw + p];
                    float s = lam[k] * tanhf(r);
                    xp[p] = yp[p] * expf(-s) - t;
                }
        }
    }
    return NVP_OK;
}

/* Backward checks beyond the forward's: the gradient buffers. */
static nvp_status check_backward(const float *dx, const float *dst, const float *dlam, const float *dy,
                                 const float *dlogdet, int64_t numel) {
    if (numel == 0) return NVP_OK;
    if (dx == NULL || dst == NULL || dlam == NULL || dy == NULL || dlogdet == NULL)
        return nvp_fail(NVP_STATUS_BAD_ARG,
                        "nvp_coupling_backward: a tensor argument is NULL (dx %p, dst %p, dlam %p, dy %p, dlogdet %p)",
                        (const void *)dx, (const void *)dst, (const void *)dlam, (const void *)dy,
                        (const void *)dlogdet);
    return NVP_OK;
}

nvp_status nvp_coupling_backward_check_(float *dx, float *dst, float *dlam, const float *dy, const float *dlogdet,
                                        const float *x, const float *st, const float *lam, int64_t n, int64_t c,
                                        int64_t h, int64_t w, int mask_kind, int parity, int64_t *ct, int64_t *cst) {
    nvp_status e = nvp_coupling_check_("nvp_coupling_backward", dx, x, st, lam, n, c, h, w, mask_kind, parity, ct,
                                       cst);
    if (e) return e;
    return check_backward(dx, dst, dlam, dy, dlogdet, n * c * h * w);
}

/* With s = lam tanh(r), y = (x + t) e^s and a loss L(y, logdet):
 *   dx += dy e^s,  dt += dy e^s,  ds = dy y + dlogdet_n,  dr += ds lam (1 - tanh(r)^2),
 *   dlam += sum ds tanh(r);  conditioning positions: dx += dy. */
// dx, dy, x: (N,C,H,W); dst, st: (N,Cst,H,W); dlam, lam: (Ct); dlogdet: (N)
nvp_status nvp_coupling_backward_ref(float *dx, float *dst, float *dlam, const float *dy, const float *dlogdet,
                                     const float *x, const float *st, const float *lam, int64_t n, int64_t c,
                                     int64_t h, int64_t w, int mask_kind, int parity) {
    int64_t ct, cst;
    nvp_status e = nvp_coupling_backward_check_(dx, dst, dlam, dy, dlogdet, x, st, lam, n, c, h, w, mask_kind,
                                                parity, &ct, &cst);
    if (e) return e;
    if (n * c * h * w == 0) return NVP_OK;
    const int64_t hw = h * w;
    double *part = malloc((size_t)(n * ct) * sizeof *part); /* dlam per (sample, channel) */
    if (part == NULL) return nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_coupling_backward: no memory for %lld sums",
                                      (long long)(n * ct));
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        for (int64_t k = 0; k < ct; k++) part[b * ct + k] = 0.0;
        for (int64_t xc = 0; xc < c; xc++) {
            const float *xp = x + (b * c + xc) * hw, *dyp = dy + (b * c + xc) * hw;
            float *dxp = dx + (b * c + xc) * hw;
            int64_t k = st_channel(xc, c, mask_kind);
            double acc = 0.0;
            for (int64_t i = 0; i < h; i++)
                for (int64_t j = 0; j < w; j++) {
                    int64_t p = i * w + j;
                    if (!is_changing(xc, i, j, c, mask_kind, parity)) {
                        dxp[p] += dyp[p];
                        continue;
                    }
                    int64_t ir = (b * cst + k) * hw + p, it = (b * cst + ct + k) * hw + p;
                    float th = tanhf(st[ir]);
                    float es = expf(lam[k] * th);
                    float g = dyp[p] * es;
                    float ds = g * (xp[p] + st[it]) + dlogdet[b]; /* dy * y + dlogdet */
                    dxp[p] += g;
                    dst[it] += g;
                    dst[ir] += ds * lam[k] * (1.0f - th * th);
                    acc += (double)ds * th;
                }
            if (mask_kind == 0 || is_changing(xc, 0, 0, c, mask_kind, parity)) part[b * ct + k] += acc;
        }
    }
    for (int64_t k = 0; k < ct; k++) {
        double s = 0.0;
        for (int64_t b = 0; b < n; b++) s += part[b * ct + k];
        dlam[k] += (float)s;
    }
    free(part);
    return NVP_OK;
}

// y, x: (N,C,H,W)
nvp_status nvp_checker_mask(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int parity,
                            int accumulate) {
    NVP_CHECK_SIZE("nvp_checker_mask", n);
    NVP_CHECK_SIZE("nvp_checker_mask", c);
    NVP_CHECK_SIZE("nvp_checker_mask", h);
    NVP_CHECK_SIZE("nvp_checker_mask", w);
    if (parity != 0 && parity != 1)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_checker_mask: parity = %d (expected 0 or 1)", parity);
    if (n * c * h * w == 0) return NVP_OK;
    NVP_CHECK_PTR("nvp_checker_mask", y);
    NVP_CHECK_PTR("nvp_checker_mask", x);
    const int64_t planes = n * c;
#pragma omp parallel for schedule(static) if (planes * h * w > OMP_MIN)
    for (int64_t q = 0; q < planes; q++) {
        const float *xp = x + q * h * w;
        float *yp = y + q * h * w;
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < w; j++) {
                int64_t p = i * w + j;
                float v = ((i + j + parity) & 1) ? xp[p] : 0.0f;
                if (accumulate) yp[p] += v;
                else yp[p] = v;
            }
    }
    return NVP_OK;
}

/* ---- the op table: the public entries call the chosen path through it ---- */

typedef struct coupling_ops {
    __typeof__(nvp_coupling_forward_ref) *coupling_forward;
    __typeof__(nvp_coupling_inverse_ref) *coupling_inverse;
    __typeof__(nvp_coupling_backward_ref) *coupling_backward;
} coupling_ops;
static const coupling_ops ref_ops = {
    .coupling_forward = nvp_coupling_forward_ref,
    .coupling_inverse = nvp_coupling_inverse_ref,
    .coupling_backward = nvp_coupling_backward_ref,
};
static const coupling_ops avx2_ops = {
    .coupling_forward = nvp_coupling_forward_avx2,
    .coupling_inverse = nvp_coupling_inverse_avx2,
    .coupling_backward = nvp_coupling_backward_avx2,
};
static const coupling_ops *ops = &ref_ops; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_coupling_select(nvp_isa isa) { ops = isa >= NVP_ISA_AVX2 ? &avx2_ops : &ref_ops; }

nvp_status nvp_coupling_forward(float *y, float *logdet, const float *x, const float *st, const float *lam,
                                int64_t n, int64_t c, int64_t h, int64_t w, int mask_kind, int parity) {
    return ops->coupling_forward(y, logdet, x, st, lam, n, c, h, w, mask_kind, parity);
}
nvp_status nvp_coupling_inverse(float *x, const float *y, const float *st, const float *lam, int64_t n,
                                int64_t c, int64_t h, int64_t w, int mask_kind, int parity) {
    return ops->coupling_inverse(x, y, st, lam, n, c, h, w, mask_kind, parity);
}
nvp_status nvp_coupling_backward(float *dx, float *dst, float *dlam, const float *dy, const float *dlogdet,
                                 const float *x, const float *st, const float *lam, int64_t n, int64_t c,
                                 int64_t h, int64_t w, int mask_kind, int parity) {
    return ops->coupling_backward(dx, dst, dlam, dy, dlogdet, x, st, lam, n, c, h, w, mask_kind, parity);
}
