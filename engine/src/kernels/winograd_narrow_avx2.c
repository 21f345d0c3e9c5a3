/*
 * winograd_narrow_avx2.c -- winograd_avx2.c's tile transforms where a tile row fits one ymm (at
 * most 8 tiles, lane = tile column), with the rows in registers instead of winograd_avx2.c's
 * padded, phase-split copies: F(2x2) on planes 9-14 wide (fmnist-small's 14x14 residual blocks),
 * whose input and gradient transforms take each row's phases from two loads and whose output
 * transform interleaves its two phases in registers; and F(4x4)'s gradient and output transforms
 * on planes 25-32 wide (28x28, 32x32), whose rows' four phases come from (and go back by) 8 x 4
 * transposes. F(4x4)'s input transform stays input_m's: written this way it was no faster
 * (experiments/results/bench_avx2.md, section E, has the measurements). Same layouts and contracts as
 * winograd_avx2.c's input_m, grad_m and output_m. Compiled with -mavx2 -mfma (this file only).
 */
#include "winograd_internal.h"

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))

#include "winograd_stages_avx2.h" /* stage_in256, stage_out256 */

/* Even and odd columns of a plane row xr (zeros past the row's end: lanes of hi_mask), in two loads:
 * shuffle within 128-bit lanes, then put the 64-bit pairs in order. */
INLINE void narrow_phases(__m256 *xe, __m256 *xo, const float *xr, __m256i hi_mask) {
    __m256 lo = _mm256_loadu_ps(xr), hi = _mm256_maskload_ps(xr + 8, hi_mask);
    *xe = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xD8));
    *xo = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0xDD)), 0xD8));
}

/* The x stage of input row iy (zeros outside the plane): r[l][tx] = sum_j BT[l][j] dp[2tx + j], dp the
 * row with a zero column on each side: dp[2tx .. 2tx+3] = x[2tx-1], x[2tx], x[2tx+1], x[2tx+2]. */
INLINE void narrow_row_x(__m256 r[4], const float *x, int64_t h, int64_t width, int64_t iy, __m256i hi_mask) {
    if (iy < 0 || iy >= h) {
        r[0] = r[1] = r[2] = r[3] = _mm256_setzero_ps();
        return;
    }
    __m256 xe, xo;
    narrow_phases(&xe, &xo, x + iy * width, hi_mask);
    __m256 e0 = _mm256_blend_ps(_mm256_permutevar8x32_ps(xo, _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6)),
                                _mm256_setzero_ps(), 1);                                     /* x[2tx-1] */
    __m256 o1 = _mm256_permutevar8x32_ps(xe, _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 7)); /* x[2tx+2] */
    r[0] = _mm256_sub_ps(e0, xo); /* B^T rows: [1 0 -1 0], [0 1 1 0], [0 -1 1 0], [0 1 0 -1] */
    r[1] = _mm256_add_ps(xe, xo);
    r[2] = _mm256_sub_ps(xo, xe);
    r[3] = _mm256_sub_ps(xe, o1);
}

/* v[(k*4 + l)*xs + ty*TW + tx] = (B^T d B)[k][l] of tile (ty, tx); each store's lanes past TW land on
 * the next tile row (stored after) or the driver's padding, as in input_m. */
