/* winograd_stages_avx2.h -- winograd_stages.h on ymm (stage_in256, stage_out256), transposes and
 * store_first, for the AVX2 tile transforms (winograd_avx2.c, winograd_narrow_avx2.c,
 * winograd_f4_pairs_avx2.c, winograd_f7_avx2.c, winograd_f8_avx2.c; compiled with -mavx2 -mfma). */
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

/* p[c] lane i of each 128-bit half = g[i] lane c of that half (i, c < 4): a 4 x 4 transpose per half,
 * which turns the tiles' rows of four columns into the column phases (and back). */
static inline __attribute__((always_inline)) void transpose4_halves(__m256 p[4], __m256 g0, __m256 g1, __m256 g2,
                                                                     __m256 g3) {
    __m256 t0 = _mm256_unpacklo_ps(g0, g1), t1 = _mm256_unpackhi_ps(g0, g1);
    __m256 t2 = _mm256_unpacklo_ps(g2, g3), t3 = _mm256_unpackhi_ps(g2, g3);
    p[0] = _mm256_shuffle_ps(t0, t2, 0x44);
    p[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
    p[2] = _mm256_shuffle_ps(t1, t3, 0x44);
    p[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}

/* 8 x 8 transpose: t[i] lane j = r[j] lane i */
static inline __attribute__((always_inline)) void transpose8(__m256 *t, const __m256 *r) {
    __m256 a[8], b[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        a[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++) {
        b[4 * i] = _mm256_shuffle_ps(a[4 * i], a[4 * i + 2], 0x44);
        b[4 * i + 1] = _mm256_shuffle_ps(a[4 * i], a[4 * i + 2], 0xEE);
        b[4 * i + 2] = _mm256_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0x44);
        b[4 * i + 3] = _mm256_shuffle_ps(a[4 * i + 1], a[4 * i + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int e = 0; e < 4; e++) {
        t[e] = _mm256_permute2f128_ps(b[e], b[4 + e], 0x20);
        t[4 + e] = _mm256_permute2f128_ps(b[e], b[4 + e], 0x31);
    }
}

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

/* yr[0, 8 + n) = (ar ? ar[0, 8 + n) : 0) + lo, the first n lanes of hi (1 <= n <= 8, `tail` their
 * lanes): one output row 9-16 wide, with the residual sum when there is one. */
static inline __attribute__((always_inline)) void store_row16(float *yr, const float *ar, __m256 lo, __m256 hi,
                                                               __m256i tail, int64_t n) {
    if (ar) {
        lo = _mm256_add_ps(_mm256_loadu_ps(ar), lo);
        hi = _mm256_add_ps(_mm256_maskload_ps(ar + 8, tail), hi);
    }
    _mm256_storeu_ps(yr, lo);
    store_first(yr + 8, hi, n);
}

#endif
