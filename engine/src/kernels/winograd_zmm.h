/* winograd_zmm.h -- what the AVX-512 transforms of the large tiles share (winograd_f7_avx512.c,
 * winograd_f8_avx512.c; compiled with -mavx512f/bw/dq/vl). */
#ifndef NVP_WINOGRAD_ZMM_H
#define NVP_WINOGRAD_ZMM_H

#include <immintrin.h>
#include <stdint.h>

/* the first count lanes (count <= 0: none, >= 16: all) */
static inline __mmask16 first_lanes(int64_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count > 0 ? count : 0)) - 1u);
}

/* 8 x 8 transposes in each 256-bit half: rows r[0..8) (lanes = columns c of two blocks, c < 8 and
 * c >= 8) -> u[c] = [column c | column c + 8] over the 8 rows. */
static inline __attribute__((always_inline)) void transpose8_halves(__m512 *u, const __m512 *r) {
    __m512 t[8], q[8];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++) { /* q[4i + e]: column 4b + e of rows 4i..4i+3 in 128-bit lane b */
        q[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        q[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        q[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        q[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    const __m512i even = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
    const __m512i odd = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
#pragma GCC unroll 4
    for (int e = 0; e < 4; e++) {
        u[e] = _mm512_permutex2var_ps(q[e], even, q[4 + e]);
        u[4 + e] = _mm512_permutex2var_ps(q[e], odd, q[4 + e]);
    }
}

#endif
