/*
 * winograd_f7_avx512.c -- F(7x7,3x3)'s tile transforms on AVX-512 (the matrices and the layouts:
 * winograd_internal.h; the stages: winograd_f7_stages.h) for the planes nvp_winograd_f7_fast takes,
 * 2 x 2 or 4 x 4 tiles of 7. A vector holds 16 tiles of the call's planes (the driver passes the
 * chunk's images of one channel): four 2 x 2-tile planes or one 4 x 4-tile plane, so its lanes are 16
 * contiguous columns of V or M; one 14x14 plane at a time would fill 4 lanes. Masked gathers of
 * each tap (any plane) were tried first: vgatherdps is microcoded on Zen 4, ~3200 cycles per 16
 * tiles at 14x14 (experiments/results/bench.md, section I). Other planes take the scalar transforms.
 * Compiled with -mavx2 -mfma -mavx512f/cd/bw/dq/vl; reached only through winograd_avx512.c.
 */
#include "winograd_internal.h"
#include "winograd_zmm.h" /* first_lanes, transpose8_halves */

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
enum { M = 7, A = 9, LANES = 16 };

#define F7_VEC __m512
#define F7_ADD(a, b) _mm512_add_ps(a, b)
#define F7_SUB(a, b) _mm512_sub_ps(a, b)
#define F7_MUL(c, a) _mm512_mul_ps(_mm512_set1_ps(c), a)
#define F7_FMA(c, a, b) _mm512_fmadd_ps(_mm512_set1_ps(c), a, b)
#define F7_NAME(name) name##_f7_512
#include "winograd_f7_stages.h" /* stage_in_f7_512, stage_out_f7_512 */
#define stage_in stage_in_f7_512
#define stage_out stage_out_f7_512

/* ---- rows in registers, tiles into lanes by in-register transposes ----
 *
 * The stage along y runs on whole plane rows (lanes = columns), an in-register transpose turns the
 * columns into lanes over the tiles, the stage along x runs on those. The lane order inside a group
 * of 16 is free (the products treat columns alike and the output transform undoes it): planes of
 * 2 x 2 tiles (8 <= H, W <= 14), four planes a vector, lane 4 q + 2 tx + ty (plane q: a short group
 * stays inside its planes' columns); planes of 4 x 4 tiles (22 <= H, W <= 28), one plane a vector,
 * lane 4 tx + ty. */

static inline int pairs_fit(int64_t h, int64_t width) { return h <= 14 && nvp_winograd_f7_fast(h, width); }
static inline int quads_fit(int64_t h, int64_t width) { return h >= 22 && nvp_winograd_f7_fast(h, width); }

/* 4 x 4 transposes in each 128-bit lane: rows a[0..4) -> w[e], lane b = column 4b + e over the rows */
INLINE void transpose4_lanes(__m512 *w, const __m512 *a) {
    __m512 t0 = _mm512_unpacklo_ps(a[0], a[1]), t1 = _mm512_unpackhi_ps(a[0], a[1]);
    __m512 t2 = _mm512_unpacklo_ps(a[2], a[3]), t3 = _mm512_unpackhi_ps(a[2], a[3]);
    w[0] = _mm512_shuffle_ps(t0, t2, 0x44);
    w[1] = _mm512_shuffle_ps(t0, t2, 0xEE);
    w[2] = _mm512_shuffle_ps(t1, t3, 0x44);
    w[3] = _mm512_shuffle_ps(t1, t3, 0xEE);
}

/* One plane row as a zmm of columns off .. off + 15 (zeros outside the plane): `cols` = its lanes
 * inside the plane. */
INLINE __m512 load_row(const float *plane, int64_t r, int64_t h, int64_t width, int off, __mmask16 cols) {
    if (r < 0 || r >= h) return _mm512_setzero_ps();
    return _mm512_maskz_loadu_ps(cols, plane + r * width + off);
}

/* The lanes of a group whose columns off + c lie in [0, width) for c in [c0, c0 + 16) */
static inline __mmask16 cols_inside(int64_t c0, int off, int64_t width) {
    __mmask16 m = 0;
    for (int c = 0; c < 16; c++) {
        int64_t col = c0 + c + off;
        if (col >= 0 && col < width) m |= (__mmask16)(1u << c);
    }
    return m;
}

