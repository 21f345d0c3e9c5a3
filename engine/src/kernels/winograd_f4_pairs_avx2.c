/*
 * winograd_f4_pairs_avx2.c -- F(4x4)'s tile transforms on planes 13-16 wide (14x14 and 16x16: four
 * tiles a row) on the AVX2 path, rows in registers: a ymm holds two tile rows, tile row ty0 in its low
 * 128-bit half and ty0 + 1 in its high half, lane tx within the half (tile t = 4 ty + tx, so the pair's
 * 8 tiles are contiguous in V, D and M: one store or load per transform row). input_m's padded,
 * phase-split copies left half of each ymm idle on these planes and ran F(4x4) slower than F(2x2)
 * (experiments/results/bench.md, section G). Each plane row's four column phases come from a 4 x 4
 * transpose per half (the two halves read the two tile rows' plane rows); the input transform's taps
 * 0 and 5 (columns 4tx - 1 and 4tx + 4) are phases 3 and 0 shifted by one tile within each half, zeros
 * shifted in: the padding. Same layouts and contracts as winograd_avx2.c's input_m, grad_m and
 * output_m. Compiled with -mavx2 -mfma (this file only).
 */
#include "winograd_internal.h"
#include "winograd_stages_avx2.h" /* stage_in256, stage_out256 */

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))

