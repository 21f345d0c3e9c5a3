/*
 * winograd_f7_avx2.c -- F(7x7,3x3)'s tile transforms on AVX2, the ymm twins of winograd_f7_avx512.c's
 * in-register ones (layouts: winograd_internal.h; the stages: winograd_f7_stages.h), for planes of
 * 2 x 2 tiles of 7 (8-14 wide and high) and 4 x 4 tiles (22-28: nvp_winograd_f7_fast): the stage along y on plane rows
 * (two ymm a row of 16 columns), 4 x 4 transposes in the 128-bit halves turn the columns into tile
 * lanes, the stage along x runs on those; the output transform reverses it with 8 x 8 transposes. A
 * vector holds 8 tiles: two 2 x 2-tile planes, lane 4q + 2tx + ty (plane q: the AVX-512 order, 4 planes
 * a zmm), or half a 4 x 4-tile plane, lane 4tx' + ty for tile (2g + tx', ty) of half g (columns 8g ..
 * 8g + 7 of the plane's 16). Row tails by store_first, not vmaskmovps (slow stores on AMD).
 * Compiled with -mavx2 -mfma (this file only); reached through winograd_avx2.c.
 */
#include "winograd_internal.h"
#include "winograd_stages_avx2.h" /* transpose4_halves, transpose8, store_first, store_row16 */

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
enum { M = 7, A = 9, LANES = 8 };

#define F7_VEC __m256
#define F7_ADD(a, b) _mm256_add_ps(a, b)
#define F7_SUB(a, b) _mm256_sub_ps(a, b)
#define F7_MUL(c, a) _mm256_mul_ps(_mm256_set1_ps(c), a)
#define F7_FMA(c, a, b) _mm256_fmadd_ps(_mm256_set1_ps(c), a, b)
#define F7_NAME(name) name##_f7_256
#include "winograd_f7_stages.h" /* stage_in_f7_256, stage_out_f7_256 */

static inline int pairs_fit(int64_t h, int64_t width) { return h <= 14 && nvp_winograd_f7_fast(h, width); }

/* lane c of the mask: column c0 + c + off inside [0, width) (all bits set: maskload's sign) */
static inline __m256i cols_inside(int64_t c0, int off, int64_t width) {
    int32_t m[8];
    for (int c = 0; c < 8; c++) {
        int64_t col = c0 + c + off;
        m[c] = col >= 0 && col < width ? -1 : 0;
    }
    return _mm256_loadu_si256((const __m256i *)m);
}

/* Plane row r, columns off + c0 .. off + c0 + 7 (zeros outside the plane) */
INLINE __m256 load_row(const float *plane, int64_t r, int64_t h, int64_t width, int64_t c0, int off, __m256i cols) {
    if (r < 0 || r >= h) return _mm256_setzero_ps();
    return _mm256_maskload_ps(plane + r * width + c0 + off, cols);
}

/* Column c (< 16) of four rows transposed by transpose4_halves into w[0..4) (the 8-column halves
 * 0 and 1 in w[0], w[1]): lane s = row s. */
INLINE __m128 column(__m256 w[2][4], int c) {
    __m256 src = w[c / 8][c % 4];
    return (c % 8) / 4 ? _mm256_extractf128_ps(src, 1) : _mm256_castps256_ps128(src);
}

/* The y stage of four source rows' 16 columns (c0 .. c0 + 15 + off of plane rows r0[s] + i), then per
 * k the transposes and the x stage; `lanes_of` puts tap j (columns j and j + 7 of every source) into
 * the lane order, `store` writes V's row. ys: 9 x 4 x 2 ymm of the work buffer. */
