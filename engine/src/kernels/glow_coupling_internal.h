/*
 * glow_coupling_internal.h -- what glow_coupling.c and glow_coupling_avx2.c share (not public): the kinds,
 * the argument checks, the per-path entry points, reached only through the dispatchers of glow_coupling.c
 * (nvp_glow_coupling_*), and the scalar formulas on a span of one sample's changing half, which are the
 * reference's whole loop and the vector paths' tails (one copy of the formulas; the tails may differ from the
 * reference only by FMA contraction under -mfma).
 */
#ifndef NVP_GLOW_COUPLING_INTERNAL_H
#define NVP_GLOW_COUPLING_INTERNAL_H

#include "internal.h"

#include <math.h>

#define NVP_HIDDEN __attribute__((visibility("hidden")))

enum { NVP_GLOW_AFFINE = 0, NVP_GLOW_ADDITIVE = 1, NVP_GLOW_GAUSSIAN = 2 };

/* The checks of the public entries; each message names the entry, the operands and x's shape. */
NVP_HIDDEN nvp_status nvp_glow_coupling_check_(const char *fn, const void *out, const void *in, const float *h,
                                               int64_t n, int64_t c, int64_t hw, int parity, int kind);
NVP_HIDDEN nvp_status nvp_glow_coupling_forward_check_(const float *y, const float *logdet, const float *x,
                                                       const float *h, int64_t n, int64_t c, int64_t hw, int parity,
                                                       int kind);
NVP_HIDDEN nvp_status nvp_glow_coupling_backward_check_(const float *dx, const float *dh, const float *dy,
                                                        const float *dlogdet, const float *x, const float *h,
                                                        int64_t n, int64_t c, int64_t hw, int parity, int kind);

NVP_HIDDEN nvp_status nvp_glow_coupling_forward_ref(float *y, float *logdet, const float *x, const float *h,
                                                    int64_t n, int64_t c, int64_t hw, int parity, int kind);
NVP_HIDDEN nvp_status nvp_glow_coupling_forward_avx2(float *y, float *logdet, const float *x, const float *h,
                                                     int64_t n, int64_t c, int64_t hw, int parity, int kind);
NVP_HIDDEN nvp_status nvp_glow_coupling_inverse_ref(float *x, const float *y, const float *h, int64_t n, int64_t c,
                                                    int64_t hw, int parity, int kind);
NVP_HIDDEN nvp_status nvp_glow_coupling_inverse_avx2(float *x, const float *y, const float *h, int64_t n, int64_t c,
                                                     int64_t hw, int parity, int kind);
NVP_HIDDEN nvp_status nvp_glow_coupling_backward_ref(float *dx, float *dh, const float *dy, const float *dlogdet,
                                                     const float *x, const float *h, int64_t n, int64_t c,
                                                     int64_t hw, int parity, int kind);
NVP_HIDDEN nvp_status nvp_glow_coupling_backward_avx2(float *dx, float *dh, const float *dy, const float *dlogdet,
                                                      const float *x, const float *h, int64_t n, int64_t c,
                                                      int64_t hw, int parity, int kind);

/* log sigmoid(a) = -softplus(-a) as min(a, 0) - log1p(exp(-|a|)), and sigmoid(a) from exp(-|a|): no
 * overflow for any finite a. */
static inline float nvp_glow_log_sigmoid_(float a) { return fminf(a, 0.0f) - log1pf(expf(-fabsf(a))); }
static inline float nvp_glow_sigmoid_(float a) {
    return a >= 0.0f ? 1.0f / (1.0f + expf(-a)) : expf(a) / (1.0f + expf(a));
}

/* The spans: elements [from, to) of one sample's changing half, a flat block of C/2 HW values (the
 * changing channels are contiguous). x, y, dx, dy: that block; t, r (dt, dr): h's (dh's) blocks of
 * channels [0, C/2) and [C/2, C), r and dr NULL when additive. */

// y, x, t, r: (C/2 HW); returns the span's log-det terms summed in double (0 when additive)
static inline double nvp_glow_forward_span_(float *y, const float *x, const float *t, const float *r, int kind,
                                            int64_t from, int64_t to) {
    double sum = 0.0;
    for (int64_t i = from; i < to; i++) {
        float v = x[i] + t[i];
        if (kind == NVP_GLOW_AFFINE) {
            float a = r[i] + 2.0f;
            v *= nvp_glow_sigmoid_(a);
            sum += nvp_glow_log_sigmoid_(a);
        } else if (kind == NVP_GLOW_GAUSSIAN) {
            v *= expf(r[i]);
            sum += r[i];
        }
        y[i] = v;
    }
    return sum;
}

// x, y, t, r: (C/2 HW)
static inline void nvp_glow_inverse_span_(float *x, const float *y, const float *t, const float *r, int kind,
                                          int64_t from, int64_t to) {
    for (int64_t i = from; i < to; i++) {
        float v = y[i];
        if (kind == NVP_GLOW_AFFINE) v /= nvp_glow_sigmoid_(r[i] + 2.0f);
        else if (kind == NVP_GLOW_GAUSSIAN) v *= expf(-r[i]);
        x[i] = v - t[i];
    }
}

// dx, dt, dr, dy, x, t, r: (C/2 HW) (dx, dt, dr +=); dl: this sample's dlogdet
static inline void nvp_glow_backward_span_(float *dx, float *dt, float *dr, const float *dy, const float *x,
                                           const float *t, const float *r, float dl, int kind, int64_t from,
                                           int64_t to) {
    for (int64_t i = from; i < to; i++) {
        float g = dy[i];
        if (kind == NVP_GLOW_ADDITIVE) {
            dx[i] += g;
            dt[i] += g;
            continue;
        }
        float u = x[i] + t[i];
        if (kind == NVP_GLOW_AFFINE) {
            float sg = nvp_glow_sigmoid_(r[i] + 2.0f);
            dx[i] += g * sg;
            dt[i] += g * sg;
            dr[i] += (g * u * sg + dl) * (1.0f - sg); /* sigmoid' = sg (1 - sg) */
        } else {
            float ex = expf(r[i]);
            dx[i] += g * ex;
            dt[i] += g * ex;
            dr[i] += g * u * ex + dl;
        }
    }
}

#endif /* NVP_GLOW_COUPLING_INTERNAL_H */