/* Lanes below `count` (of 8) set. */
INLINE __m256i first_lanes(int64_t count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* p[ph] = [ra[4tx + ph] | rb[4tx + ph]], tx < 4: the column phases of plane rows ra (low half) and rb
 * (high half), each `width` <= 16 floats (tail: the lanes past 8 that are inside the row); NULL = a row
 * of zeros (outside the plane). */
INLINE void pair_phases(__m256 p[4], const float *ra, const float *rb, __m256i tail) {
    __m256 zero = _mm256_setzero_ps();
    __m256 a0 = ra ? _mm256_loadu_ps(ra) : zero, a1 = ra ? _mm256_maskload_ps(ra + 8, tail) : zero;
    __m256 b0 = rb ? _mm256_loadu_ps(rb) : zero, b1 = rb ? _mm256_maskload_ps(rb + 8, tail) : zero;
    __m256 g0 = _mm256_permute2f128_ps(a0, b0, 0x20), g1 = _mm256_permute2f128_ps(a0, b0, 0x31); /* tiles 0, 1 */
    __m256 g2 = _mm256_permute2f128_ps(a1, b1, 0x20), g3 = _mm256_permute2f128_ps(a1, b1, 0x31); /* tiles 2, 3 */
    transpose4_halves(p, g0, g1, g2, g3);
}

/* Plane row `row` of x, or NULL outside [0, h). */
INLINE const float *plane_row(const float *x, int64_t h, int64_t width, int64_t row) {
    return row >= 0 && row < h ? x + row * width : NULL;
}

/* The 6 x 8 tiles of one transform row of the pair at v (stride xs), the low 4 lanes only when the
 * pair is one tile row (so nothing lands past the plane's tiles). */
INLINE void store_pair(float *v, int64_t xs, const __m256 *t, int two) {
    for (int k = 0; k < 6; k++) {
        if (two)
            _mm256_storeu_ps(v + k * xs, t[k]);
        else
            _mm_storeu_ps(v + k * xs, _mm256_castps256_ps128(t[k]));
    }
}

/* v[(k*6 + l)*xs + t] = (B^T d B)[k][l] of every tile t of the zero-padded plane x (H, W), W 13-16. */
void nvp_winograd_pairs_input_avx2(float *v, int64_t xs, const float *x, int64_t h, int64_t width) {
    int64_t th = (h + 3) / 4;
    __m256i tail = first_lanes(width - 8);
    for (int64_t ty0 = 0; ty0 < th; ty0 += 2) {
        int two = ty0 + 1 < th;
        __m256 xs_of[6][6]; /* xs_of[j][l]: B along x of the pair's plane rows 4ty - 1 + j */
        for (int j = 0; j < 6; j++) {
            int64_t row = 4 * ty0 - 1 + j;
            __m256 p[4], d[6];
            pair_phases(p, plane_row(x, h, width, row), two ? plane_row(x, h, width, row + 4) : NULL, tail);
            d[0] = _mm256_castsi256_ps(_mm256_slli_si256(_mm256_castps_si256(p[3]), 4)); /* column 4tx - 1 */
            d[1] = p[0];
            d[2] = p[1];
            d[3] = p[2];
            d[4] = p[3];
            d[5] = _mm256_castsi256_ps(_mm256_srli_si256(_mm256_castps_si256(p[0]), 4)); /* column 4tx + 4 */
            stage_in256(xs_of[j], d, 4, 0);
        }
        for (int l = 0; l < 6; l++) { /* B^T along y */
            __m256 d[6], t[6];
            for (int j = 0; j < 6; j++) d[j] = xs_of[j][l];
            stage_in256(t, d, 4, 0);
            store_pair(v + l * xs + ty0 * 4, 6 * xs, t, two);
        }
    }
}

/* v[(k*6 + l)*xs + t] = (A g A^T)[k][l] of dy's 4 x 4 block t (zeros past the plane), W 13-16. */
void nvp_winograd_pairs_grad_avx2(float *v, int64_t xs, const float *dy, int64_t h, int64_t width) {
    int64_t th = (h + 3) / 4;
    __m256i tail = first_lanes(width - 8);
    for (int64_t ty0 = 0; ty0 < th; ty0 += 2) {
        int two = ty0 + 1 < th;
        __m256 g[4][6]; /* A along x of the pair's dy rows 4ty + i */
        for (int i = 0; i < 4; i++) {
            int64_t row = 4 * ty0 + i;
            __m256 p[4];
            pair_phases(p, plane_row(dy, h, width, row), two ? plane_row(dy, h, width, row + 4) : NULL, tail);
            stage_in256(g[i], p, 4, 1);
        }
        for (int l = 0; l < 6; l++) { /* A along y */
            __m256 d[4], t[6];
            for (int i = 0; i < 4; i++) d[i] = g[i][l];
            stage_in256(t, d, 4, 1);
            store_pair(v + l * xs + ty0 * 4, 6 * xs, t, two);
        }
    }
}

/* y rows 4ty .. 4ty + 3 of both tile rows = bias + A^T M A (+ add), W 13-16: A^T along y first (zy, in
 * registers), then per output row phase r A^T along x and the phases interleaved by a 4 x 4 transpose
 * per half. */
void nvp_winograd_pairs_output_avx2(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, float bias,
                                    const float *add) {
    int64_t th = (h + 3) / 4;
    __m256i tail = first_lanes(width - 8);
    const __m256 vbias = _mm256_set1_ps(bias);
    for (int64_t ty0 = 0; ty0 < th; ty0 += 2) {
        const float *mk = mt + ty0 * 4;
        __m256 zy[4][6];
        for (int l = 0; l < 6; l++) {
            __m256 d[6], t[4];
            for (int k = 0; k < 6; k++) d[k] = _mm256_loadu_ps(mk + (k * 6 + l) * xs);
            stage_out256(t, d, 4);
            for (int r = 0; r < 4; r++) zy[r][l] = t[r];
        }
        for (int r = 0; r < 4; r++) {
            __m256 z[4], d[6];
            for (int l = 0; l < 6; l++) d[l] = zy[r][l];
            d[1] = _mm256_add_ps(d[1], vbias);
            stage_out256(z, d, 4); /* z[c] = [tile row ty0, tx | ty0 + 1, tx]: output column 4tx + c */
            __m256 u[4]; /* output columns 0-3, 4-7, 8-11, 12-15 of both tile rows */
            transpose4_halves(u, z[0], z[1], z[2], z[3]);
            __m256 u0 = u[0], u1 = u[1], u2 = u[2], u3 = u[3];
            for (int half = 0; half < 2; half++) {
                int64_t oy = 4 * (ty0 + half) + r;
                if (oy >= h) break;
                /* (immediates in both branches: a selector variable is not one at -O1, the sanitizer build's) */
                __m256 lo = half ? _mm256_permute2f128_ps(u0, u1, 0x31) : _mm256_permute2f128_ps(u0, u1, 0x20);
                __m256 hi = half ? _mm256_permute2f128_ps(u2, u3, 0x31) : _mm256_permute2f128_ps(u2, u3, 0x20);
                store_row16(y + oy * width, add ? add + oy * width : NULL, lo, hi, tail, width - 8);
            }
        }
    }
}
