/*
 * weightnorm.c -- weight normalisation (Salimans & Kingma 2016) per output row, as every conv of
 * the s/t networks uses it (docs/REFERENCE.md 2.4): w_o = g_o v_o / ||v_o||, v: (Cout, K) with
 * K = Cin*k*k. The public entries, the scalar references and the op table; AVX2 twins in weightnorm_avx2.c.
 *
 * Norms and dot products accumulate in double. A row of v with zero norm gives inf/NaN, as in
 * PyTorch: the initialisation (g = ||v||) never produces one.
 */
#include "weightnorm_internal.h"

#include <math.h>

#define OMP_MIN 32768 /* elements; below this a parallel region costs more than it saves */

/* Argument checks shared with weightnorm_avx2.c (declared there; not part of the API). */
nvp_status nvp_weightnorm_forward_check(float *w, float *norm, const float *v,
                                                                              const float *g, int64_t cout,
                                                                              int64_t k) {
    const char *fn = "nvp_weightnorm_forward";
    NVP_CHECK_SIZE(fn, cout);
    NVP_CHECK_SIZE(fn, k);
    if (cout == 0) return NVP_OK;
    NVP_CHECK_PTR(fn, w);
    NVP_CHECK_PTR(fn, norm);
    NVP_CHECK_PTR(fn, v);
    NVP_CHECK_PTR(fn, g);
    return NVP_OK;
}

nvp_status nvp_weightnorm_backward_check(float *dv, float *dg, const float *dw,
                                                                               const float *v, const float *g,
                                                                               const float *norm, int64_t cout,
                                                                               int64_t k) {
    const char *fn = "nvp_weightnorm_backward";
    NVP_CHECK_SIZE(fn, cout);
    NVP_CHECK_SIZE(fn, k);
    if (cout == 0) return NVP_OK;
    NVP_CHECK_PTR(fn, dv);
    NVP_CHECK_PTR(fn, dg);
    NVP_CHECK_PTR(fn, dw);
    NVP_CHECK_PTR(fn, v);
    NVP_CHECK_PTR(fn, g);
    NVP_CHECK_PTR(fn, norm);
    return NVP_OK;
}

// w, v: (Cout,K); g, norm: (Cout)
nvp_status nvp_weightnorm_forward_ref(float *w, float *norm, const float *v, const float *g, int64_t cout, int64_t k) {
    nvp_status st = nvp_weightnorm_forward_check(w, norm, v, g, cout, k);
    if (st != NVP_OK) return st;
#pragma omp parallel for schedule(static) if (cout * k > OMP_MIN)
    for (int64_t o = 0; o < cout; o++) {
        const float *vr = v + o * k;
        double q = 0.0;
        for (int64_t j = 0; j < k; j++) q += (double)vr[j] * vr[j];
        double nr = sqrt(q);
        norm[o] = (float)nr;
        float s = (float)(g[o] / nr);
        float *wr = w + o * k;
        for (int64_t j = 0; j < k; j++) wr[j] = s * vr[j];
    }
    return NVP_OK;
}

/* dv_o += (g/n) dw_o - (g <dw_o,v_o> / n^3) v_o, n = norm_o (the forward's). */
nvp_status nvp_weightnorm_backward_ref(float *dv, float *dg, const float *dw, const float *v, const float *g,
                                       const float *norm, int64_t cout, int64_t k) {
    nvp_status st = nvp_weightnorm_backward_check(dv, dg, dw, v, g, norm, cout, k);
    if (st != NVP_OK) return st;
#pragma omp parallel for schedule(static) if (cout * k > OMP_MIN)
    for (int64_t o = 0; o < cout; o++) {
        const float *vr = v + o * k, *dwr = dw + o * k;
        double dot = 0.0;
        for (int64_t j = 0; j < k; j++) dot += (double)dwr[j] * vr[j];
        double nr = norm[o];
        dg[o] += (float)(dot / nr);
        float a = (float)(g[o] / nr), b = (float)(g[o] * dot / (nr * nr * nr));
        float *dvr = dv + o * k;
        for (int64_t j = 0; j < k; j++) dvr[j] += a * dwr[j] - b * vr[j];
    }
    return NVP_OK;
}

/* ---- the op table: the public entries call the chosen path through it ---- */

typedef struct weightnorm_ops {
    __typeof__(nvp_weightnorm_forward_ref) *weightnorm_forward;
    __typeof__(nvp_weightnorm_backward_ref) *weightnorm_backward;
} weightnorm_ops;
static const weightnorm_ops ref_ops = {
    .weightnorm_forward = nvp_weightnorm_forward_ref,
    .weightnorm_backward = nvp_weightnorm_backward_ref,
};
static const weightnorm_ops avx2_ops = {
    .weightnorm_forward = nvp_weightnorm_forward_avx2,
    .weightnorm_backward = nvp_weightnorm_backward_avx2,
};
static const weightnorm_ops *ops = &ref_ops; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_weightnorm_select(nvp_isa isa) { ops = isa >= NVP_ISA_AVX2 ? &avx2_ops : &ref_ops; }

nvp_status nvp_weightnorm_forward(float *w, float *norm, const float *v, const float *g, int64_t cout, int64_t k) {
    return ops->weightnorm_forward(w, norm, v, g, cout, k);
}

nvp_status nvp_weightnorm_backward(float *dv, float *dg, const float *dw, const float *v, const float *g,
                                   const float *norm, int64_t cout, int64_t k) {
    return ops->weightnorm_backward(dv, dg, dw, v, g, norm, cout, k);
}
