/* winograd_stages_avx2.h -- winograd_stages.h on ymm (stage_in256, stage_out256) and store_first, for
 * the AVX2 tile transforms (winograd_avx2.c, winograd_narrow_avx2.c, winograd_f4_pairs_avx2.c;
 * compiled with -mavx2 -mfma). */
#ifndef NVP_WINOGRAD_STAGES_AVX2_H
#define NVP_WINOGRAD_STAGES_AVX2_H

#include <immintrin.h>
#include <stdint.h>

#define WS_VEC __m256
#define WS_ZERO _mm256_setzero_ps()
#define WS_ADD(a, b) _mm256_add_ps(a, b)
#define WS_SUB(a, b) _mm256_sub_ps(a, b)
#define WS_FMA(c, a, b) _mm256_fmadd_ps(_mm256_set1_ps(c), a, b)
#define WS_NAME(name) name##256
#include "winograd_stages.h"

/* dst[0..n) = the first n lanes of v, 1 <= n <= 8, by 128-, 64- and 32-bit stores: a row's tail
 * without vmaskmovps, whose stores are slow on AMD cores. */
static inline __attribute__((always_inline)) void store_first(float *dst, __m256 v, int64_t n) {
    __m128 q = _mm256_castps256_ps128(v);
    if (n >= 4) {
        _mm_storeu_ps(dst, q);
        q = _mm256_extractf128_ps(v, 1);
        dst += 4;
        n -= 4;
        if (n == 4) {
            _mm_storeu_ps(dst, q);
            return;
        }
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)dst, q);
        q = _mm_movehl_ps(q, q);
        dst += 2;
        n -= 2;
    }
    if (n) _mm_store_ss(dst, q);
}

#endif
