/*
 * elementwise.c -- element-wise ops and reductions over flat float buffers: the scalar references
 * and the op table. The AVX2 twins are in elementwise_avx2.c.
 */
#include "elementwise_internal.h"

#include <math.h>
#include <string.h>

#define OMP_MIN 32768 /* below this, a parallel region costs more than it saves */

/* Data movement splits into whole-thread shares only above this many floats (4 MB): below it one
 * thread's memcpy/memset is not bandwidth-bound enough for a parallel region to pay. */
#define MOVE_PAR_MIN ((int64_t)1 << 20)

nvp_status nvp_fill(float *y, float value, int64_t n) {
    NVP_CHECK_SIZE("nvp_fill", n);
    if (n > 0) NVP_CHECK_PTR("nvp_fill", y);
    int zero = value == 0.0f && !signbit(value);
#pragma omp parallel if (n >= MOVE_PAR_MIN)
    {
        int64_t i0, i1;
        nvp_team_share(n, &i0, &i1);
        if (zero) {
            if (i1 > i0) memset(y + i0, 0, (size_t)(i1 - i0) * sizeof(float));
        } else {
            for (int64_t i = i0; i < i1; i++) y[i] = value;
        }
    }
    return NVP_OK;
}

nvp_status nvp_copy(float *y, const float *x, int64_t n) {
    NVP_CHECK_SIZE("nvp_copy", n);
    if (n == 0) return NVP_OK;
    NVP_CHECK_PTR("nvp_copy", y);
    NVP_CHECK_PTR("nvp_copy", x);
    if ((y < x && y + n > x) || (x < y && x + n > y))
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_copy: y and x overlap (n = %lld)", (long long)n);
#pragma omp parallel if (n >= MOVE_PAR_MIN)
    {
        int64_t i0, i1;
        nvp_team_share(n, &i0, &i1);
        if (i1 > i0) memcpy(y + i0, x + i0, (size_t)(i1 - i0) * sizeof(float));
    }
    return NVP_OK;
}

nvp_status nvp_add_ref(float *y, const float *a, const float *b, int64_t n) {
    NVP_CHECK_SIZE("nvp_add", n);
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < n; i++) y[i] = a[i] + b[i];
    return NVP_OK;
}

nvp_status nvp_mul_ref(float *y, const float *a, const float *b, int64_t n) {
    NVP_CHECK_SIZE("nvp_mul", n);
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < n; i++) y[i] = a[i] * b[i];
    return NVP_OK;
}

nvp_status nvp_axpy_ref(float *y, float alpha, const float *x, int64_t n) {
    NVP_CHECK_SIZE("nvp_axpy", n);
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
    return NVP_OK;
}

nvp_status nvp_scale_ref(float *y, const float *x, float alpha, float beta, int64_t n) {
    NVP_CHECK_SIZE("nvp_scale", n);
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < n; i++) y[i] = alpha * x[i] + beta;
    return NVP_OK;
}

nvp_status nvp_sum_ref(double *sum, double *sumsq, const float *x, int64_t n) {
    NVP_CHECK_SIZE("nvp_sum", n);
    double s = 0.0, q = 0.0;
    for (int64_t i = 0; i < n; i++) {
        s += x[i];
        q += (double)x[i] * x[i];
    }
    if (sum) *sum = s;
    if (sumsq) *sumsq = q;
    return NVP_OK;
}

nvp_status nvp_dot(double *dot, const float *x, const float *y, int64_t n) {
    NVP_CHECK_SIZE("nvp_dot", n);
    NVP_CHECK_PTR("nvp_dot", dot);
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * y[i];
    *dot = s;
    return NVP_OK;
}

nvp_status nvp_count_nonfinite(int64_t *count, const float *x, int64_t n) {
    NVP_CHECK_SIZE("nvp_count_nonfinite", n);
    NVP_CHECK_PTR("nvp_count_nonfinite", count);
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++) c += !isfinite(x[i]);
    *count = c;
    return NVP_OK;
}

/* ---- the op table: the public entries call the chosen path through it ---- */

typedef struct elementwise_ops {
    __typeof__(nvp_add_ref) *add;
    __typeof__(nvp_mul_ref) *mul;
    __typeof__(nvp_axpy_ref) *axpy;
    __typeof__(nvp_scale_ref) *scale;
    __typeof__(nvp_sum_ref) *sum;
} elementwise_ops;
static const elementwise_ops ref_ops = {
    .add = nvp_add_ref,
    .mul = nvp_mul_ref,
    .axpy = nvp_axpy_ref,
    .scale = nvp_scale_ref,
    .sum = nvp_sum_ref,
};
static const elementwise_ops avx2_ops = {
    .add = nvp_add_avx2,
    .mul = nvp_mul_avx2,
    .axpy = nvp_axpy_avx2,
    .scale = nvp_scale_avx2,
    .sum = nvp_sum_avx2,
};
static const elementwise_ops *ops = &ref_ops; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_elementwise_select(nvp_isa isa) { ops = isa >= NVP_ISA_AVX2 ? &avx2_ops : &ref_ops; }

nvp_status nvp_add(float *y, const float *a, const float *b, int64_t n) {
    return ops->add(y, a, b, n);
}
nvp_status nvp_mul(float *y, const float *a, const float *b, int64_t n) {
    return ops->mul(y, a, b, n);
}
nvp_status nvp_axpy(float *y, float alpha, const float *x, int64_t n) {
    return ops->axpy(y, alpha, x, n);
}
nvp_status nvp_scale(float *y, const float *x, float alpha, float beta, int64_t n) {
    return ops->scale(y, x, alpha, beta, n);
}
nvp_status nvp_sum(double *sum, double *sumsq, const float *x, int64_t n) {
    return ops->sum(sum, sumsq, x, n);
}