/* The index of a two-source permute that puts lane s (= 2q + ty) of the first source + a into lane
 * 4q + ty (tile tx = 0) and lane s of the second + b into lane 4q + 2 + ty (tx = 1). */
static inline __m512i pairs_index(int a, int b) {
    int idx[16];
    for (int q = 0; q < 4; q++)
        for (int ty = 0; ty < 2; ty++) {
            idx[4 * q + ty] = a + 2 * q + ty;
            idx[4 * q + 2 + ty] = 16 + b + 2 * q + ty;
        }
    return _mm512_loadu_si512(idx);
}

/* Input / gradient transform of up to four 2 x 2-tile planes (nq of them). ys: the y stage's rows
 * ys[k][s], s = 2q + ty, in the work buffer (72 zmm). */
INLINE void pairs_group(float *v, int64_t xs, const float *x, int64_t stride, int64_t nq, int64_t h, int64_t width,
                        const int grad, float *ys) {
    const int taps = grad ? M : A, off = grad ? 0 : -1;
    const __mmask16 cols = cols_inside(0, off, width);
    for (int s = 0; s < 8; s++) {
        int64_t q = s / 2, ty = s % 2, r0 = M * ty + off;
        __m512 d[A], t[A];
        if (q >= nq) {
            for (int k = 0; k < A; k++) _mm512_storeu_ps(ys + (k * 8 + s) * LANES, _mm512_setzero_ps());
            continue;
        }
#pragma GCC unroll 9
        for (int i = 0; i < taps; i++) d[i] = load_row(x + q * stride, r0 + i, h, width, off, cols);
        stage_in(t, d, grad);
#pragma GCC unroll 9
        for (int k = 0; k < A; k++) _mm512_storeu_ps(ys + (k * 8 + s) * LANES, t[k]);
    }
    const __mmask16 live = first_lanes(4 * nq); /* plane q's tiles are lanes 4q .. 4q + 3 */
    /* lane 4q + 2tx + ty of d[j] = tap j of tile tx = column 7tx + j, row s = 2q + ty: column c < 8 is
     * lane s of u[c], column c >= 8 lane 8 + s of u[c - 8] (sources a, b: + 16) */
    const __m512i lo_lo = pairs_index(0, 0), lo_hi = pairs_index(0, 8), hi_hi = pairs_index(8, 8);
    for (int k = 0; k < A; k++) {
        __m512 r[8], u[8], d[A], t[A];
#pragma GCC unroll 8
        for (int s = 0; s < 8; s++) r[s] = _mm512_loadu_ps(ys + (k * 8 + s) * LANES);
        transpose8_halves(u, r); /* u[c] = [column c | column c + 8] over s */
        d[0] = _mm512_permutex2var_ps(u[0], lo_lo, u[7]); /* columns 0 and 7 */
#pragma GCC unroll 7
        for (int j = 1; j < 8; j++) d[j] = _mm512_permutex2var_ps(u[j], lo_hi, u[j - 1]); /* j and j + 7 */
        d[8] = _mm512_permutex2var_ps(u[0], hi_hi, u[7]); /* 8 and 15 */
        stage_in(t, d, grad);
#pragma GCC unroll 9
        for (int l = 0; l < A; l++) _mm512_mask_storeu_ps(v + (k * A + l) * xs, live, t[l]);
    }
}

