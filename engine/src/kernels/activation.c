/*
 * activation.c -- the concatenated ReLU at the input of the s/t networks (docs/REFERENCE.md 2.4):
 * y = [relu(a x), relu(-a x)] along channels. Scalar only: the loops are plain enough for the
 * compiler to vectorise, and the op is a small share of a step.
 */
#include "internal.h"

#include <math.h>

#define OMP_MIN 32768 /* elements; below this a parallel region costs more than it saves */

static nvp_status check(const char *fn, const void *out, const void *in, const char *out_name,
                        const char *in_name, float scale, int64_t n, int64_t c, int64_t hw) {
    NVP_CHECK_SIZE(fn, n);
    NVP_CHECK_SIZE(fn, c);
    NVP_CHECK_SIZE(fn, hw);
    if (!isfinite(scale)) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: scale = %g is not finite", fn, (double)scale);
    if (n * c * hw == 0) return NVP_OK;
    if (out == NULL) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: %s is NULL", fn, out_name);
    if (in == NULL) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: %s is NULL", fn, in_name);
    return NVP_OK;
}

// x: (N,C,HW); y: (N,2C,HW), channels [0,C) = relu(a x), [C,2C) = relu(-a x)
nvp_status nvp_crelu_forward(float *y, const float *x, float scale, int64_t n, int64_t c, int64_t hw) {
    nvp_status st = check("nvp_crelu_forward", y, x, "y", "x", scale, n, c, hw);
    if (st != NVP_OK) return st;
#pragma omp parallel for collapse(2) schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        for (int64_t ch = 0; ch < c; ch++) {
            const float *xr = x + (i * c + ch) * hw;
            float *pos = y + (i * 2 * c + ch) * hw, *neg = pos + c * hw;
            for (int64_t j = 0; j < hw; j++) {
                float u = scale * xr[j];
                pos[j] = u > 0.0f ? u : 0.0f;
                neg[j] = u < 0.0f ? -u : 0.0f;
            }
        }
    }
    return NVP_OK;
}

/* dx += a (dy_pos [a x > 0] - dy_neg [a x < 0]); for a > 0 the masks are [x > 0] and [x < 0]. */
nvp_status nvp_crelu_backward(float *dx, const float *dy, const float *x, float scale, int64_t n, int64_t c,
                              int64_t hw) {
    nvp_status st = check("nvp_crelu_backward", dx, dy, "dx", "dy", scale, n, c, hw);
    if (st != NVP_OK) return st;
    if (n * c * hw > 0) NVP_CHECK_PTR("nvp_crelu_backward", x);
#pragma omp parallel for collapse(2) schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        for (int64_t ch = 0; ch < c; ch++) {
            const float *xr = x + (i * c + ch) * hw;
            const float *pos = dy + (i * 2 * c + ch) * hw, *neg = pos + c * hw;
            float *dxr = dx + (i * c + ch) * hw;
            for (int64_t j = 0; j < hw; j++) {
                float u = scale * xr[j];
                float g = u > 0.0f ? pos[j] : (u < 0.0f ? -neg[j] : 0.0f);
                dxr[j] += scale * g;
            }
        }
    }
    return NVP_OK;
}