void nvp_winograd_narrow_input_avx2(float *v, int64_t xs, const float *x, int64_t h, int64_t width) {
    int64_t th = (h + 1) / 2, tw = (width + 1) / 2;
    __m256i hi_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(width - 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256 r0[4], r1[4], r2[4], r3[4]; /* the x stages of input rows 2ty-1 .. 2ty+2 */
    narrow_row_x(r0, x, h, width, -1, hi_mask);
    narrow_row_x(r1, x, h, width, 0, hi_mask);
    for (int64_t ty = 0; ty < th; ty++) {
        narrow_row_x(r2, x, h, width, 2 * ty + 1, hi_mask);
        narrow_row_x(r3, x, h, width, 2 * ty + 2, hi_mask);
        float *vt = v + ty * tw;
        for (int l = 0; l < 4; l++) { /* B^T along y */
            _mm256_storeu_ps(vt + l * xs, _mm256_sub_ps(r0[l], r2[l]));
            _mm256_storeu_ps(vt + (4 + l) * xs, _mm256_add_ps(r1[l], r2[l]));
            _mm256_storeu_ps(vt + (8 + l) * xs, _mm256_sub_ps(r2[l], r1[l]));
            _mm256_storeu_ps(vt + (12 + l) * xs, _mm256_sub_ps(r1[l], r3[l]));
        }
        for (int l = 0; l < 4; l++) {
            r0[l] = r2[l];
            r1[l] = r3[l];
        }
    }
}

/* The gradient transform: v[(k*4 + l)*xs + ty*TW + tx] = (A g A^T)[k][l] of dy's 2x2 tile (ty, tx), zeros
 * past the plane; A = [1 0], [1 1], [1 -1], [0 -1]. */
void nvp_winograd_narrow_grad_avx2(float *v, int64_t xs, const float *dy, int64_t h, int64_t width) {
    int64_t th = (h + 1) / 2, tw = (width + 1) / 2;
    __m256i hi_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(width - 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t ty = 0; ty < th; ty++) {
        __m256 g[2][4]; /* the x stage of dy rows 2ty and 2ty+1 */
        for (int i = 0; i < 2; i++) {
            if (2 * ty + i >= h) {
                g[i][0] = g[i][1] = g[i][2] = g[i][3] = _mm256_setzero_ps();
                continue;
            }
            __m256 de, dd;
            narrow_phases(&de, &dd, dy + (2 * ty + i) * width, hi_mask);
            g[i][0] = de;
            g[i][1] = _mm256_add_ps(de, dd);
            g[i][2] = _mm256_sub_ps(de, dd);
            g[i][3] = _mm256_xor_ps(dd, sign);
        }
        float *vt = v + ty * tw;
        for (int l = 0; l < 4; l++) { /* A along y */
            _mm256_storeu_ps(vt + l * xs, g[0][l]);
            _mm256_storeu_ps(vt + (4 + l) * xs, _mm256_add_ps(g[0][l], g[1][l]));
            _mm256_storeu_ps(vt + (8 + l) * xs, _mm256_sub_ps(g[0][l], g[1][l]));
            _mm256_storeu_ps(vt + (12 + l) * xs, _mm256_xor_ps(g[1][l], sign));
        }
    }
}

/* y rows 2ty, 2ty+1 = bias + A^T M A of the tile row (+ add), A along x, then A^T along y with the
 * bias first. A^T = [1 1 1 0], [0 1 -1 -1]. */
void nvp_winograd_narrow_output_avx2(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, float bias,
                                     const float *add) {
    int64_t th = (h + 1) / 2, tw = (width + 1) / 2;
    __m256i hi_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(width - 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 vb = _mm256_set1_ps(bias);
    for (int64_t ty = 0; ty < th; ty++) {
        const float *mk = mt + ty * tw;
        __m256 w0[4], w1[4]; /* A along x: phase 0 and 1 of each k */
        for (int k = 0; k < 4; k++) {
            __m256 d0 = _mm256_loadu_ps(mk + (4 * k) * xs), d1 = _mm256_loadu_ps(mk + (4 * k + 1) * xs);
            __m256 d2 = _mm256_loadu_ps(mk + (4 * k + 2) * xs), d3 = _mm256_loadu_ps(mk + (4 * k + 3) * xs);
            w0[k] = _mm256_add_ps(_mm256_add_ps(d0, d1), d2);
            w1[k] = _mm256_sub_ps(_mm256_sub_ps(d1, d2), d3);
        }
        for (int r = 0; r < 2 && 2 * ty + r < h; r++) { /* A^T along y, then the phases interleaved */
            __m256 z0, z1;
            if (r == 0) {
                z0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(vb, w0[0]), w0[1]), w0[2]);
                z1 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(vb, w1[0]), w1[1]), w1[2]);
            } else {
                z0 = _mm256_sub_ps(_mm256_sub_ps(_mm256_add_ps(vb, w0[1]), w0[2]), w0[3]);
                z1 = _mm256_sub_ps(_mm256_sub_ps(_mm256_add_ps(vb, w1[1]), w1[2]), w1[3]);
            }
            __m256 lo = _mm256_unpacklo_ps(z0, z1), hi = _mm256_unpackhi_ps(z0, z1);
            __m256 out0 = _mm256_permute2f128_ps(lo, hi, 0x20), out1 = _mm256_permute2f128_ps(lo, hi, 0x31);
            int64_t oy = 2 * ty + r;
            store_row16(y + oy * width, add ? add + oy * width : NULL, out0, out1, hi_mask, width - 8);
        }
    }
}


/* F(4x4)'s output transform on planes 25-32 wide (28x28 and 32x32: 7-8 tiles a row, one ymm): y rows
 * 4ty .. 4ty+3 = bias + A^T M A of the tile row (+ add), A^T along y first (zy[r][l], in registers),
 * then per output row A^T along x and the four output phases interleaved by a 4 x 8 transpose
 * instead of output_m's staged copies. */
