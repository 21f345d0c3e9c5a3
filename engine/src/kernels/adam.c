/*
 * adam.c -- one Adam step (Kingma & Ba 2015) with coupled L2 (docs/REFERENCE.md 2.5: the penalty is added to
 * the gradient, not decoupled as in AdamW). The public entries, the scalar reference and the op table; the
 * AVX2 twin is in adam_avx2.c.
 */
#include "adam_internal.h"

#include <math.h>

#define OMP_MIN 32768 /* elements; below this a parallel region costs more than it saves */

/* Argument checks and bias corrections, shared with adam_avx2.c (declared there; not the API):
 * [OUT] c1 = 1/(1 - beta1^t), c2 = 1/(1 - beta2^t). */
nvp_status nvp_adam_prepare(float *c1, float *c2, float *param, float *m,
                                                                  float *v, const float *grad, int64_t n,
                                                                  float lr, float beta1, float beta2, float eps,
                                                                  float weight_decay, int64_t step) {
    const char *fn = "nvp_adam_step";
    NVP_CHECK_SIZE(fn, n);
    if (step < 1) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: step = %lld must be >= 1", fn, (long long)step);
    if (!(beta1 >= 0.0f && beta1 < 1.0f))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: beta1 = %g is not in [0, 1)", fn, (double)beta1);
    if (!(beta2 >= 0.0f && beta2 < 1.0f))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: beta2 = %g is not in [0, 1)", fn, (double)beta2);
    if (!(eps >= 0.0f) || isinf(eps))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: eps = %g is not a finite value >= 0", fn, (double)eps);
    if (!isfinite(lr)) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: lr = %g is not finite", fn, (double)lr);
    if (!isfinite(weight_decay))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: weight_decay = %g is not finite", fn, (double)weight_decay);
    if (n > 0) {
        NVP_CHECK_PTR(fn, param);
        NVP_CHECK_PTR(fn, m);
        NVP_CHECK_PTR(fn, v);
        NVP_CHECK_PTR(fn, grad);
    }
    *c1 = (float)(1.0 / (1.0 - pow(beta1, (double)step)));
    *c2 = (float)(1.0 / (1.0 - pow(beta2, (double)step)));
    return NVP_OK;
}

// param, m, v, grad: (n)
nvp_status nvp_adam_step_ref(float *param, float *m, float *v, const float *grad, int64_t n, float lr,
                             float beta1, float beta2, float eps, float weight_decay, int64_t step) {
    float c1, c2;
    nvp_status st = nvp_adam_prepare(&c1, &c2, param, m, v, grad, n, lr, beta1, beta2, eps, weight_decay, step);
    if (st != NVP_OK) return st;
    const float a1 = 1.0f - beta1, a2 = 1.0f - beta2;
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < n; i++) {
        float g = grad[i] + weight_decay * param[i];
        float mi = beta1 * m[i] + a1 * g;
        float vi = beta2 * v[i] + a2 * (g * g);
        m[i] = mi;
        v[i] = vi;
        param[i] -= lr * (mi * c1) / (sqrtf(vi * c2) + eps);
    }
    return NVP_OK;
}

/* ---- the op table: the public entries call the chosen path through it ---- */

typedef struct adam_ops {
    __typeof__(nvp_adam_step_ref) *adam_step;
} adam_ops;
static const adam_ops ref_ops = {
    .adam_step = nvp_adam_step_ref,
};
static const adam_ops avx2_ops = {
    .adam_step = nvp_adam_step_avx2,
};
static const adam_ops *ops = &ref_ops; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_adam_select(nvp_isa isa) { ops = isa >= NVP_ISA_AVX2 ? &avx2_ops : &ref_ops; }

nvp_status nvp_adam_step(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                         float beta2, float eps, float weight_decay, int64_t step) {
    return ops->adam_step(param, m, v, grad, n, lr, beta1, beta2, eps, weight_decay, step);
}
