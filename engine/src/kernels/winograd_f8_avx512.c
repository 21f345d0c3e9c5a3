/*
 * winograd_f8_avx512.c -- F(8x8,3x3)'s tile transforms on AVX-512 (the matrices and the layouts:
 * winograd_internal.h; the stages: winograd_f8_stages.h) for the planes nvp_winograd_f8_fast takes,
 * 2 x 2 or 4 x 4 tiles of 8 (cifar-ref's 16x16 and 32x32). A vector holds 16 tiles of the call's
 * planes: four 2 x 2-tile planes or one 4 x 4-tile plane. The stage along y runs on whole plane rows
 * (a zmm is 16 columns: two tiles' worth, exactly), one 8 x 8 transpose in each 256-bit half turns
 * the columns into lanes over the tiles, and the stage along x runs on those. A tile's x taps beyond
 * its own 8 columns (column -1 and 8 of the input transform) are the neighbouring tiles' columns 7
 * and 0: one permute each, zeros at the plane's edge. The output transform is the same backwards:
 * the transpose of a row phase's 8 outputs by tile is two tiles' output rows, stored as they come.
 * Lanes: tile (tx, ty) of plane q at lane 8 (tx % 2) + 2 ty + tx / 2 (4 x 4 tiles) or 8 tx + 2 q + ty
 * (2 x 2 tiles; a group of fewer than four planes is permuted to lane 4 q + 2 tx + ty, so that it
 * fills the first columns of V and M). Compiled with -mavx2 -mfma -mavx512f/cd/bw/dq/vl; reached only
 * through winograd_avx512.c.
 */
#include "winograd_internal.h"
#include "winograd_zmm.h" /* first_lanes, transpose8_halves */

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
enum { M = 8, A = 10, LANES = 16 };

#define F8_VEC __m512
#define F8_ADD(a, b) _mm512_add_ps(a, b)
#define F8_SUB(a, b) _mm512_sub_ps(a, b)
#define F8_FMA(c, a, b) _mm512_fmadd_ps(_mm512_set1_ps(c), a, b)
#define F8_NAME(name) name##_f8_512
#include "winograd_f8_stages.h" /* stage_in_f8_512, stage_out_f8_512 */
#define stage_in stage_in_f8_512
#define stage_out stage_out_f8_512

static inline int pairs_fit(int64_t h, int64_t width) { return h <= 16 && nvp_winograd_f8_fast(h, width); }

/* The lane of tile (tx, ty) of plane q in a group (see the top of this file) */
static inline int tile_lane(int quads, int q, int tx, int ty) {
    return quads ? 8 * (tx % 2) + 2 * ty + tx / 2 : 8 * tx + 2 * q + ty;
}

/* The permute that moves lane of tile (tx + dir, ty) to the lane of tile (tx, ty) (dir = -1: the left
 * neighbour, +1: the right one), and the lanes that have one (the others are zeroed). */
typedef struct {
    __m512i index;
    __mmask16 live;
} neighbour;

static inline neighbour neighbour_of(int quads, int dir) {
    int idx[16] = {0}, tiles = quads ? 4 : 2;
    __mmask16 live = 0;
    for (int q = 0; q < (quads ? 1 : 4); q++)
        for (int ty = 0; ty < tiles; ty++)
            for (int tx = 0; tx < tiles; tx++) {
                int src = tx + dir, lane = tile_lane(quads, q, tx, ty);
                if (src < 0 || src >= tiles) continue;
                idx[lane] = tile_lane(quads, q, src, ty);
                live |= (__mmask16)(1u << lane);
            }
    neighbour n = {_mm512_loadu_si512(idx), live};
    return n;
}