void nvp_winograd_wide_output_avx2(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, float bias,
                                   const float *add) {
    int64_t th = (h + 3) / 4, tw = (width + 3) / 4;
    __m256i tail_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(width - 24)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const __m256 vbias = _mm256_set1_ps(bias);
    for (int64_t ty = 0; ty < th; ty++) {
        const float *mk = mt + ty * tw;
        __m256 zy[4][6]; /* A^T along y */
        for (int l = 0; l < 6; l++) {
            __m256 d[6], t[4];
            for (int k = 0; k < 6; k++) d[k] = _mm256_loadu_ps(mk + (k * 6 + l) * xs);
            stage_out256(t, d, 4);
            for (int r = 0; r < 4; r++) zy[r][l] = t[r];
        }
        for (int r = 0; r < 4 && 4 * ty + r < h; r++) { /* A^T along x, then the phases interleaved */
            __m256 z[4], d[6];
            for (int l = 0; l < 6; l++) d[l] = zy[r][l];
            d[1] = _mm256_add_ps(d[1], vbias);
            stage_out256(z, d, 4); /* A^T along x */
            /* out[4 tx + c] = z[c][tx]: u_j holds tiles j (low lane) and 4 + j (high lane), phases in order */
            __m256 u[4];
            transpose4_halves(u, z[0], z[1], z[2], z[3]);
            __m256 u0 = u[0], u1 = u[1], u2 = u[2], u3 = u[3];
            __m256 out[4] = {_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u2, u3, 0x20),
                             _mm256_permute2f128_ps(u0, u1, 0x31), _mm256_permute2f128_ps(u2, u3, 0x31)};
            int64_t oy = 4 * ty + r;
            float *yr = y + oy * width;
            if (add) {
                const float *ar = add + oy * width;
                for (int j = 0; j < 3; j++) out[j] = _mm256_add_ps(_mm256_loadu_ps(ar + 8 * j), out[j]);
                out[3] = _mm256_add_ps(_mm256_maskload_ps(ar + 24, tail_mask), out[3]);
            }
            for (int j = 0; j < 3; j++) _mm256_storeu_ps(yr + 8 * j, out[j]);
            store_first(yr + 24, out[3], width - 24);
        }
    }
}

/* The four phases of a plane row xr 25-32 wide, zeros past its end (lanes of tail_mask in the fourth
 * load): p[r][j] = xr[4j + r], an 8 x 4 transpose (128-bit halves paired, then 4 x 4 per half). */
INLINE void wide_phases(__m256 p[4], const float *xr, __m256i tail_mask) {
    __m256 a = _mm256_loadu_ps(xr), b = _mm256_loadu_ps(xr + 8), c = _mm256_loadu_ps(xr + 16);
    __m256 d = _mm256_maskload_ps(xr + 24, tail_mask);
    __m256 g04 = _mm256_permute2f128_ps(a, c, 0x20), g15 = _mm256_permute2f128_ps(a, c, 0x31); /* groups of 4 */
    __m256 g26 = _mm256_permute2f128_ps(b, d, 0x20), g37 = _mm256_permute2f128_ps(b, d, 0x31);
    transpose4_halves(p, g04, g15, g26, g37);
}

/* F(4x4)'s gradient transform on planes 25-32 wide: v[(k*6 + l)*xs + ty*TW + tx] = (A g A^T)[k][l] of
 * dy's 4x4 tile, zeros past the plane; A[k][i] = AT[i][k]. */
void nvp_winograd_wide_grad_avx2(float *v, int64_t xs, const float *dy, int64_t h, int64_t width) {
    int64_t th = (h + 3) / 4, tw = (width + 3) / 4;
    __m256i tail_mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(width - 24)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (int64_t ty = 0; ty < th; ty++) {
        __m256 g[4][6]; /* the x stage of dy rows 4ty .. 4ty+3 */
        for (int i = 0; i < 4; i++) {
            if (4 * ty + i >= h) {
                for (int l = 0; l < 6; l++) g[i][l] = _mm256_setzero_ps();
                continue;
            }
            __m256 p[4];
            wide_phases(p, dy + (4 * ty + i) * width, tail_mask);
            stage_in256(g[i], p, 4, 1);
        }
        float *vt = v + ty * tw;
        for (int l = 0; l < 6; l++) { /* A along y */
            __m256 d[4], t[6];
            for (int i = 0; i < 4; i++) d[i] = g[i][l];
            stage_in256(t, d, 4, 1);
            for (int k = 0; k < 6; k++) _mm256_storeu_ps(vt + (k * 6 + l) * xs, t[k]);
        }
    }
}
