/* interleave_avx2.h -- even/odd splitting and merging of float rows with AVX2, shared by the
 * squeeze (reshape_avx2.c) and the Winograd tiles (winograd_rows_avx2.h, winograd_avx2.c). Include
 * only from *_avx2.c and *_avx512.c files (compiled with -mavx2). */
#ifndef NVP_INTERLEAVE_AVX2_H
#define NVP_INTERLEAVE_AVX2_H

#include <immintrin.h>
#include <stdint.h>

/* even[j] = src[2j], odd[j] = src[2j+1], j < n2 (reads src[0 .. 2 n2) only). */
static inline void deinterleave2(float *restrict even, float *restrict odd, const float *restrict src, int64_t n2) {
    int64_t j = 0;
    for (; j + 8 <= n2; j += 8) {
        __m256 a = _mm256_loadu_ps(src + 2 * j), b = _mm256_loadu_ps(src + 2 * j + 8);
        __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
        __m256 o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
        _mm256_storeu_ps(even + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0))));
        _mm256_storeu_ps(odd + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0))));
    }
    for (; j < n2; j++) {
        even[j] = src[2 * j];
        odd[j] = src[2 * j + 1];
    }
}

/* dst[2j] = a[j], dst[2j+1] = b[j], j < n. */
static inline void interleave2(float *restrict dst, const float *restrict a, const float *restrict b, int64_t n) {
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 va = _mm256_loadu_ps(a + j), vb = _mm256_loadu_ps(b + j);
        __m256 lo = _mm256_unpacklo_ps(va, vb), hi = _mm256_unpackhi_ps(va, vb); /* a0 b0 a1 b1 | a4 b4 a5 b5 */
        _mm256_storeu_ps(dst + 2 * j, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(dst + 2 * j + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
    for (; j < n; j++) {
        dst[2 * j] = a[j];
        dst[2 * j + 1] = b[j];
    }
}

#endif