INLINE void four_rows(float *v, int64_t xs, const float *const src[4], const int64_t r0[4], int nsrc, int64_t h,
                      int64_t width, int64_t c0, const int grad, float *ys, const int pairs, int live) {
    const int taps = grad ? M : A, off = grad ? 0 : -1;
    const __m256i cols[2] = {cols_inside(c0, off, width), cols_inside(c0 + 8, off, width)};
    for (int s = 0; s < 4; s++) {
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            __m256 d[A], t[A];
            if (s >= nsrc) {
                for (int k = 0; k < A; k++) _mm256_storeu_ps(ys + ((k * 4 + s) * 2 + half) * LANES, _mm256_setzero_ps());
                continue;
            }
#pragma GCC unroll 9
            for (int i = 0; i < taps; i++) d[i] = load_row(src[s], r0[s] + i, h, width, c0 + 8 * half, off, cols[half]);
            stage_in_f7_256(t, d, grad);
#pragma GCC unroll 9
            for (int k = 0; k < A; k++) _mm256_storeu_ps(ys + ((k * 4 + s) * 2 + half) * LANES, t[k]);
        }
    }
    for (int k = 0; k < A; k++) {
        __m256 w[2][4], d[A], t[A];
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
            const float *y0 = ys + (k * 4 * 2 + half) * LANES;
            transpose4_halves(w[half], _mm256_loadu_ps(y0), _mm256_loadu_ps(y0 + 2 * LANES),
                              _mm256_loadu_ps(y0 + 4 * LANES), _mm256_loadu_ps(y0 + 6 * LANES));
        }
#pragma GCC unroll 9
        for (int j = 0; j < taps; j++) {
            __m128 cj = column(w, j), c7 = column(w, j + 7); /* over the sources s = 0..3 */
            if (pairs) /* lane 4q + 2tx + ty, s = 2q + ty */
                d[j] = _mm256_set_m128(_mm_movehl_ps(c7, cj), _mm_movelh_ps(cj, c7));
            else /* lane 4tx' + ty, s = ty */
                d[j] = _mm256_set_m128(c7, cj);
        }
        stage_in_f7_256(t, d, grad);
#pragma GCC unroll 9
        for (int l = 0; l < A; l++) {
            if (live == LANES)
                _mm256_storeu_ps(v + (k * A + l) * xs, t[l]);
            else
                store_first(v + (k * A + l) * xs, t[l], live);
        }
    }
}

/* v[xi*xs + j*T + t]: the input (grad = 0) or gradient (grad = 1) transform of `planes` planes */
void nvp_winograd_f7_input_avx2(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                                int64_t width, int grad, float *work) {
    const int off = grad ? 0 : -1;
    if (pairs_fit(h, width)) {
        for (int64_t j0 = 0; j0 < planes; j0 += 2) {
            int nq = planes - j0 < 2 ? 1 : 2;
            const float *src[4] = {x + j0 * stride, x + j0 * stride, x + (j0 + nq - 1) * stride,
                                   x + (j0 + nq - 1) * stride};
            const int64_t r0[4] = {off, M + off, off, M + off};
            if (grad)
                four_rows(v + j0 * 4, xs, src, r0, 2 * nq, h, width, 0, 1, work, 1, 4 * nq);
            else
                four_rows(v + j0 * 4, xs, src, r0, 2 * nq, h, width, 0, 0, work, 1, 4 * nq);
        }
        return;
    }
    for (int64_t j = 0; j < planes; j++) /* quads: two halves of 8 tiles, columns 14g + ... */
        for (int g = 0; g < 2; g++) {
            const float *p = x + j * stride;
            const float *src[4] = {p, p, p, p};
            const int64_t r0[4] = {off, M + off, 2 * M + off, 3 * M + off};
            if (grad)
                four_rows(v + j * 16 + 8 * g, xs, src, r0, 4, h, width, 14 * g, 1, work, 0, LANES);
            else
                four_rows(v + j * 16 + 8 * g, xs, src, r0, 4, h, width, 14 * g, 0, work, 0, LANES);
        }
}

/* One output row segment of n <= 14 columns: tile a's 7 phases, then tile b's (pa, pb: their lanes
 * of the transposed phases), plus ar (the residual) when there is one. */
