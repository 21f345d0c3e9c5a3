/*
 * winograd_avx512.c -- AVX-512 twins of the tile transforms of winograd_avx2.c (same stages, same
 * phase-split layout, see input_ref in winograd.c), with one difference: a zmm holds R = 16 / TW
 * whole tile rows (TW <= 16; R = 2 at TW = 7 or 8, R = 4 at TW = 4), or 16 tiles of one row (TW > 16).
 * The AVX2 code holds one tile row of 8 per ymm, so at TW = 4 (16x16 planes under F(4x4)) half its
 * lanes were idle, and at TW = 8 every transform step ran twice as often as here. Lane L of a group
 * starting at tile row ty0 is tile (ty0 + L / c, tx0 + L % c), c = the tiles per row in the group, so
 * the group's tiles are contiguous in V, D and M: one masked load or store per row of the transform.
 * Gathering the R source rows of a group is one masked load per row from a pointer shifted back by
 * r*c floats (it stays inside the work buffer: rows before it exist).
 * The filter transform is winograd_avx2.c's. Compiled with -mavx2 -mfma -mavx512f/cd/bw/dq/vl;
 * called only when nvp_init chose AVX-512 (nvp_use_avx512).
 */
#include "winograd.h"
#include "winograd_rows_avx2.h"

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
enum { A_MAX = 6 };

static inline __mmask16 lanes(int64_t first, int64_t count) {
    if (count <= 0) return 0;
    uint32_t bits = count >= 16 ? 0xFFFFu : ((1u << count) - 1u);
    return (__mmask16)(bits << first);
}

static inline int64_t ceil16(int64_t v) { return (v + 15) / 16 * 16; }

/* How the tiles of a plane are grouped into vectors (see the top of this file). */
typedef struct {
    int64_t rows_per_group; /* R */
    int64_t chunk;          /* c: tiles of one row per group (TW, or 16 when TW > 16) */
} tile_groups;

static inline tile_groups groups_for(int64_t tw) {
    tile_groups g;
    g.chunk = tw < 16 ? tw : 16;
    g.rows_per_group = tw < 16 ? 16 / tw : 1;
    return g;
}

/* The group's lanes of `count` source rows: lane r*c + j = row_r[j], row_r = base + r*row_stride. */
INLINE __m512 gather_rows(const float *base, int64_t row_stride, int nr, int64_t c) {
    __m512 d = _mm512_maskz_loadu_ps(lanes(0, c), base);
    for (int r = 1; r < nr; r++) d = _mm512_mask_loadu_ps(d, lanes(r * c, c), base + r * row_stride - r * c);
    return d;
}

INLINE void input_m(float *v, int64_t xs, const float *x, int64_t h, int64_t width, const int m, float *work) {
    const float *bt = nvp_winograd_bt[m == 4];
    const int a = m + 2;
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m, sw = tw + 1, rw = ceil16(m * sw), hp = m * th + 2;
    float *pad = work, *q = pad + hp * rw, *u = q + hp * rw, *e = u + th * a * rw, *o = e + rw + 16;
    input_rows(q, pad, x, h, width, m, sw, rw, hp, e, o);
    for (int64_t ty = 0; ty < th; ty++) { /* u[ty][k] = sum_i BT[k][i] q[m*ty + i]: B^T along y */
        const float *q0 = q + m * ty * rw;
#pragma GCC unroll 6
        for (int k = 0; k < a; k++) {
            for (int64_t c = 0; c < rw; c += 16) {
                __m512 s = _mm512_setzero_ps();
#pragma GCC unroll 6
                for (int i = 0; i < a; i++)
                    if (bt[k * a + i] != 0.0f)
                        s = _mm512_fmadd_ps(_mm512_set1_ps(bt[k * a + i]), _mm512_loadu_ps(q0 + i * rw + c), s);
                _mm512_storeu_ps(u + (ty * a + k) * rw + c, s);
            }
        }
    }
    /* v[k*a + l][tile] = sum_i BT[l][i] u[ty][k][phase i % m, tx + i/m]: B along x, a group per vector */
    tile_groups gr = groups_for(tw);
    for (int64_t ty0 = 0; ty0 < th; ty0 += gr.rows_per_group) {
        int nr = (int)(th - ty0 < gr.rows_per_group ? th - ty0 : gr.rows_per_group);
        for (int64_t tx0 = 0; tx0 < tw; tx0 += gr.chunk) {
            int64_t c = tw - tx0 < gr.chunk ? tw - tx0 : gr.chunk;
            __mmask16 out = lanes(0, nr * c);
            for (int k = 0; k < a; k++) {
                const float *uk = u + (ty0 * a + k) * rw + tx0;
                __m512 d[A_MAX];
#pragma GCC unroll 6
                for (int i = 0; i < a; i++) d[i] = gather_rows(uk + (i % m) * sw + i / m, a * rw, nr, c);
#pragma GCC unroll 6
                for (int l = 0; l < a; l++) {
                    __m512 s = _mm512_setzero_ps();
#pragma GCC unroll 6
                    for (int i = 0; i < a; i++)
                        if (bt[l * a + i] != 0.0f) s = _mm512_fmadd_ps(_mm512_set1_ps(bt[l * a + i]), d[i], s);
                    _mm512_mask_storeu_ps(v + (k * a + l) * xs + ty0 * tw + tx0, out, s);
                }
            }
        }
    }
}

