/*
 * winograd_avx2.c -- AVX2 twins of winograd_ref.c's tile transforms (same phase-split layout: see
 * input_ref there), 8 tiles of a tile row per vector, and of its filter transform (8 filters per
 * vector). The drivers and the GEMMs are winograd.c's. Each transform is written once for a
 * compile-time m (always_inline, called with m = 2 and m = 4) so the zero entries of B^T, G, A^T
 * fold away and the loops unroll (left to run time, the coefficient tests showed in the perf
 * profile). Rows are padded to multiples of 8, so the vertical passes have no tails; the
 * horizontal passes store whole vectors past a tile row's end, into space the driver writes later
 * or pads (winograd.c, VPAD): a masked store (vmaskmovps) is slow on AMD cores. F(2x2) on planes
 * 9-14 wide and F(4x4)'s gradient and output on planes 25-32 wide run winograd_narrow_avx2.c's
 * transforms instead (rows in registers).
 * Compiled with -mavx2 -mfma (this file only).
 */
#include "winograd_internal.h"

#include <math.h>
#include <string.h>
#include "winograd_rows_avx2.h"

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))

#include "winograd_stages_avx2.h" /* stage_in256, stage_out256 */

/* The inverse: dst[m*j + r] = z[r*stride + j], j < n. */
INLINE void merge_phases(float *dst, const float *z, int64_t stride, int64_t n, const int m, float *e, float *o) {
    if (m == 2) {
        interleave2(dst, z, z + stride, n);
    } else {
        interleave2(e, z, z + 2 * stride, n);
        interleave2(o, z + stride, z + 3 * stride, n);
        interleave2(dst, e, o, 2 * n);
    }
}

/* Each stage runs over the whole plane before the next one reads its output: a vector load that
 * straddles two recent stores (the phase shift by one column) cannot be store-forwarded and
 * stalls; staged, the stores have retired (measured: the shifted load was 39 % of input's cycles
 * when the stages were interleaved per tile row). */
INLINE void input_m(float *v, int64_t xs, const float *x, int64_t h, int64_t width, const int m, float *work) {
    enum { A_MAX = 6 };
    const int a = m + 2;
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m, sw = tw + 1, rw = (m * sw + 7) / 8 * 8, hp = m * th + 2;
    float *pad = work, *q = pad + hp * rw, *u = q + hp * rw, *e = u + th * a * rw, *o = e + rw + 8;
    input_rows(q, pad, x, h, width, m, sw, rw, hp, e, o);
    /* u[ty][k] = sum_i BT[k][i] q[m*ty + i]: B^T along y */
    for (int64_t ty = 0; ty < th; ty++) {
        const float *q0 = q + m * ty * rw;
        for (int64_t c = 0; c < rw; c += 8) {
            __m256 d[A_MAX], t[A_MAX];
#pragma GCC unroll 6
            for (int i = 0; i < a; i++) d[i] = _mm256_loadu_ps(q0 + i * rw + c);
            stage_in256(t, d, m, 0);
#pragma GCC unroll 6
            for (int k = 0; k < a; k++) _mm256_storeu_ps(u + (ty * a + k) * rw + c, t[k]);
        }
    }
    /* v[k*a + l][tile] = sum_i BT[l][i] u[ty][k][phase i % m, tx + i/m]: B along x */
    for (int64_t ty = 0; ty < th; ty++) {
        for (int k = 0; k < a; k++) {
            const float *uk = u + (ty * a + k) * rw;
            for (int64_t tx = 0; tx < tw; tx += 8) {
                __m256 d[A_MAX], t[A_MAX];
#pragma GCC unroll 6
                for (int i = 0; i < a; i++) d[i] = _mm256_loadu_ps(uk + (i % m) * sw + tx + i / m);
                stage_in256(t, d, m, 0);
#pragma GCC unroll 6
                for (int l = 0; l < a; l++) _mm256_storeu_ps(v + (k * a + l) * xs + ty * tw + tx, t[l]);
            }
        }
    }
}