/* The permute from a full group's lanes to a short group's (4 q + 2 tx + ty), and back. */
static inline __m512i short_order(int back) {
    int idx[16];
    for (int q = 0; q < 4; q++)
        for (int ty = 0; ty < 2; ty++)
            for (int tx = 0; tx < 2; tx++) {
                int full = tile_lane(0, q, tx, ty), part = 4 * q + 2 * tx + ty;
                if (back)
                    idx[full] = part;
                else
                    idx[part] = full;
            }
    return _mm512_loadu_si512(idx);
}

/* One plane row (16 columns from col0, zeros outside the plane) */
INLINE __m512 load_row(const float *plane, int64_t r, int64_t h, int64_t width, int64_t col0, __mmask16 cols) {
    if (r < 0 || r >= h) return _mm512_setzero_ps();
    return _mm512_maskz_loadu_ps(cols, plane + r * width + col0);
}

/* The y stage of one group: ys[(k * 8 + s) * 16] for the 8 source rows s of the group (pairs: s = 2 q
 * + ty of plane q < nq, quads: s = 2 ty + half, columns 16 half ..). */
INLINE void along_y(float *ys, const float *x, int64_t stride, int64_t nq, int64_t h, int64_t width, const int quads,
                    const int grad) {
    const int taps = grad ? M : A, off = grad ? 0 : -1;
    for (int s = 0; s < 8; s++) {
        int64_t q = quads ? 0 : s / 2, ty = quads ? s / 2 : s % 2, col0 = quads ? 16 * (s % 2) : 0;
        __m512 d[A], t[A];
        if (q >= nq) {
#pragma GCC unroll 10
            for (int k = 0; k < A; k++) _mm512_storeu_ps(ys + (k * 8 + s) * LANES, _mm512_setzero_ps());
            continue;
        }
        const __mmask16 cols = first_lanes(width - col0);
#pragma GCC unroll 10
        for (int i = 0; i < taps; i++) d[i] = load_row(x + q * stride, M * ty + off + i, h, width, col0, cols);
        stage_in(t, d, grad);
#pragma GCC unroll 10
        for (int k = 0; k < A; k++) _mm512_storeu_ps(ys + (k * 8 + s) * LANES, t[k]);
    }
}

/* Input / gradient transform of one group: up to four 2 x 2-tile planes (nq) or one 4 x 4-tile plane. */
INLINE void group_in(float *v, int64_t xs, const float *x, int64_t stride, int64_t nq, int64_t h, int64_t width,
                     const int quads, const int grad, float *ys) {
    along_y(ys, x, stride, nq, h, width, quads, grad);
    const neighbour left = neighbour_of(quads, -1), right = neighbour_of(quads, 1);
    const int full = quads || nq == 4;
    const __m512i to_short = short_order(0);
    const __mmask16 live = full ? (__mmask16)0xFFFF : first_lanes(4 * nq);
    for (int k = 0; k < A; k++) {
        __m512 r[8], u[8], d[A], t[A];
#pragma GCC unroll 8
        for (int s = 0; s < 8; s++) r[s] = _mm512_loadu_ps(ys + (k * 8 + s) * LANES);
        transpose8_halves(u, r); /* u[c]: column c of each lane's tile */
        if (grad) {
#pragma GCC unroll 8
            for (int i = 0; i < M; i++) d[i] = u[i];
        } else {
            d[0] = _mm512_maskz_permutexvar_ps(left.live, left.index, u[7]);
#pragma GCC unroll 8
            for (int i = 1; i <= M; i++) d[i] = u[i - 1];
            d[9] = _mm512_maskz_permutexvar_ps(right.live, right.index, u[0]);
        }
        stage_in(t, d, grad);
        if (full) {
#pragma GCC unroll 10
            for (int l = 0; l < A; l++) _mm512_storeu_ps(v + (k * A + l) * xs, t[l]);
        } else {
            for (int l = 0; l < A; l++)
                _mm512_mask_storeu_ps(v + (k * A + l) * xs, live, _mm512_permutexvar_ps(to_short, t[l]));
        }
    }
}

