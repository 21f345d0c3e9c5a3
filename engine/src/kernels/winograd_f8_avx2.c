/*
 * winograd_f8_avx2.c -- F(8x8,3x3)'s tile transforms on AVX2 (the matrices and the layouts:
 * winograd_internal.h; the stages: winograd_f8_stages.h) for the planes nvp_winograd_f8_fast takes,
 * 2 x 2 or 4 x 4 tiles of 8. A ymm holds 8 tiles: two 2 x 2-tile planes (lane 4 q + 2 ty + tx) or two
 * tile rows of a 4 x 4-tile plane (lane 4 (ty % 2) + tx), so its lanes are 8 consecutive columns of V
 * and M in the drivers' order. A tile is 8 columns, one ymm: the stage along y runs on each tile's
 * rows, one 8 x 8 transpose turns the group's tiles into lanes, and a tile's columns -1 and 8 are its
 * left and right neighbours' 7 and 0 (one lane permute each, zeros at the plane's edge). The output
 * transform is the same backwards: the transpose of a row phase's 8 outputs gives each tile's row.
 * Row tails by store_first, not vmaskmovps (slow stores on AMD). Compiled with -mavx2 -mfma (this file
 * only); reached through winograd_avx2.c.
 */
#include "winograd_internal.h"
#include "winograd_stages_avx2.h" /* transpose8, store_first */

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
enum { M = 8, A = 10, LANES = 8 };

#define F8_VEC __m256
#define F8_ADD(a, b) _mm256_add_ps(a, b)
#define F8_SUB(a, b) _mm256_sub_ps(a, b)
#define F8_FMA(c, a, b) _mm256_fmadd_ps(_mm256_set1_ps(c), a, b)
#define F8_NAME(name) name##_f8_256
#include "winograd_f8_stages.h" /* stage_in_f8_256, stage_out_f8_256 */
#define stage_in stage_in_f8_256
#define stage_out stage_out_f8_256

static inline int pairs_fit(int64_t h, int64_t width) { return h <= 16 && nvp_winograd_f8_fast(h, width); }

/* Tile of lane s in a group: plane q (pairs; 0 for quads), tile column tx, tile row ty (quads: of
 * the group's two, + 2 g). tiles: tiles per plane row (2 or 4). */
typedef struct {
    int q, tx, ty;
} tile_at;
static inline tile_at lane_tile(int quads, int s) {
    tile_at t;
    if (quads)
        t.q = 0, t.ty = s / 4, t.tx = s % 4;
    else
        t.q = s / 4, t.ty = (s / 2) % 2, t.tx = s % 2;
    return t;
}

/* The lanes of a group that take their neighbour's column (dir = -1: the left one's 7, +1: the right
 * one's 0) and its lane, in both layouts the next lane down or up (tx is the lowest part) */
static inline __m256i neighbour_mask(int quads, int dir) {
    int32_t m[8];
    int tiles = quads ? 4 : 2;
    for (int s = 0; s < 8; s++) {
        int tx = lane_tile(quads, s).tx + dir;
        m[s] = tx >= 0 && tx < tiles ? -1 : 0;
    }
    return _mm256_loadu_si256((const __m256i *)m);
}

/* lane c of the mask: column col0 + c inside the plane (maskload's sign bit) */
static inline __m256i cols_mask(int64_t col0, int64_t width) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(width - col0)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Input / gradient transform of one group of 8 tiles: two 2 x 2-tile planes (nq of them; quads = 0)
 * or tile rows 2 g, 2 g + 1 of a 4 x 4-tile plane. ys: the y stage's rows, ys[(k * 8 + s) * 8]. */
INLINE void group_in(float *v, int64_t xs, const float *x, int64_t stride, int64_t nq, int64_t h, int64_t width,
                     const int quads, int g, const int grad, float *ys) {
    const int taps = grad ? M : A, off = grad ? 0 : -1;
    for (int s = 0; s < 8; s++) {
        tile_at tl = lane_tile(quads, s);
        int64_t ty = tl.ty + 2 * g, col0 = M * tl.tx;
        __m256 d[A], t[A];
        if (tl.q >= nq) {
#pragma GCC unroll 10
            for (int k = 0; k < A; k++) _mm256_storeu_ps(ys + (k * 8 + s) * LANES, _mm256_setzero_ps());
            continue;
        }
        const float *plane = x + tl.q * stride;
        const __m256i cols = cols_mask(col0, width);
#pragma GCC unroll 10
        for (int i = 0; i < taps; i++) {
            int64_t r = M * ty + off + i;
            d[i] = r >= 0 && r < h ? _mm256_maskload_ps(plane + r * width + col0, cols) : _mm256_setzero_ps();
        }
        stage_in(t, d, grad);
#pragma GCC unroll 10
        for (int k = 0; k < A; k++) _mm256_storeu_ps(ys + (k * 8 + s) * LANES, t[k]);
    }
    const __m256i down = _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6), up = _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7);
    const __m256 has_left = _mm256_castsi256_ps(neighbour_mask(quads, -1));
    const __m256 has_right = _mm256_castsi256_ps(neighbour_mask(quads, 1));
    for (int k = 0; k < A; k++) {
        __m256 r[8], u[8], d[A], t[A];
#pragma GCC unroll 8
        for (int s = 0; s < 8; s++) r[s] = _mm256_loadu_ps(ys + (k * 8 + s) * LANES);
        transpose8(u, r); /* u[c] lane s: column c of tile s */
        if (grad) {
#pragma GCC unroll 8
            for (int i = 0; i < M; i++) d[i] = u[i];
        } else {
            d[0] = _mm256_and_ps(has_left, _mm256_permutevar8x32_ps(u[7], down));
#pragma GCC unroll 8
            for (int i = 1; i <= M; i++) d[i] = u[i - 1];
            d[9] = _mm256_and_ps(has_right, _mm256_permutevar8x32_ps(u[0], up));
        }
        stage_in(t, d, grad);
        /* whole vectors: a short group's lanes past its planes land in V's row padding (VPAD) */
#pragma GCC unroll 10
        for (int l = 0; l < A; l++) _mm256_storeu_ps(v + (k * A + l) * xs, t[l]);
    }
}