INLINE void grad_m(float *v, int64_t xs, const float *dy, int64_t h, int64_t width, const int m, float *work) {
    enum { A_MAX = 6 };
    const int a = m + 2;
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m, rw = (m * tw + 7) / 8 * 8;
    float *pad = work, *q = pad + m * th * rw, *u = q + m * th * rw, *e = u + th * a * rw, *o = e + rw + 8;
    grad_rows(q, pad, dy, h, width, m, tw, rw, m * th, e, o);
    for (int64_t ty = 0; ty < th; ty++) { /* u[ty][k] = sum_i A[k][i] dy row m*ty + i */
        const float *q0 = q + m * ty * rw;
        for (int64_t c = 0; c < rw; c += 8) {
            __m256 d[4], t[A_MAX];
#pragma GCC unroll 4
            for (int i = 0; i < m; i++) d[i] = _mm256_loadu_ps(q0 + i * rw + c);
            stage_in256(t, d, m, 1);
#pragma GCC unroll 6
            for (int k = 0; k < a; k++) _mm256_storeu_ps(u + (ty * a + k) * rw + c, t[k]);
        }
    }
    for (int64_t ty = 0; ty < th; ty++) { /* v[k*a + l] = sum_i A[l][i] u[ty][k][phase i, tx] */
        for (int k = 0; k < a; k++) {
            const float *uk = u + (ty * a + k) * rw;
            for (int64_t tx = 0; tx < tw; tx += 8) {
                __m256 d[4], t[A_MAX];
#pragma GCC unroll 4
                for (int i = 0; i < m; i++) d[i] = _mm256_loadu_ps(uk + i * tw + tx);
                stage_in256(t, d, m, 1);
#pragma GCC unroll 6
                for (int l = 0; l < a; l++) _mm256_storeu_ps(v + (k * a + l) * xs + ty * tw + tx, t[l]);
            }
        }
    }
}

INLINE void output_m(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, const int m, float bias,
                     const float *add, float *work) {
    enum { A_MAX = 6 };
    const int a = m + 2;
    const __m256 vbias = _mm256_set1_ps(bias);
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m, tw8 = (tw + 7) / 8 * 8;
    float *wv = work, *z = work + a * m * tw8; /* wv[k][c] and z[r][c]: rows of tw8 */
    float *row = z + m * m * tw8, *e = row + m * tw8, *o = e + m * tw8; /* one output row, temporaries */
    for (int64_t ty = 0; ty < th; ty++) {
        for (int k = 0; k < a; k++) { /* wv[k][c] = sum_l AT[c][l] M[k*a + l]: A along x */
            const float *mk = mt + k * a * xs + ty * tw;
            for (int64_t tx = 0; tx < tw; tx += 8) {
                __m256 d[A_MAX], w[4];
#pragma GCC unroll 6
                for (int l = 0; l < a; l++) d[l] = _mm256_loadu_ps(mk + l * xs + tx);
                stage_out256(w, d, m);
#pragma GCC unroll 4
                for (int c = 0; c < m; c++) _mm256_storeu_ps(wv + (k * m + c) * tw8 + tx, w[c]);
            }
        }
        for (int c = 0; c < m; c++) { /* z[r][c] = bias + sum_k AT[r][k] wv[k][c]: A^T along y */
            for (int64_t tx = 0; tx < tw; tx += 8) {
                __m256 d[A_MAX], zr[4];
#pragma GCC unroll 6
                for (int k = 0; k < a; k++) d[k] = _mm256_loadu_ps(wv + (k * m + c) * tw8 + tx);
                d[1] = _mm256_add_ps(d[1], vbias);
                stage_out256(zr, d, m);
#pragma GCC unroll 4
                for (int r = 0; r < m; r++) _mm256_storeu_ps(z + (r * m + c) * tw8 + tx, zr[r]);
            }
        }
        /* interleave the m phases of each output row back into the plane */
        for (int r = 0; r < m && m * ty + r < h; r++) {
            float *yr = y + (m * ty + r) * width;
            merge_phases(row, z + r * m * tw8, tw8, tw, m, e, o);
            int64_t ox = 0;
            if (add) {
                const float *ar = add + (m * ty + r) * width;
                for (; ox + 8 <= width; ox += 8)
                    _mm256_storeu_ps(yr + ox, _mm256_add_ps(_mm256_loadu_ps(ar + ox), _mm256_loadu_ps(row + ox)));
                for (; ox < width; ox++) yr[ox] = ar[ox] + row[ox];
            } else {
                copy_floats(yr, row, width);
            }
        }
    }
}

/* Columns per block of filter_m: U's a^2 rows of one filter row are rows * cols floats apart (16 KB at
 * 64x64, 4 KB in forward_split's 8-row blocks: all in one L1 set), so half-line stores straight into U
 * evicted each line before its other half came; a block is transformed into an L1 buffer and copied
 * out in a^2 whole runs. */
enum { FILTER_BLOCK = 64 };