/* Input / gradient transform of one 4 x 4-tile plane. ys[k][ty][half]: the y stage's rows. */
INLINE void quads_plane(float *v, int64_t xs, const float *x, int64_t h, int64_t width, const int grad, float *ys) {
    const int taps = grad ? M : A, off = grad ? 0 : -1;
    const __mmask16 cols_lo = cols_inside(0, off, width), cols_hi = cols_inside(16, off, width);
    for (int ty = 0; ty < 4; ty++) {
        int64_t r0 = M * ty + off;
        __m512 d[A], t[A];
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
#pragma GCC unroll 9
            for (int i = 0; i < taps; i++)
                d[i] = load_row(x + 16 * half, r0 + i, h, width, off, half ? cols_hi : cols_lo);
            stage_in(t, d, grad);
#pragma GCC unroll 9
            for (int k = 0; k < A; k++) _mm512_storeu_ps(ys + ((k * 4 + ty) * 2 + half) * LANES, t[k]);
        }
    }
    for (int k = 0; k < A; k++) {
        __m512 a[4], w[2][4], d[A], t[A];
#pragma GCC unroll 2
        for (int half = 0; half < 2; half++) {
#pragma GCC unroll 4
            for (int ty = 0; ty < 4; ty++) a[ty] = _mm512_loadu_ps(ys + ((k * 4 + ty) * 2 + half) * LANES);
            transpose4_lanes(w[half], a); /* w[half][e] lane b: column 16 half + 4b + e over ty */
        }
        /* d[j] lane block tx = column 7 tx + j: from w[c / 16][c % 4], 128-bit lane (c % 16) / 4 */
#pragma GCC unroll 9
        for (int j = 0; j < taps; j++) {
            int c[4], idx[16];
            for (int tx = 0; tx < 4; tx++) c[tx] = 7 * tx + j;
            /* pieces 0, 1 from sources A0 = w[c0], A1 = w[c1]; pieces 2, 3 likewise */
            for (int tx = 0; tx < 4; tx++)
                for (int e = 0; e < 4; e++) idx[4 * tx + e] = 16 * (tx % 2) + 4 * ((c[tx] % 16) / 4) + e;
            __m512i ix = _mm512_loadu_si512(idx);
            __m512 p01 = _mm512_permutex2var_ps(w[c[0] / 16][c[0] % 4], ix, w[c[1] / 16][c[1] % 4]);
            __m512 p23 = _mm512_permutex2var_ps(w[c[2] / 16][c[2] % 4], ix, w[c[3] / 16][c[3] % 4]);
            d[j] = _mm512_mask_blend_ps(0xFF00, p01, p23);
        }
        stage_in(t, d, grad);
#pragma GCC unroll 9
        for (int l = 0; l < A; l++) _mm512_storeu_ps(v + (k * A + l) * xs, t[l]);
    }
}

/* The stage along y of a group's output transform: buf[rr][l] = sum_k AT[rr][k] M[k*9 + l] */
INLINE void output_along_y(float *buf, const float *mt, int64_t xs, __mmask16 live) {
    for (int l = 0; l < A; l++) {
        __m512 d[A], z[M];
#pragma GCC unroll 9
        for (int k = 0; k < A; k++) d[k] = _mm512_maskz_loadu_ps(live, mt + (k * A + l) * xs);
        stage_out(z, d);
#pragma GCC unroll 7
        for (int rr = 0; rr < M; rr++) _mm512_storeu_ps(buf + (rr * A + l) * LANES, z[rr]);
    }
}

/* ... and along x for output row phase rr: z[cc] = bias + sum_l AT[cc][l] buf[rr][l] (A's column 1
 * is all ones: the bias enters once) */
INLINE void output_along_x(__m512 *z, const float *buf, int rr, float bias) {
    __m512 d[A];
#pragma GCC unroll 9
    for (int l = 0; l < A; l++) d[l] = _mm512_loadu_ps(buf + (rr * A + l) * LANES);
    d[1] = _mm512_add_ps(d[1], _mm512_set1_ps(bias));
    stage_out(z, d);
}

/* Output transform of up to four 2 x 2-tile planes (lane 4q + 2tx + ty): per row phase rr, the 7
 * phase vectors reordered to lane 8tx + 2q + ty, transposed in halves into one vector per tile row
 * s = 2q + ty ([tile 0's 8 phases | tile 1's]), whose 14 outputs one permute lines up. */
INLINE void pairs_output(float *y, int64_t stride, int64_t nq, const float *mt, int64_t xs, int64_t h, int64_t width,
                         float bias, const float *add, float *buf) {
    int to_h[16], pick[16];
    for (int tx = 0; tx < 2; tx++)
        for (int q = 0; q < 4; q++)
            for (int ty = 0; ty < 2; ty++) to_h[8 * tx + 2 * q + ty] = 4 * q + 2 * tx + ty;
    for (int c = 0; c < 16; c++) pick[c] = c < 7 ? c : c < 14 ? c + 1 : 0;
    const __m512i to_halves = _mm512_loadu_si512(to_h), row_pick = _mm512_loadu_si512(pick);
    const __mmask16 cols = first_lanes(width);
    output_along_y(buf, mt, xs, first_lanes(4 * nq));
    for (int rr = 0; rr < M; rr++) {
        __m512 z[M], r[8], u[8];
        output_along_x(z, buf, rr, bias);
#pragma GCC unroll 7
        for (int cc = 0; cc < M; cc++) r[cc] = _mm512_permutexvar_ps(to_halves, z[cc]);
        r[7] = _mm512_setzero_ps();
        transpose8_halves(u, r); /* u[s] = [tile (0, s)'s phases | tile (1, s)'s] */
        for (int s = 0; s < 2 * nq; s++) {
            int64_t oy = M * (s % 2) + rr, q = s / 2;
            if (oy >= h) continue;
            __m512 row = _mm512_permutexvar_ps(row_pick, u[s]);
            if (add) row = _mm512_add_ps(row, _mm512_maskz_loadu_ps(cols, add + q * stride + oy * width));
            _mm512_mask_storeu_ps(y + q * stride + oy * width, cols, row);
        }
    }
}