INLINE void grad_m(float *v, int64_t xs, const float *dy, int64_t h, int64_t width, const int m, float *work) {
    const float *at = nvp_winograd_at[m == 4]; /* A[k][i] = at[i*a + k] */
    const int a = m + 2;
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m, rw = ceil16(m * tw);
    float *pad = work, *q = pad + m * th * rw, *u = q + m * th * rw, *e = u + th * a * rw, *o = e + rw + 16;
    grad_rows(q, pad, dy, h, width, m, tw, rw, m * th, e, o);
    for (int64_t ty = 0; ty < th; ty++) { /* u[ty][k] = sum_i A[k][i] dy row m*ty + i */
        const float *q0 = q + m * ty * rw;
#pragma GCC unroll 6
        for (int k = 0; k < a; k++) {
            for (int64_t c = 0; c < rw; c += 16) {
                __m512 s = _mm512_setzero_ps();
#pragma GCC unroll 4
                for (int i = 0; i < m; i++)
                    if (at[i * a + k] != 0.0f)
                        s = _mm512_fmadd_ps(_mm512_set1_ps(at[i * a + k]), _mm512_loadu_ps(q0 + i * rw + c), s);
                _mm512_storeu_ps(u + (ty * a + k) * rw + c, s);
            }
        }
    }
    tile_groups gr = groups_for(tw); /* v[k*a + l] = sum_i A[l][i] u[ty][k][phase i, tx] */
    for (int64_t ty0 = 0; ty0 < th; ty0 += gr.rows_per_group) {
        int nr = (int)(th - ty0 < gr.rows_per_group ? th - ty0 : gr.rows_per_group);
        for (int64_t tx0 = 0; tx0 < tw; tx0 += gr.chunk) {
            int64_t c = tw - tx0 < gr.chunk ? tw - tx0 : gr.chunk;
            __mmask16 out = lanes(0, nr * c);
            for (int k = 0; k < a; k++) {
                const float *uk = u + (ty0 * a + k) * rw + tx0;
                __m512 d[4];
#pragma GCC unroll 4
                for (int i = 0; i < m; i++) d[i] = gather_rows(uk + i * tw, a * rw, nr, c);
#pragma GCC unroll 6
                for (int l = 0; l < a; l++) {
                    __m512 s = _mm512_setzero_ps();
#pragma GCC unroll 4
                    for (int i = 0; i < m; i++)
                        if (at[i * a + l] != 0.0f) s = _mm512_fmadd_ps(_mm512_set1_ps(at[i * a + l]), d[i], s);
                    _mm512_mask_storeu_ps(v + (k * a + l) * xs + ty0 * tw + tx0, out, s);
                }
            }
        }
    }
}

/* One output row's 16-float piece g of a group row ri: out[m*j + p] = z[p][ri*c + 4g*(... )]: the m
 * phase vectors z[p] (lanes = the group's tiles) interleaved by two-source permutes. */
INLINE __m512 merge_piece(const __m512 *z, int64_t first_tile, const int m) {
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i half = _mm512_srli_epi32(iota, 1), parity = _mm512_and_si512(iota, _mm512_set1_epi32(1));
    /* pairs[2t + s] = z[s][first + t] (s = 0, 1), and for m = 4 the same of z[2], z[3] */
    __m512i pair_idx = _mm512_add_epi32(_mm512_add_epi32(half, _mm512_set1_epi32((int)first_tile)),
                                        _mm512_slli_epi32(parity, 4));
    __m512 p01 = _mm512_permutex2var_ps(z[0], pair_idx, z[1]);
    if (m == 2) return p01;
    __m512 p23 = _mm512_permutex2var_ps(z[2], pair_idx, z[3]);
    /* out[4t + p] = p < 2 ? p01[2t + p] : p23[2t + p - 2] */
    __m512i t = _mm512_srli_epi32(iota, 2), p = _mm512_and_si512(iota, _mm512_set1_epi32(3));
    __m512i quad_idx = _mm512_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(t, 1), _mm512_and_si512(p, _mm512_set1_epi32(1))),
                                        _mm512_slli_epi32(_mm512_srli_epi32(p, 1), 4));
    return _mm512_permutex2var_ps(p01, quad_idx, p23);
}

