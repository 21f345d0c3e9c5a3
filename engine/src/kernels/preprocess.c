/*
 * preprocess.c -- the data end of the flow (Real NVP Sec. 4.1; docs/REFERENCE.md 2.1, 2.5): uniform
 * dequantisation of 8-bit pixels, the logit transform with its log-det and its inverse, quantisation
 * back to pixels, and random horizontal flips. The transcendental parts run in double here; the
 * logit forward (run on every training batch) has an AVX2 twin in preprocess_avx2.c. Derivation:
 * lua/nvp/layers/preprocess.md.
 */
#include "preprocess_internal.h"

#include <math.h>
#include <string.h>

#define OMP_MIN 32768 /* elements below which a parallel region costs more than it saves */

// v, x: (n)
nvp_status nvp_dequantize(float *v, const uint8_t *x, uint64_t seed, uint64_t counter, int64_t n) {
    NVP_CHECK_SIZE("nvp_dequantize", n);
    if (n == 0) return NVP_OK;
    NVP_CHECK_PTR("nvp_dequantize", v);
    NVP_CHECK_PTR("nvp_dequantize", x);
    nvp_status e = nvp_rng_uniform(v, seed, counter, n, 0.0f, 1.0f); /* u_i from (seed, counter + i) */
    if (e) return e;
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        float top = (float)x[i] + 1.0f, s = (float)x[i] + v[i];
        v[i] = s < top ? s : nextafterf(top, 0.0f); /* x + u can round up to x + 1; keep [x, x+1) */
    }
    return NVP_OK;
}

// y, v: (N,D); logdet: (N)
/* Argument checks shared with preprocess_avx2.c. */
nvp_status nvp_check_logit_forward(const float *y, const float *logdet, const float *v, int64_t n, int64_t d,
                                   float alpha) {
    NVP_CHECK_SIZE("nvp_logit_forward", n);
    NVP_CHECK_SIZE("nvp_logit_forward", d);
    if (!(alpha >= 0.0f && alpha < 0.5f))
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_logit_forward: alpha = %g is not in [0, 0.5)", alpha);
    if (n == 0) return NVP_OK;
    NVP_CHECK_PTR("nvp_logit_forward", logdet);
    if (d > 0) {
        NVP_CHECK_PTR("nvp_logit_forward", y);
        NVP_CHECK_PTR("nvp_logit_forward", v);
    }
    return NVP_OK;
}

/* ---- the op table: the public entries call the chosen path through it ---- */

typedef struct preprocess_ops {
    __typeof__(nvp_logit_forward_ref) *logit_forward;
} preprocess_ops;
static const preprocess_ops ref_ops = {
    .logit_forward = nvp_logit_forward_ref,
};
static const preprocess_ops avx2_ops = {
    .logit_forward = nvp_logit_forward_avx2,
};
static const preprocess_ops *ops = &ref_ops; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_preprocess_select(nvp_isa isa) { ops = isa >= NVP_ISA_AVX2 ? &avx2_ops : &ref_ops; }

nvp_status nvp_logit_forward(float *y, float *logdet, const float *v, int64_t n, int64_t d, float alpha) {
    return ops->logit_forward(y, logdet, v, n, d, alpha);
}

nvp_status nvp_logit_forward_ref(float *y, float *logdet, const float *v, int64_t n, int64_t d, float alpha) {
    nvp_status e = nvp_check_logit_forward(y, logdet, v, n, d, alpha);
    if (e || n == 0) return e;
    const double a = alpha, span = 1.0 - 2.0 * a, log_span = log(span);
#pragma omp parallel for schedule(static) if (n * d > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        double sum = 0.0;
        for (int64_t i = b * d; i < (b + 1) * d; i++) {
            double p = a + span * ((double)v[i] / 256.0);
            double lp = log(p), lq = log1p(-p);
            y[i] = (float)(lp - lq);
            sum += log_span - lp - lq;
        }
        logdet[b] += (float)sum;
    }
    return NVP_OK;
}

// v, y: (n)
nvp_status nvp_logit_inverse(float *v, const float *y, int64_t n, float alpha) {
    NVP_CHECK_SIZE("nvp_logit_inverse", n);
    if (!(alpha >= 0.0f && alpha < 0.5f))
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_logit_inverse: alpha = %g is not in [0, 0.5)", alpha);
    if (n == 0) return NVP_OK;
    NVP_CHECK_PTR("nvp_logit_inverse", v);
    NVP_CHECK_PTR("nvp_logit_inverse", y);
    const double a = alpha, scale = 256.0 / (1.0 - 2.0 * a);
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        double sig = 1.0 / (1.0 + exp(-(double)y[i]));
        v[i] = (float)((sig - a) * scale);
    }
    return NVP_OK;
}

// x, v: (n)
nvp_status nvp_quantize(uint8_t *x, const float *v, int64_t n) {
    NVP_CHECK_SIZE("nvp_quantize", n);
    if (n == 0) return NVP_OK;
    NVP_CHECK_PTR("nvp_quantize", x);
    NVP_CHECK_PTR("nvp_quantize", v);
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        float f = floorf(v[i]);
        x[i] = f >= 255.0f ? 255 : f >= 0.0f ? (uint8_t)f : 0; /* NaN -> 0 */
    }
    return NVP_OK;
}

// x: (N,C,H,W) uint8, in place; flags: (N)
nvp_status nvp_flip_horizontal_u8(uint8_t *x, const uint8_t *flags, int64_t n, int64_t c, int64_t h, int64_t w) {
    NVP_CHECK_SIZE("nvp_flip_horizontal_u8", n);
    NVP_CHECK_SIZE("nvp_flip_horizontal_u8", c);
    NVP_CHECK_SIZE("nvp_flip_horizontal_u8", h);
    NVP_CHECK_SIZE("nvp_flip_horizontal_u8", w);
    if (n == 0) return NVP_OK;
    NVP_CHECK_PTR("nvp_flip_horizontal_u8", flags);
    if (c * h * w == 0) return NVP_OK;
    NVP_CHECK_PTR("nvp_flip_horizontal_u8", x);
    const int64_t rows = c * h;
#pragma omp parallel for schedule(static) if (n * rows * w > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        if (!flags[b]) continue;
        for (int64_t r = 0; r < rows; r++) {
            uint8_t *row = x + (b * rows + r) * w;
            for (int64_t j = 0, k = w - 1; j < k; j++, k--) {
                uint8_t t = row[j];
                row[j] = row[k];
                row[k] = t;
            }
        }
    }
    return NVP_OK;
}