/* U[xi][r][col..col+8) for 8 filters at a time (gathered at their stride), the rest by the scalar one. */
INLINE void filter_m(float *u, const float *w, int64_t r, int64_t rows, int64_t cols, const int m, int flip) {
    const float *g = nvp_winograd_g[NVP_WINOGRAD_INDEX(m)];
    const int a = m + 2;
    int64_t stride = flip ? rows * 9 : 9; /* floats between the filters of consecutive cols */
    int64_t col = 0;
    if (stride * 8 < INT32_MAX) {
        __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)stride));
        float buf[NVP_WINOGRAD_ALPHA_MAX * NVP_WINOGRAD_ALPHA_MAX][FILTER_BLOCK] __attribute__((aligned(32)));
        while (col + 8 <= cols) {
            int64_t c0 = col, nb = (cols - c0) / 8 * 8 < FILTER_BLOCK ? (cols - c0) / 8 * 8 : FILTER_BLOCK;
            for (; col < c0 + nb; col += 8) {
                const float *wk = flip ? w + (col * rows + r) * 9 : w + (r * cols + col) * 9;
                __m256 gg[9], t[NVP_WINOGRAD_ALPHA_MAX][3];
#pragma GCC unroll 9
                for (int e = 0; e < 9; e++) gg[e] = _mm256_i32gather_ps(wk + (flip ? 8 - e : e), idx, 4);
#pragma GCC unroll 6
                for (int k = 0; k < a; k++) /* t = G g (alpha, 3) */
#pragma GCC unroll 3
                    for (int j = 0; j < 3; j++) {
                        __m256 s = _mm256_setzero_ps();
#pragma GCC unroll 3
                        for (int i = 0; i < 3; i++)
                            if (g[k * 3 + i] != 0.0f)
                                s = _mm256_fmadd_ps(_mm256_set1_ps(g[k * 3 + i]), gg[i * 3 + j], s);
                        t[k][j] = s;
                    }
#pragma GCC unroll 6
                for (int k = 0; k < a; k++)
#pragma GCC unroll 6
                    for (int l = 0; l < a; l++) { /* (t G^T)[k][l] */
                        __m256 s = _mm256_setzero_ps();
#pragma GCC unroll 3
                        for (int j = 0; j < 3; j++)
                            if (g[l * 3 + j] != 0.0f) s = _mm256_fmadd_ps(_mm256_set1_ps(g[l * 3 + j]), t[k][j], s);
                        _mm256_store_ps(&buf[k * a + l][col - c0], s);
                    }
            }
            /* (copy_floats: memcpy of these 32-256 byte runs was rep movsq, 47-56 % of this function's
             * samples in an F(7x7) forward at 64->64) */
            for (int xi = 0; xi < a * a; xi++) copy_floats(u + (xi * rows + r) * cols + c0, buf[xi], nb);
        }
    }
    nvp_winograd_filter_row_ref(u, w, r, rows, cols, col, m, flip);
}

void nvp_winograd_filter_avx2(float *u, const float *w, int64_t r, int64_t rows, int64_t cols, int m, int flip) {
    if (m == 2)
        filter_m(u, w, r, rows, cols, 2, flip);
    else if (m == 4)
        filter_m(u, w, r, rows, cols, 4, flip);
    else if (m == 7)
        filter_m(u, w, r, rows, cols, 7, flip);
    else
        filter_m(u, w, r, rows, cols, 8, flip);
}

static void input_plane(float *v, int64_t xs, const float *x, int64_t h, int64_t width, int m, float *work) {
    if (nvp_winograd_narrow_fits(width, m))
        nvp_winograd_narrow_input_avx2(v, xs, x, h, width);
    else if (nvp_winograd_pairs_fit(width, m))
        nvp_winograd_pairs_input_avx2(v, xs, x, h, width);
    else if (m == 2)
        input_m(v, xs, x, h, width, 2, work);
    else
        input_m(v, xs, x, h, width, 4, work);
}

static void grad_plane(float *v, int64_t xs, const float *dy, int64_t h, int64_t width, int m, float *work) {
    if (nvp_winograd_narrow_fits(width, m))
        nvp_winograd_narrow_grad_avx2(v, xs, dy, h, width);
    else if (nvp_winograd_pairs_fit(width, m))
        nvp_winograd_pairs_grad_avx2(v, xs, dy, h, width);
    else if (nvp_winograd_wide_fits(width, m))
        nvp_winograd_wide_grad_avx2(v, xs, dy, h, width);
    else if (m == 2)
        grad_m(v, xs, dy, h, width, 2, work);
    else
        grad_m(v, xs, dy, h, width, 4, work);
}

static void output_plane(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, int m, float bias,
                         const float *add, float *work) {
    if (nvp_winograd_narrow_fits(width, m))
        nvp_winograd_narrow_output_avx2(y, mt, xs, h, width, bias, add);
    else if (nvp_winograd_pairs_fit(width, m))
        nvp_winograd_pairs_output_avx2(y, mt, xs, h, width, bias, add);
    else if (nvp_winograd_wide_fits(width, m))
        nvp_winograd_wide_output_avx2(y, mt, xs, h, width, bias, add);
    else if (m == 2)
        output_m(y, mt, xs, h, width, 2, bias, add, work);
    else
        output_m(y, mt, xs, h, width, 4, bias, add, work);
}

/* Several planes: nvp_winograd_planes_in / _out with this path's transforms */
static const nvp_winograd_big_tiles big_tiles = {nvp_winograd_f7_input_avx2, nvp_winograd_f8_input_avx2,
                                                 nvp_winograd_f7_output_avx2, nvp_winograd_f8_output_avx2};
