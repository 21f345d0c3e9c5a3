/*
 * elementwise_avx2.c -- AVX2 twins of elementwise.c. Compiled with -mavx2 -mfma (this file only); reached
 * only through the op table on the avx2 and avx512 CPU paths. Every vector loop ends with a scalar tail.
 */
#include "elementwise_internal.h"

#include <immintrin.h>

#define OMP_MIN 32768

nvp_status nvp_add_avx2(float *y, const float *a, const float *b, int64_t n) {
    NVP_CHECK_SIZE("nvp_add", n);
    int64_t nv = n & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < nv; i += 8)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (int64_t i = nv; i < n; i++) y[i] = a[i] + b[i];
    return NVP_OK;
}

nvp_status nvp_mul_avx2(float *y, const float *a, const float *b, int64_t n) {
    NVP_CHECK_SIZE("nvp_mul", n);
    int64_t nv = n & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < nv; i += 8)
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    for (int64_t i = nv; i < n; i++) y[i] = a[i] * b[i];
    return NVP_OK;
}

nvp_status nvp_axpy_avx2(float *y, float alpha, const float *x, int64_t n) {
    NVP_CHECK_SIZE("nvp_axpy", n);
    int64_t nv = n & ~(int64_t)7;
    __m256 va = _mm256_set1_ps(alpha);
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < nv; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (int64_t i = nv; i < n; i++) y[i] += alpha * x[i];
    return NVP_OK;
}

nvp_status nvp_scale_avx2(float *y, const float *x, float alpha, float beta, int64_t n) {
    NVP_CHECK_SIZE("nvp_scale", n);
    int64_t nv = n & ~(int64_t)7;
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < nv; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), vb));
    for (int64_t i = nv; i < n; i++) y[i] = alpha * x[i] + beta;
    return NVP_OK;
}

/* Sums in double lanes: each 8-float load is widened to two 4-double halves. */
nvp_status nvp_sum_avx2(double *sum, double *sumsq, const float *x, int64_t n) {
    NVP_CHECK_SIZE("nvp_sum", n);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    __m256d q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
    int64_t nv = n & ~(int64_t)7;
    for (int64_t i = 0; i < nv; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
        s0 = _mm256_add_pd(s0, lo);
        s1 = _mm256_add_pd(s1, hi);
        q0 = _mm256_fmadd_pd(lo, lo, q0);
        q1 = _mm256_fmadd_pd(hi, hi, q1);
    }
    double ls[4], lq[4];
    _mm256_storeu_pd(ls, _mm256_add_pd(s0, s1));
    _mm256_storeu_pd(lq, _mm256_add_pd(q0, q1));
    double s = ls[0] + ls[1] + ls[2] + ls[3], q = lq[0] + lq[1] + lq[2] + lq[3];
    for (int64_t i = nv; i < n; i++) {
        s += x[i];
        q += (double)x[i] * x[i];
    }
    if (sum) *sum = s;
    if (sumsq) *sumsq = q;
    return NVP_OK;
}
