/*
 * adam_avx2.c -- the AVX2 twin of adam.c. Compiled with -mavx2 -mfma (this file only); reached only
 * through the op table on the avx2 and avx512 CPU paths. The vector loop ends with a scalar tail.
 */
#include "adam_internal.h"

#include <immintrin.h>
#include <math.h>

#define OMP_MIN 32768

// param, m, v, grad: (n)
nvp_status nvp_adam_step_avx2(float *param, float *m, float *v, const float *grad, int64_t n, float lr,
                              float beta1, float beta2, float eps, float weight_decay, int64_t step) {
    float c1, c2;
    nvp_status st = nvp_adam_prepare(&c1, &c2, param, m, v, grad, n, lr, beta1, beta2, eps, weight_decay, step);
    if (st != NVP_OK) return st;
    const float a1 = 1.0f - beta1, a2 = 1.0f - beta2;
    const __m256 vb1 = _mm256_set1_ps(beta1), vb2 = _mm256_set1_ps(beta2), va1 = _mm256_set1_ps(a1);
    const __m256 va2 = _mm256_set1_ps(a2), vc1 = _mm256_set1_ps(c1), vc2 = _mm256_set1_ps(c2);
    const __m256 vlr = _mm256_set1_ps(lr), veps = _mm256_set1_ps(eps), vwd = _mm256_set1_ps(weight_decay);
    const int64_t nv = n & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (n > OMP_MIN)
    for (int64_t i = 0; i < nv; i += 8) {
        __m256 p = _mm256_loadu_ps(param + i);
        __m256 g = _mm256_fmadd_ps(vwd, p, _mm256_loadu_ps(grad + i));
        __m256 mi = _mm256_fmadd_ps(vb1, _mm256_loadu_ps(m + i), _mm256_mul_ps(va1, g));
        __m256 vi = _mm256_fmadd_ps(vb2, _mm256_loadu_ps(v + i), _mm256_mul_ps(va2, _mm256_mul_ps(g, g)));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 den = _mm256_add_ps(_mm256_sqrt_ps(_mm256_mul_ps(vi, vc2)), veps);
        __m256 upd = _mm256_div_ps(_mm256_mul_ps(vlr, _mm256_mul_ps(mi, vc1)), den);
        _mm256_storeu_ps(param + i, _mm256_sub_ps(p, upd));
    }
    for (int64_t i = nv; i < n; i++) {
        float g = grad[i] + weight_decay * param[i];
        float mi = beta1 * m[i] + a1 * g;
        float vi = beta2 * v[i] + a2 * (g * g);
        m[i] = mi;
        v[i] = vi;
        param[i] -= lr * (mi * c1) / (sqrtf(vi * c2) + eps);
    }
    return NVP_OK;
}