INLINE void store_pair_row(float *yr, const float *ar, __m256 ta, __m256 tb, int64_t n) {
    const __m256i shift = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7);
    __m256 lo = _mm256_blend_ps(ta, _mm256_broadcastss_ps(_mm256_castps256_ps128(tb)), 0x80);
    __m256 hi = _mm256_permutevar8x32_ps(tb, shift);
    if (n > 8) {
        __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        store_row16(yr, ar, lo, hi, tail, n - 8);
        return;
    }
    if (ar) lo = _mm256_add_ps(lo, _mm256_maskload_ps(ar, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                                                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))));
    store_first(yr, lo, n);
}

/* The output transform of one group of 8 tiles (M's columns mt .. mt + 7; `live` of them), then each
 * row phase's 7 vectors transposed into one vector per tile (its 7 phases) and written as rows by
 * `emit`'s rule: pairs = two planes of 2 x 2 tiles (y planes q*stride apart), else half g of a 4 x 4-tile
 * plane (columns 14g ..). */
INLINE void output_group(float *y, int64_t stride, const float *mt, int64_t xs, int64_t h, int64_t width, float bias,
                         const float *add, int live, const int pairs, int g, float *buf) {
    const __m256i in = _mm256_cmpgt_epi32(_mm256_set1_epi32(live), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int l = 0; l < A; l++) { /* along y: buf[rr][l] = sum_k AT[rr][k] M[k*9 + l] */
        __m256 d[A], z[M];
#pragma GCC unroll 9
        for (int k = 0; k < A; k++)
            d[k] = live == LANES ? _mm256_loadu_ps(mt + (k * A + l) * xs) : _mm256_maskload_ps(mt + (k * A + l) * xs, in);
        stage_out_f7_256(z, d);
#pragma GCC unroll 7
        for (int rr = 0; rr < M; rr++) _mm256_storeu_ps(buf + (rr * A + l) * LANES, z[rr]);
    }
    for (int rr = 0; rr < M; rr++) { /* along x, then the tiles' phases into rows */
        __m256 d[A], z[8], t[8];
#pragma GCC unroll 9
        for (int l = 0; l < A; l++) d[l] = _mm256_loadu_ps(buf + (rr * A + l) * LANES);
        d[1] = _mm256_add_ps(d[1], _mm256_set1_ps(bias));
        stage_out_f7_256(z, d);
        z[7] = _mm256_setzero_ps();
        transpose8(t, z); /* t[lane]: that tile's phases */
        if (pairs) {
            for (int q = 0; q < live / 4; q++)
                for (int ty = 0; ty < 2; ty++) {
                    int64_t oy = M * ty + rr;
                    if (oy >= h) continue;
                    store_pair_row(y + q * stride + oy * width, add ? add + q * stride + oy * width : NULL,
                                   t[4 * q + ty], t[4 * q + 2 + ty], width);
                }
        } else {
            int64_t n = width - 14 * g < 14 ? width - 14 * g : 14;
            for (int ty = 0; ty < 4; ty++) {
                int64_t oy = M * ty + rr;
                if (oy >= h) continue;
                store_pair_row(y + oy * width + 14 * g, add ? add + oy * width + 14 * g : NULL, t[ty], t[4 + ty], n);
            }
        }
    }
}

void nvp_winograd_f7_output_avx2(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h,
                                 int64_t width, float bias, const float *add, float *work) {
    if (pairs_fit(h, width)) {
        for (int64_t j0 = 0; j0 < planes; j0 += 2)
            output_group(y + j0 * stride, stride, mt + j0 * 4, xs, h, width, bias, add ? add + j0 * stride : NULL,
                         planes - j0 < 2 ? 4 : 8, 1, 0, work);
        return;
    }
    for (int64_t j = 0; j < planes; j++)
        for (int g = 0; g < 2; g++)
            output_group(y + j * stride, stride, mt + j * 16 + 8 * g, xs, h, width, bias, add ? add + j * stride : NULL,
                         LANES, 0, g, work);
}