INLINE void output_m(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, const int m, float bias,
                     int accumulate, float *work) {
    const float *at = nvp_winograd_at[m == 4];
    const int a = m + 2;
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m;
    float *wv = work; /* wv[k*m + c]: 16 floats each */
    tile_groups gr = groups_for(tw);
    for (int64_t ty0 = 0; ty0 < th; ty0 += gr.rows_per_group) {
        int nr = (int)(th - ty0 < gr.rows_per_group ? th - ty0 : gr.rows_per_group);
        for (int64_t tx0 = 0; tx0 < tw; tx0 += gr.chunk) {
            int64_t c = tw - tx0 < gr.chunk ? tw - tx0 : gr.chunk;
            __mmask16 in = lanes(0, nr * c);
            for (int k = 0; k < a; k++) { /* wv[k][cc] = sum_l AT[cc][l] M[k*a + l]: A along x */
                const float *mk = mt + k * a * xs + ty0 * tw + tx0;
                __m512 d[A_MAX];
#pragma GCC unroll 6
                for (int l = 0; l < a; l++) d[l] = _mm512_maskz_loadu_ps(in, mk + l * xs);
#pragma GCC unroll 4
                for (int cc = 0; cc < m; cc++) {
                    __m512 s = _mm512_setzero_ps();
#pragma GCC unroll 6
                    for (int l = 0; l < a; l++)
                        if (at[cc * a + l] != 0.0f) s = _mm512_fmadd_ps(_mm512_set1_ps(at[cc * a + l]), d[l], s);
                    _mm512_storeu_ps(wv + (k * m + cc) * 16, s);
                }
            }
#pragma GCC unroll 4
            for (int r = 0; r < m; r++) { /* z[cc] = bias + sum_k AT[r][k] wv[k][cc]: A^T along y */
                __m512 z[4];
#pragma GCC unroll 4
                for (int cc = 0; cc < m; cc++) {
                    __m512 s = _mm512_set1_ps(bias);
#pragma GCC unroll 6
                    for (int k = 0; k < a; k++)
                        if (at[r * a + k] != 0.0f)
                            s = _mm512_fmadd_ps(_mm512_set1_ps(at[r * a + k]), _mm512_loadu_ps(wv + (k * m + cc) * 16), s);
                    z[cc] = s;
                }
                /* output row m*(ty0 + ri) + r, columns m*tx0 .. m*(tx0 + c): the phases interleaved */
                for (int ri = 0; ri < nr; ri++) {
                    int64_t oy = m * (ty0 + ri) + r;
                    if (oy >= h) break;
                    float *yr = y + oy * width + m * tx0;
                    int64_t cols = m * c < width - m * tx0 ? m * c : width - m * tx0;
                    for (int64_t g = 0; g * 16 < cols; g++) {
                        __m512 piece = merge_piece(z, ri * c + g * (16 / m), m);
                        __mmask16 mk = lanes(0, cols - g * 16);
                        if (accumulate) piece = _mm512_add_ps(piece, _mm512_maskz_loadu_ps(mk, yr + g * 16));
                        _mm512_mask_storeu_ps(yr + g * 16, mk, piece);
                    }
                }
            }
        }
    }
}

static void input_avx512(float *v, int64_t xs, const float *x, int64_t h, int64_t width, int m, float *work) {
    if (m == 2)
        input_m(v, xs, x, h, width, 2, work);
    else
        input_m(v, xs, x, h, width, 4, work);
}

static void grad_avx512(float *v, int64_t xs, const float *dy, int64_t h, int64_t width, int m, float *work) {
    if (m == 2)
        grad_m(v, xs, dy, h, width, 2, work);
    else
        grad_m(v, xs, dy, h, width, 4, work);
}

static void output_avx512(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, int m, float bias,
                          int accumulate, float *work) {
    if (m == 2)
        output_m(y, mt, xs, h, width, 2, bias, accumulate, work);
    else
        output_m(y, mt, xs, h, width, 4, bias, accumulate, work);
}

static const nvp_winograd_transforms transforms_avx512 = {input_avx512, grad_avx512, output_avx512,
                                                          nvp_winograd_filter_avx2};

// y: (N,Cout,H,W) [+]= conv3x3(x: (N,Cin,H,W), w: (Cout,Cin,3,3)) + b: (Cout) (b may be NULL); tile = 2 or 4
nvp_status nvp_winograd_forward_avx512(float *y, const float *x, const float *w, const float *b, int64_t n,
                                       int64_t cin, int64_t cout, int64_t h, int64_t width, int tile,
                                       int accumulate) {
    if (!nvp_cpu_has_avx512())
        return nvp_fail(NVP_STATUS_UNSUPPORTED, "nvp_winograd_forward_avx512: this CPU has no AVX-512 F/CD/BW/DQ/VL");
    return nvp_winograd_forward_with(&transforms_avx512, "nvp_winograd_forward", y, x, w, b, n, cin, cout, h, width,
                                     tile, accumulate);
}

// dy: (N,Cout,H,W); dx += (N,Cin,H,W), dw += (Cout,Cin,3,3), db += (Cout); each may be NULL.
nvp_status nvp_winograd_backward_avx512(float *dx, float *dw, float *db, const float *dy, const float *x,
                                        const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h,
                                        int64_t width, int tile) {
    if (!nvp_cpu_has_avx512())
        return nvp_fail(NVP_STATUS_UNSUPPORTED, "nvp_winograd_backward_avx512: this CPU has no AVX-512 F/CD/BW/DQ/VL");
    return nvp_winograd_backward_with(&transforms_avx512, "nvp_winograd_backward", dx, dw, db, dy, x, w, n, cin,
                                      cout, h, width, tile);
}