static void input_avx2(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                       int64_t width, int m, float *work) {
    nvp_winograd_planes_in(v, xs, x, stride, planes, h, width, m, work, 0, input_plane, &big_tiles);
}

static void grad_avx2(float *v, int64_t xs, const float *dy, int64_t stride, int64_t planes, int64_t h,
                      int64_t width, int m, float *work) {
    nvp_winograd_planes_in(v, xs, dy, stride, planes, h, width, m, work, 1, grad_plane, &big_tiles);
}

static void output_avx2(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h,
                        int64_t width, int m, float bias, const float *add, float *work) {
    nvp_winograd_planes_out(y, stride, planes, mt, xs, h, width, m, bias, add, work, output_plane, &big_tiles);
}

/* As batchnorm_avx2.c's affine_row with relu (FMA, then max). */
static void activate_avx2(float *dst, const float *x, int64_t p, float mean, float scale, float beta) {
    const __m256 vm = _mm256_set1_ps(mean), vs = _mm256_set1_ps(scale), vb = _mm256_set1_ps(beta);
    int64_t q = 0;
    for (; q + 8 <= p; q += 8)
        _mm256_storeu_ps(dst + q, _mm256_max_ps(_mm256_fmadd_ps(_mm256_sub_ps(_mm256_loadu_ps(x + q), vm), vs, vb),
                                                _mm256_setzero_ps()));
    for (; q < p; q++) {
        float v = fmaf(x[q] - mean, scale, beta);
        dst[q] = v > 0.0f ? v : 0.0f;
    }
}

/* the dw reduction, vectorized with this file's flags */
#define FG_NAME(name) name##_avx2
#include "winograd_filter_grad.h"

static const nvp_winograd_transforms transforms_avx2 = {input_avx2, grad_avx2, output_avx2, nvp_winograd_filter_avx2,
                                                        activate_avx2, filter_grad_avx2};

// y: (N,Cout,H,W) [+]= conv3x3(x: (N,Cin,H,W), w: (Cout,Cin,3,3)) + b: (Cout) (b may be NULL); tile = 2, 4, 7 or 8
nvp_status nvp_winograd_forward_avx2(float *y, const float *x, const float *w, const float *b, int64_t n,
                                     int64_t cin, int64_t cout, int64_t h, int64_t width, int tile, int accumulate) {
    return nvp_winograd_forward_with(&transforms_avx2, "nvp_winograd_forward", y, accumulate ? y : NULL, x, NULL, w, b,
                                     n, cin, cout, h, width, tile);
}

// y = r + conv3x3(x) + b: r (N,Cout,H,W) is y itself or a tensor disjoint from it (a residual sum)
nvp_status nvp_winograd_forward_add_avx2(float *y, const float *r, const float *x, const float *w, const float *b,
                                         int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile) {
    return nvp_winograd_forward_add_with(&transforms_avx2, y, r, x, w, b, n, cin, cout, h, width, tile);
}

// dy: (N,Cout,H,W); dx (+)= (N,Cin,H,W), dw += (Cout,Cin,3,3), db += (Cout); each may be NULL.
nvp_status nvp_winograd_backward_avx2(float *dx, float *dw, float *db, const float *dy, const float *x,
                                      const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h,
                                      int64_t width, int tile, int accumulate_dx) {
    return nvp_winograd_backward_with(&transforms_avx2, "nvp_winograd_backward", dx, dw, db, dy, x, NULL, w, n, cin,
                                      cout, h, width, tile, accumulate_dx);
}

// y = (r ? r : 0) + conv3x3(act(x)) + b (nvp_bn_relu act, NULL = none)
nvp_status nvp_winograd_forward_act_avx2(float *y, const float *r, const float *x, const nvp_bn_relu *act,
                                         const float *w, const float *b, int64_t n, int64_t cin, int64_t cout,
                                         int64_t h, int64_t width, int tile) {
    return nvp_winograd_forward_with(&transforms_avx2, "nvp_winograd_forward_act", y, r, x, act, w, b, n, cin, cout,
                                     h, width, tile);
}

// the backward of conv3x3(act(x)): dx = dL/d act(x), dw and db with act(x) as the input
nvp_status nvp_winograd_backward_act_avx2(float *dx, float *dw, float *db, const float *dy, const float *x,
                                          const nvp_bn_relu *act, const float *w, int64_t n, int64_t cin,
                                          int64_t cout, int64_t h, int64_t width, int tile, int accumulate_dx) {
    return nvp_winograd_backward_with(&transforms_avx2, "nvp_winograd_backward_act", dx, dw, db, dy, x, act, w, n,
                                      cin, cout, h, width, tile, accumulate_dx);
}