/* Output transform of one group: per row phase rr, the 8 phase vectors transposed in halves are the
 * group's output rows (8 s .. as in along_y). buf: the stage along y, buf[(rr * A + l) * 16]. */
INLINE void group_out(float *y, int64_t stride, int64_t nq, const float *mt, int64_t xs, int64_t h, int64_t width,
                      const int quads, float bias, const float *add, float *buf) {
    const int full = quads || nq == 4;
    const __m512i to_full = short_order(1);
    const __mmask16 live = full ? (__mmask16)0xFFFF : first_lanes(4 * nq);
    for (int l = 0; l < A; l++) { /* buf[rr][l] = sum_k AT[rr][k] M[k*A + l] */
        __m512 d[A], z[M];
#pragma GCC unroll 10
        for (int k = 0; k < A; k++) {
            d[k] = _mm512_maskz_loadu_ps(live, mt + (k * A + l) * xs);
            if (!full) d[k] = _mm512_permutexvar_ps(to_full, d[k]);
        }
        stage_out(z, d);
#pragma GCC unroll 8
        for (int rr = 0; rr < M; rr++) _mm512_storeu_ps(buf + (rr * A + l) * LANES, z[rr]);
    }
    for (int rr = 0; rr < M; rr++) {
        __m512 d[A], z[M], u[8];
#pragma GCC unroll 10
        for (int l = 0; l < A; l++) d[l] = _mm512_loadu_ps(buf + (rr * A + l) * LANES);
        d[1] = _mm512_add_ps(d[1], _mm512_set1_ps(bias)); /* A's column 1 is all ones: once per output */
        stage_out(z, d);
        transpose8_halves(u, z); /* u[s]: output row rr of the group's row s, 16 columns */
        for (int s = 0; s < 8; s++) {
            int64_t q = quads ? 0 : s / 2, ty = quads ? s / 2 : s % 2, col0 = quads ? 16 * (s % 2) : 0;
            int64_t oy = M * ty + rr;
            if (q >= nq || oy >= h) continue;
            const __mmask16 cols = first_lanes(width - col0);
            float *yr = y + q * stride + oy * width + col0;
            __m512 row = u[s];
            if (add) row = _mm512_add_ps(row, _mm512_maskz_loadu_ps(cols, add + q * stride + oy * width + col0));
            _mm512_mask_storeu_ps(yr, cols, row);
        }
    }
}

void nvp_winograd_f8_input_avx512(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                                  int64_t width, int grad, float *work) {
    if (pairs_fit(h, width)) {
        for (int64_t j0 = 0; j0 < planes; j0 += 4) {
            int64_t nq = planes - j0 < 4 ? planes - j0 : 4;
            if (grad)
                group_in(v + j0 * 4, xs, x + j0 * stride, stride, nq, h, width, 0, 1, work);
            else
                group_in(v + j0 * 4, xs, x + j0 * stride, stride, nq, h, width, 0, 0, work);
        }
        return;
    }
    for (int64_t j = 0; j < planes; j++) {
        if (grad)
            group_in(v + j * 16, xs, x + j * stride, stride, 1, h, width, 1, 1, work);
        else
            group_in(v + j * 16, xs, x + j * stride, stride, 1, h, width, 1, 0, work);
    }
}

void nvp_winograd_f8_output_avx512(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h,
                                   int64_t width, float bias, const float *add, float *work) {
    if (pairs_fit(h, width)) {
        for (int64_t j0 = 0; j0 < planes; j0 += 4)
            group_out(y + j0 * stride, stride, planes - j0 < 4 ? planes - j0 : 4, mt + j0 * 4, xs, h, width, 0, bias,
                      add ? add + j0 * stride : NULL, work);
        return;
    }
    for (int64_t j = 0; j < planes; j++)
        group_out(y + j * stride, stride, 1, mt + j * 16, xs, h, width, 1, bias, add ? add + j * stride : NULL, work);
}