/* Output transform of one 4 x 4-tile plane (lane 4tx + ty): per row phase rr, 4 x 4 transposes in
 * the 128-bit lanes give each tile row's phases 0-3 and 4-6 by tile; two permutes line up its 28
 * outputs. */
INLINE void quads_output(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, float bias, const float *add,
                         float *buf) {
    int i0[16], i1[16];
    for (int c = 0; c < 32; c++) {
        int tx = c / 7, cc = c % 7, src = c < 28 ? (cc < 4 ? 4 * tx + cc : 16 + 4 * tx + cc - 4) : 0;
        if (c < 16)
            i0[c] = src;
        else
            i1[c - 16] = src;
    }
    const __m512i pick0 = _mm512_loadu_si512(i0), pick1 = _mm512_loadu_si512(i1);
    const __mmask16 cols_lo = first_lanes(width), cols_hi = first_lanes(width - 16);
    output_along_y(buf, mt, xs, (__mmask16)0xFFFF);
    for (int rr = 0; rr < M; rr++) {
        __m512 z[8], wa[4], wb[4];
        output_along_x(z, buf, rr, bias);
        z[7] = _mm512_setzero_ps();
        transpose4_lanes(wa, z);     /* wa[ty] lane tx: phases 0-3 of tile (tx, ty) */
        transpose4_lanes(wb, z + 4); /* wb[ty]: phases 4-6 */
        for (int ty = 0; ty < 4; ty++) {
            int64_t oy = M * ty + rr;
            if (oy >= h) continue;
            float *yr = y + oy * width;
            __m512 lo = _mm512_permutex2var_ps(wa[ty], pick0, wb[ty]);
            __m512 hi = _mm512_permutex2var_ps(wa[ty], pick1, wb[ty]);
            if (add) {
                lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(cols_lo, add + oy * width));
                hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(cols_hi, add + oy * width + 16));
            }
            _mm512_mask_storeu_ps(yr, cols_lo, lo);
            _mm512_mask_storeu_ps(yr + 16, cols_hi, hi);
        }
    }
}

static void transform_planes(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                             int64_t width, const int grad, float *buf) {
    if (pairs_fit(h, width)) {
        for (int64_t j0 = 0; j0 < planes; j0 += 4)
            pairs_group(v + j0 * 4, xs, x + j0 * stride, stride, planes - j0 < 4 ? planes - j0 : 4, h, width, grad, buf);
        return;
    }
    for (int64_t j = 0; j < planes; j++) quads_plane(v + j * 16, xs, x + j * stride, h, width, grad, buf);
}

void nvp_winograd_f7_input_avx512(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                                  int64_t width, int grad, float *work) {
    if (grad)
        transform_planes(v, xs, x, stride, planes, h, width, 1, work);
    else
        transform_planes(v, xs, x, stride, planes, h, width, 0, work);
}

void nvp_winograd_f7_output_avx512(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h,
                                   int64_t width, float bias, const float *add, float *work) {
    if (pairs_fit(h, width)) {
        for (int64_t j0 = 0; j0 < planes; j0 += 4)
            pairs_output(y + j0 * stride, stride, planes - j0 < 4 ? planes - j0 : 4, mt + j0 * 4, xs, h, width, bias,
                         add ? add + j0 * stride : NULL, work);
        return;
    }
    for (int64_t j = 0; j < planes; j++)
        quads_output(y + j * stride, mt + j * 16, xs, h, width, bias, add ? add + j * stride : NULL, work);
}