/* Output transform of one group (as group_in's): the stage along y into buf[(rr * A + l) * 8], then per
 * row phase rr the stage along x, transposed into one vector per tile: its output row. */
INLINE void group_out(float *y, int64_t stride, int64_t nq, const float *mt, int64_t xs, int64_t h, int64_t width,
                      const int quads, int g, float bias, const float *add, float *buf) {
    for (int l = 0; l < A; l++) {
        __m256 d[A], z[M];
#pragma GCC unroll 10
        for (int k = 0; k < A; k++) d[k] = _mm256_loadu_ps(mt + (k * A + l) * xs);
        stage_out(z, d);
#pragma GCC unroll 8
        for (int rr = 0; rr < M; rr++) _mm256_storeu_ps(buf + (rr * A + l) * LANES, z[rr]);
    }
    for (int rr = 0; rr < M; rr++) {
        __m256 d[A], z[M], u[8];
#pragma GCC unroll 10
        for (int l = 0; l < A; l++) d[l] = _mm256_loadu_ps(buf + (rr * A + l) * LANES);
        d[1] = _mm256_add_ps(d[1], _mm256_set1_ps(bias)); /* A's column 1 is all ones: once per output */
        stage_out(z, d);
        transpose8(u, z); /* u[s]: row rr of tile s's outputs */
        for (int s = 0; s < 8; s++) {
            tile_at tl = lane_tile(quads, s);
            int64_t oy = M * (tl.ty + 2 * g) + rr, col0 = M * tl.tx, n = width - col0;
            if (tl.q >= nq || oy >= h || n <= 0) continue;
            int64_t at = tl.q * stride + oy * width + col0;
            __m256 row = u[s];
            if (n >= 8) {
                if (add) row = _mm256_add_ps(row, _mm256_loadu_ps(add + at));
                _mm256_storeu_ps(y + at, row);
            } else {
                if (add) row = _mm256_add_ps(row, _mm256_maskload_ps(add + at, cols_mask(0, n)));
                store_first(y + at, row, n);
            }
        }
    }
}

void nvp_winograd_f8_input_avx2(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                                int64_t width, int grad, float *work) {
    if (pairs_fit(h, width)) {
        for (int64_t j0 = 0; j0 < planes; j0 += 2) {
            int64_t nq = planes - j0 < 2 ? planes - j0 : 2;
            if (grad)
                group_in(v + j0 * 4, xs, x + j0 * stride, stride, nq, h, width, 0, 0, 1, work);
            else
                group_in(v + j0 * 4, xs, x + j0 * stride, stride, nq, h, width, 0, 0, 0, work);
        }
        return;
    }
    for (int64_t j = 0; j < planes; j++)
        for (int g = 0; g < 2; g++) {
            if (grad)
                group_in(v + j * 16 + 8 * g, xs, x + j * stride, stride, 1, h, width, 1, g, 1, work);
            else
                group_in(v + j * 16 + 8 * g, xs, x + j * stride, stride, 1, h, width, 1, g, 0, work);
        }
}

void nvp_winograd_f8_output_avx2(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h,
                                 int64_t width, float bias, const float *add, float *work) {
    if (pairs_fit(h, width)) {
        for (int64_t j0 = 0; j0 < planes; j0 += 2)
            group_out(y + j0 * stride, stride, planes - j0 < 2 ? planes - j0 : 2, mt + j0 * 4, xs, h, width, 0, 0, bias,
                      add ? add + j0 * stride : NULL, work);
        return;
    }
    for (int64_t j = 0; j < planes; j++)
        for (int g = 0; g < 2; g++)
            group_out(y + j * stride, stride, 1, mt + j * 16 + 8 * g, xs, h, width, 1, g, bias,
                      add ? add + j * stride : NULL, work);
}
