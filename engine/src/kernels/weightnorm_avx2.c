/*
 * weightnorm_avx2.c -- AVX2 twins of weightnorm.c. Compiled with -mavx2 -mfma (this file only); reached
 * only through the op table on the avx2 and avx512 CPU paths. Every vector loop ends with a scalar tail.
 * Reductions are widened to double lanes, like the references.
 */
#include "weightnorm_internal.h"

#include <immintrin.h>
#include <math.h>

#define OMP_MIN 32768

static inline double hsum_pd(__m256d a) {
    double l[4];
    _mm256_storeu_pd(l, a);
    return (l[0] + l[1]) + (l[2] + l[3]);
}

/* sum a[j]*b[j] in double */
static double dot_pd(const float *a, const float *b, int64_t n) {
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    int64_t nv = n & ~(int64_t)7;
    for (int64_t j = 0; j < nv; j += 8) {
        __m256 va = _mm256_loadu_ps(a + j), vb = _mm256_loadu_ps(b + j);
        s0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(va)),
                             _mm256_cvtps_pd(_mm256_castps256_ps128(vb)), s0);
        s1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(va, 1)),
                             _mm256_cvtps_pd(_mm256_extractf128_ps(vb, 1)), s1);
    }
    double s = hsum_pd(_mm256_add_pd(s0, s1));
    for (int64_t j = nv; j < n; j++) s += (double)a[j] * b[j];
    return s;
}

// w, v: (Cout,K); g, norm: (Cout)
nvp_status nvp_weightnorm_forward_avx2(float *w, float *norm, const float *v, const float *g, int64_t cout,
                                       int64_t k) {
    nvp_status st = nvp_weightnorm_forward_check(w, norm, v, g, cout, k);
    if (st != NVP_OK) return st;
    int64_t nv = k & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (cout * k > OMP_MIN)
    for (int64_t o = 0; o < cout; o++) {
        const float *vr = v + o * k;
        double nr = sqrt(dot_pd(vr, vr, k));
        norm[o] = (float)nr;
        float s = (float)(g[o] / nr);
        __m256 vs = _mm256_set1_ps(s);
        float *wr = w + o * k;
        for (int64_t j = 0; j < nv; j += 8) _mm256_storeu_ps(wr + j, _mm256_mul_ps(vs, _mm256_loadu_ps(vr + j)));
        for (int64_t j = nv; j < k; j++) wr[j] = s * vr[j];
    }
    return NVP_OK;
}

nvp_status nvp_weightnorm_backward_avx2(float *dv, float *dg, const float *dw, const float *v, const float *g,
                                        const float *norm, int64_t cout, int64_t k) {
    nvp_status st = nvp_weightnorm_backward_check(dv, dg, dw, v, g, norm, cout, k);
    if (st != NVP_OK) return st;
    int64_t nv = k & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (cout * k > OMP_MIN)
    for (int64_t o = 0; o < cout; o++) {
        const float *vr = v + o * k, *dwr = dw + o * k;
        double dot = dot_pd(dwr, vr, k);
        double nr = norm[o];
        dg[o] += (float)(dot / nr);
        float a = (float)(g[o] / nr), b = (float)(g[o] * dot / (nr * nr * nr));
        __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
        float *dvr = dv + o * k;
        for (int64_t j = 0; j < nv; j += 8) {
            __m256 t = _mm256_fmadd_ps(va, _mm256_loadu_ps(dwr + j), _mm256_loadu_ps(dvr + j));
            _mm256_storeu_ps(dvr + j, _mm256_fnmadd_ps(vb, _mm256_loadu_ps(vr + j), t));
        }
        for (int64_t j = nv; j < k; j++) dvr[j] += a * dwr[j] - b * vr[j];
    }
    return NVP_OK;
}
