/*
 * winograd_avx512.c -- AVX-512 twins of the tile transforms of winograd_avx2.c (same stages, same
 * phase-split layout, see input_ref in winograd_ref.c), with one difference: a zmm holds R = 16 / TW
 * whole tile rows (TW <= 16; R = 2 at TW = 7 or 8, R = 4 at TW = 4), or 16 tiles of one row (TW > 16).
 * The AVX2 code holds one tile row of 8 per ymm, so at TW = 4 (16x16 planes under F(4x4)) half its
 * lanes were idle, and at TW = 8 every transform step ran twice as often as here. Lane L of a group
 * starting at tile row ty0 is tile (ty0 + L / c, tx0 + L % c), c = the tiles per row in the group, so
 * the group's tiles are contiguous in V, D and M: one masked load or store per row of the transform.
 * Gathering the R source rows of a group is one masked load per row from a pointer shifted back by
 * r*c floats (it stays inside the work buffer: rows before it exist).
 * Planes up to 32 columns wide with >= 4 tiles a row (every 3x3 plane of the reference networks)
 * take the register-row transforms further down instead: no padded or phase-split copies at all.
 * The filter transform is winograd_avx2.c's. Compiled with -mavx2 -mfma -mavx512f/cd/bw/dq/vl;
 * reached only through winograd.c's table on the avx512 CPU path.
 */
#include "winograd_internal.h"
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

/* the factored transform stages on zmm: stage_in512, stage_out512 */
#define WS_VEC __m512
#define WS_ZERO _mm512_setzero_ps()
#define WS_ADD(a, b) _mm512_add_ps(a, b)
#define WS_SUB(a, b) _mm512_sub_ps(a, b)
#define WS_FMA(c, a, b) _mm512_fmadd_ps(_mm512_set1_ps(c), a, b)
#define WS_NAME(name) name##512
#include "winograd_stages.h"

/* ---- planes of at most 32 columns and at least 4 tiles a row: rows in registers ----
 *
 * The generic transforms above copy each plane three times (zero-padded rows, phase-split rows,
 * B^T along y) before the vector stage; at 14x14 or 28x28 that was ~4 cycles per input element,
 * as much as the products it feeds. Here a plane row of W <= 32 floats is one or two zmm (masked
 * loads: zero past W), the y stage combines those rows in registers, and the x stage picks each
 * tile's columns out of them with two-source permutes whose zero-masking is the padding: lane L of
 * a group is tile (ty0 + L / TW, L % TW) as above, and its tap i reads column m*tx + i + off
 * (off = -1 for the padded input, 0 for dy's blocks), zero where that column is outside the plane.
 * Narrow planes (W <= 16) take a pair of group rows per permute (the second row's columns at
 * index 16 + col); wide ones one group row (its two zmm) per permute, blended into the vector. */

/* One group of tile rows ty0 .. ty0 + nr - 1 (see rows_transform_n). First the y stage of each group
 * row, all k at once, into yb[k][slot] (wide: slots 2r, 2r + 1 = the row's halves; narrow: slot r;
 * rows past nr zero), rows outside the plane read as zeros (checked = 0: the caller knows there are
 * none). Then per k: tap i of every tile picked out of the slot pairs by two-source permutes (idx[i];
 * mk[s][i]: the lanes source s fills, zero-masked where tap i is padding), the x stage, a masked
 * store per l. */
INLINE void rows_group(float *v, int64_t xs, const float *x, int64_t h, int64_t width, int64_t ty0, int nr,
                       const int m, const int grad, const int wide, const int nsrc, const int checked,
                       const __m512i *idx, __mmask16 mk[4][A_MAX], __mmask16 mlo, __mmask16 mhi,
                       __mmask16 rows_in, int64_t tw) {
    const int a = m + 2, taps = grad ? m : a, off = grad ? 0 : -1, nrows = wide ? nsrc : 2 * nsrc;
    __m512 yb[A_MAX][8];
#pragma GCC unroll 4
    for (int r = 0; r < nrows; r++) {
        __m512 dlo[A_MAX], dhi[A_MAX], tlo[A_MAX], thi[A_MAX];
        int64_t row0 = m * (ty0 + r) + off; /* the group row's first plane row */
        const float *xr = x + row0 * width;
#pragma GCC unroll 6
        for (int j = 0; j < taps; j++) {
            int in = r < nr && (!checked || (row0 + j >= 0 && row0 + j < h));
            dlo[j] = in ? _mm512_maskz_loadu_ps(mlo, xr + j * width) : _mm512_setzero_ps();
            if (wide) dhi[j] = in ? _mm512_maskz_loadu_ps(mhi, xr + j * width + 16) : _mm512_setzero_ps();
        }
        stage_in512(tlo, dlo, m, grad);
        if (wide) stage_in512(thi, dhi, m, grad);
#pragma GCC unroll 6
        for (int k = 0; k < a; k++) {
            yb[k][wide ? 2 * r : r] = tlo[k];
            if (wide) yb[k][2 * r + 1] = thi[k];
        }
    }
#pragma GCC unroll 6
    for (int k = 0; k < a; k++) {
        __m512 p[A_MAX], t[A_MAX]; /* p[i]: tap i of every tile in the vector */
        for (int i = 0; i < A_MAX; i++) p[i] = _mm512_setzero_ps(); /* (dead: source 0 sets all lanes) */
#pragma GCC unroll 4
        for (int s = 0; s < nsrc; s++) {
            if ((wide ? s : 2 * s) >= nr) break; /* never at s = 0 */
#pragma GCC unroll 6
            for (int i = 0; i < taps; i++) {
                __m512 pi = _mm512_permutex2var_ps(yb[k][2 * s], idx[i], yb[k][2 * s + 1]);
                p[i] = s == 0 ? _mm512_maskz_mov_ps(mk[0][i], pi) : _mm512_mask_mov_ps(p[i], mk[s][i], pi);
            }
        }
        stage_in512(t, p, m, grad);
#pragma GCC unroll 6
        for (int l = 0; l < a; l++) _mm512_mask_storeu_ps(v + (k * a + l) * xs + ty0 * tw, rows_in, t[l]);
    }
}

/* v[(k*a + l)*xs + t] for every tile t: the input transform (grad = 0: B^T d B of the padded plane)
 * or the gradient transform (grad = 1: A dy_t A^T of dy's m x m blocks). width <= 32, TW >= 4.
 * The groups whose rows all lie inside the plane (all but the first and last, mostly) skip the
 * padding tests, and each group's permute masks are combined once, not per k. */
INLINE void rows_transform_n(float *v, int64_t xs, const float *x, int64_t h, int64_t width, const int m, const int grad,
                             const int wide, const int nsrc) {
    const int taps = grad ? m : m + 2, off = grad ? 0 : -1;
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m;
    int rpg = (int)(16 / tw);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    /* lane L -> group row r = L / TW (exact in float for L < 16), tile column tx = L % TW */
    __m512i r = _mm512_cvttps_epi32(_mm512_mul_ps(_mm512_add_ps(_mm512_cvtepi32_ps(iota), _mm512_set1_ps(0.5f)),
                                                  _mm512_set1_ps(1.0f / (float)tw)));
    __m512i tx = _mm512_sub_epi32(iota, _mm512_mullo_epi32(r, _mm512_set1_epi32((int)tw)));
    __m512i col0 = _mm512_add_epi32(_mm512_mullo_epi32(tx, _mm512_set1_epi32(m)), _mm512_set1_epi32(off));
    __m512i src_of = wide ? r : _mm512_srli_epi32(r, 1);
    __m512i idx0 = wide ? col0 : _mm512_add_epi32(col0, _mm512_slli_epi32(_mm512_and_si512(r, _mm512_set1_epi32(1)), 4));
    __m512i idx[A_MAX];
    __mmask16 src[4], valid[A_MAX], mk[4][A_MAX];
    for (int s = 0; s < nsrc; s++) src[s] = _mm512_cmpeq_epi32_mask(src_of, _mm512_set1_epi32(s));
#pragma GCC unroll 6
    for (int i = 0; i < taps; i++) {
        __m512i col = _mm512_add_epi32(col0, _mm512_set1_epi32(i));
        idx[i] = _mm512_add_epi32(idx0, _mm512_set1_epi32(i));
        valid[i] = _mm512_cmpge_epi32_mask(col, _mm512_setzero_si512()) &
                   _mm512_cmplt_epi32_mask(col, _mm512_set1_epi32((int)width));
    }
    __mmask16 mlo = lanes(0, width), mhi = lanes(0, width - 16);
    for (int64_t ty0 = 0; ty0 < th; ty0 += rpg) {
        int nr = (int)(th - ty0 < rpg ? th - ty0 : rpg);
        __mmask16 rows_in = lanes(0, nr * tw);
        for (int s = 0; s < nsrc; s++)
            for (int i = 0; i < taps; i++) mk[s][i] = valid[i] & src[s] & rows_in;
        /* the plane rows the group reads: m*ty0 + off .. m*(ty0 + nr - 1) + taps - 1 + off */
        int inside = m * ty0 + off >= 0 && m * (ty0 + nr - 1) + taps - 1 + off < h;
        if (inside)
            rows_group(v, xs, x, h, width, ty0, nr, m, grad, wide, nsrc, 0, idx, mk, mlo, mhi, rows_in, tw);
        else
            rows_group(v, xs, x, h, width, ty0, nr, m, grad, wide, nsrc, 1, idx, mk, mlo, mhi, rows_in, tw);
    }
}

/* The A stages of the output transform for one group of tiles (the vector's lanes), in registers:
 * zy[rr][l] = (A^T along y of M's column l)[rr] (M's rows xs floats apart from mt, `in` the group's
 * lanes), then per output row phase rr: z[cc] = (A^T along x of zy[rr] + bias)[cc], the outputs of
 * column phase cc. The bias goes in once per row: A's column 1 is all ones, so adding it to
 * element 1 adds it to every output. */
INLINE void group_along_y(__m512 zy[4][A_MAX], const float *mt, int64_t xs, __mmask16 in, const int m) {
    const int a = m + 2;
#pragma GCC unroll 6
    for (int l = 0; l < a; l++) {
        __m512 d[A_MAX], y[4];
#pragma GCC unroll 6
        for (int k = 0; k < a; k++) d[k] = _mm512_maskz_loadu_ps(in, mt + (k * a + l) * xs);
        stage_out512(y, d, m);
#pragma GCC unroll 4
        for (int rr = 0; rr < m; rr++) zy[rr][l] = y[rr];
    }
}

INLINE void group_row_phase(__m512 z[4], __m512 zy[4][A_MAX], __m512 vbias, int rr, const int m) {
    const int a = m + 2;
    __m512 d[A_MAX];
#pragma GCC unroll 6
    for (int l = 0; l < a; l++) d[l] = zy[rr][l];
    d[1] = _mm512_add_ps(d[1], vbias);
    stage_out512(z, d, m);
}

/* The output transform of a plane rows_fit takes: per group, A along x of every k into registers
 * (wv[k][cc], a*m <= 24 zmm), then for each output row phase rr the m phase vectors z[cc] (lanes =
 * the group's tiles), and each output row of the group picked out of them by two-source permutes:
 * column j of group row r is lane r*TW + j/m of z[j % m]. One or two zmm per output row. */
INLINE void rows_output(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, const int m, float bias,
                        const float *add) {
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m;
    int rpg = (int)(16 / tw);
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    /* lane L of an output piece: tile offset L / m, phase L % m (pairs: odd phases from the second
     * source, +16); for m = 4 phases 2, 3 come from a second permute of z[2], z[3] */
    const __m512i phase = _mm512_and_si512(iota, _mm512_set1_epi32(m - 1));
    const __m512i pick = _mm512_add_epi32(_mm512_srli_epi32(iota, m == 4 ? 2 : 1),
                                          _mm512_slli_epi32(_mm512_and_si512(phase, _mm512_set1_epi32(1)), 4));
    const __mmask16 upper = _mm512_cmpge_epi32_mask(phase, _mm512_set1_epi32(2));
    __mmask16 cols_lo = lanes(0, width), cols_hi = lanes(0, width - 16);
    for (int64_t ty0 = 0; ty0 < th; ty0 += rpg) {
        int nr = (int)(th - ty0 < rpg ? th - ty0 : rpg);
        __mmask16 rows_in = lanes(0, nr * tw);
        __m512 zy[4][A_MAX];
        group_along_y(zy, mt + ty0 * tw, xs, rows_in, m);
#pragma GCC unroll 4
        for (int rr = 0; rr < m; rr++) {
            __m512 z[4];
            group_row_phase(z, zy, _mm512_set1_ps(bias), rr, m);
            for (int r = 0; r < nr; r++) {
                int64_t oy = m * (ty0 + r) + rr;
                if (oy >= h) break;
                float *yr = y + oy * width;
                for (int g = 0; g * 16 < width; g++) { /* columns 16g .. 16g + 15 */
                    __m512i idx = _mm512_add_epi32(pick, _mm512_set1_epi32((int)(r * tw + g * (16 / m))));
                    __m512 piece = _mm512_permutex2var_ps(z[0], idx, z[1]);
                    if (m == 4) piece = _mm512_mask_mov_ps(piece, upper, _mm512_permutex2var_ps(z[2], idx, z[3]));
                    __mmask16 mk = g == 0 ? cols_lo : cols_hi;
                    if (add) piece = _mm512_add_ps(piece, _mm512_maskz_loadu_ps(mk, add + oy * width + 16 * g));
                    _mm512_mask_storeu_ps(yr + 16 * g, mk, piece);
                }
            }
        }
    }
}

/* Whether rows_transform takes the plane (it needs TW >= 4 so that a vector holds <= 4 group rows). */
static inline int rows_fit(int64_t width, int m) { return width <= 32 && (width + m - 1) / m >= 4; }

/* rows_transform_n with the permute sources per vector a compile-time constant. */
INLINE void rows_transform(float *v, int64_t xs, const float *x, int64_t h, int64_t width, const int m, const int grad) {
    int64_t rpg = 16 / ((width + m - 1) / m);
    if (width > 16 && rpg == 1)
        rows_transform_n(v, xs, x, h, width, m, grad, 1, 1);
    else if (width > 16 && rpg == 2)
        rows_transform_n(v, xs, x, h, width, m, grad, 1, 2);
    else if (width > 16)
        rows_transform_n(v, xs, x, h, width, m, grad, 1, 3);
    else if (rpg <= 2)
        rows_transform_n(v, xs, x, h, width, m, grad, 0, 1);
    else
        rows_transform_n(v, xs, x, h, width, m, grad, 0, 2);
}

/* The transforms of any plane (the register-row ones above take most): the input (grad = 0, B^T d B
 * of the zero-padded plane) or gradient (grad = 1, A dy_t A^T of dy's m x m blocks) transform as in
 * winograd_avx2.c: the plane copied into zero-padded rows split by phase (input_rows / grad_rows), the
 * y stage over whole rows, then the x stage a tile group per vector. Tap i of a tile's row sits at
 * phase i % m, index tx + i / m (input: rows of m phases of TW + 1) or phase i, index tx (gradient). */
INLINE void generic_transform(float *v, int64_t xs, const float *x, int64_t h, int64_t width, const int m,
                              const int grad, float *work) {
    const float *bt = nvp_winograd_bt[NVP_WINOGRAD_INDEX(m)], *at = nvp_winograd_at[NVP_WINOGRAD_INDEX(m)]; /* A[k][i] = at[i*a + k] */
    const int a = m + 2, taps = grad ? m : a;
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m, sw = grad ? tw : tw + 1;
    int64_t rw = ceil16(m * sw), rows = grad ? m * th : m * th + 2;
    float *pad = work, *q = pad + rows * rw, *u = q + rows * rw, *e = u + th * a * rw, *o = e + rw + 16;
    if (grad)
        grad_rows(q, pad, x, h, width, m, tw, rw, rows, e, o);
    else
        input_rows(q, pad, x, h, width, m, sw, rw, rows, e, o);
    for (int64_t ty = 0; ty < th; ty++) { /* u[ty][k] = sum_i C[k][i] q[m*ty + i], C = B^T or A */
        const float *q0 = q + m * ty * rw;
#pragma GCC unroll 6
        for (int k = 0; k < a; k++) {
            for (int64_t c = 0; c < rw; c += 16) {
                __m512 s = _mm512_setzero_ps();
#pragma GCC unroll 6
                for (int i = 0; i < taps; i++) {
                    float cy = grad ? at[i * a + k] : bt[k * a + i];
                    if (cy != 0.0f) s = _mm512_fmadd_ps(_mm512_set1_ps(cy), _mm512_loadu_ps(q0 + i * rw + c), s);
                }
                _mm512_storeu_ps(u + (ty * a + k) * rw + c, s);
            }
        }
    }
    /* v[k*a + l][tile] = sum_i C[l][i] u[ty][k][tap i of the tile]: along x, a group per vector */
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
                for (int i = 0; i < taps; i++)
                    d[i] = gather_rows(uk + (grad ? i * sw : (i % m) * sw + i / m), a * rw, nr, c);
#pragma GCC unroll 6
                for (int l = 0; l < a; l++) {
                    __m512 s = _mm512_setzero_ps();
#pragma GCC unroll 6
                    for (int i = 0; i < taps; i++) {
                        float cx = grad ? at[i * a + l] : bt[l * a + i];
                        if (cx != 0.0f) s = _mm512_fmadd_ps(_mm512_set1_ps(cx), d[i], s);
                    }
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
                     const float *add) {
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m;
    tile_groups gr = groups_for(tw);
    for (int64_t ty0 = 0; ty0 < th; ty0 += gr.rows_per_group) {
        int nr = (int)(th - ty0 < gr.rows_per_group ? th - ty0 : gr.rows_per_group);
        for (int64_t tx0 = 0; tx0 < tw; tx0 += gr.chunk) {
            int64_t c = tw - tx0 < gr.chunk ? tw - tx0 : gr.chunk;
            __m512 zy[4][A_MAX];
            group_along_y(zy, mt + ty0 * tw + tx0, xs, lanes(0, nr * c), m);
#pragma GCC unroll 4
            for (int r = 0; r < m; r++) {
                __m512 z[4];
                group_row_phase(z, zy, _mm512_set1_ps(bias), r, m);
                /* output row m*(ty0 + ri) + r, columns m*tx0 .. m*(tx0 + c): the phases interleaved */
                for (int ri = 0; ri < nr; ri++) {
                    int64_t oy = m * (ty0 + ri) + r;
                    if (oy >= h) break;
                    float *yr = y + oy * width + m * tx0;
                    const float *ar = add ? add + oy * width + m * tx0 : NULL;
                    int64_t cols = m * c < width - m * tx0 ? m * c : width - m * tx0;
                    for (int64_t g = 0; g * 16 < cols; g++) {
                        __m512 piece = merge_piece(z, ri * c + g * (16 / m), m);
                        __mmask16 mk = lanes(0, cols - g * 16);
                        if (ar) piece = _mm512_add_ps(piece, _mm512_maskz_loadu_ps(mk, ar + g * 16));
                        _mm512_mask_storeu_ps(yr + g * 16, mk, piece);
                    }
                }
            }
        }
    }
}

static void input_plane(float *v, int64_t xs, const float *x, int64_t h, int64_t width, int m, float *work) {
    if (rows_fit(width, m) && m == 2)
        rows_transform(v, xs, x, h, width, 2, 0);
    else if (rows_fit(width, m))
        rows_transform(v, xs, x, h, width, 4, 0);
    else if (m == 2)
        generic_transform(v, xs, x, h, width, 2, 0, work);
    else
        generic_transform(v, xs, x, h, width, 4, 0, work);
}

static void grad_plane(float *v, int64_t xs, const float *dy, int64_t h, int64_t width, int m, float *work) {
    if (rows_fit(width, m) && m == 2)
        rows_transform(v, xs, dy, h, width, 2, 1);
    else if (rows_fit(width, m))
        rows_transform(v, xs, dy, h, width, 4, 1);
    else if (m == 2)
        generic_transform(v, xs, dy, h, width, 2, 1, work);
    else
        generic_transform(v, xs, dy, h, width, 4, 1, work);
}

static void output_plane(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, int m, float bias,
                         const float *add, float *work) {
    (void)work; /* the A stages stay in registers */
    if (rows_fit(width, m) && m == 2)
        rows_output(y, mt, xs, h, width, 2, bias, add);
    else if (rows_fit(width, m))
        rows_output(y, mt, xs, h, width, 4, bias, add);
    else if (m == 2)
        output_m(y, mt, xs, h, width, 2, bias, add);
    else
        output_m(y, mt, xs, h, width, 4, bias, add);
}

/* Several planes: nvp_winograd_planes_in / _out with this path's transforms */
static const nvp_winograd_big_tiles big_tiles = {nvp_winograd_f7_input_avx512, nvp_winograd_f8_input_avx512,
                                                 nvp_winograd_f7_output_avx512, nvp_winograd_f8_output_avx512};
static void input_avx512(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                         int64_t width, int m, float *work) {
    nvp_winograd_planes_in(v, xs, x, stride, planes, h, width, m, work, 0, input_plane, &big_tiles);
}

static void grad_avx512(float *v, int64_t xs, const float *dy, int64_t stride, int64_t planes, int64_t h,
                        int64_t width, int m, float *work) {
    nvp_winograd_planes_in(v, xs, dy, stride, planes, h, width, m, work, 1, grad_plane, &big_tiles);
}

static void output_avx512(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h,
                          int64_t width, int m, float bias, const float *add, float *work) {
    nvp_winograd_planes_out(y, stride, planes, mt, xs, h, width, m, bias, add, work, output_plane, &big_tiles);
}

/* As batchnorm_avx2.c's affine_row with relu (FMA, then max; the masked tail is the same fmaf). */
static void activate_avx512(float *dst, const float *x, int64_t p, float mean, float scale, float beta) {
    const __m512 vm = _mm512_set1_ps(mean), vs = _mm512_set1_ps(scale), vb = _mm512_set1_ps(beta);
    for (int64_t q = 0; q < p; q += 16) {
        __mmask16 mk = lanes(0, p - q);
        __m512 v = _mm512_fmadd_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, x + q), vm), vs, vb);
        _mm512_mask_storeu_ps(dst + q, mk, _mm512_max_ps(v, _mm512_setzero_ps()));
    }
}

/* the dw reduction, vectorized with this file's flags */
#define FG_NAME(name) name##_avx512
#include "winograd_filter_grad.h"

static const nvp_winograd_transforms transforms_avx512 = {input_avx512, grad_avx512, output_avx512,
                                                          nvp_winograd_filter_avx2, activate_avx512,
                                                          filter_grad_avx512};

// y: (N,Cout,H,W) [+]= conv3x3(x: (N,Cin,H,W), w: (Cout,Cin,3,3)) + b: (Cout) (b may be NULL); tile = 2, 4, 7 or 8
nvp_status nvp_winograd_forward_avx512(float *y, const float *x, const float *w, const float *b, int64_t n,
                                       int64_t cin, int64_t cout, int64_t h, int64_t width, int tile,
                                       int accumulate) {
    if (!nvp_cpu_has_avx512())
        return nvp_fail(NVP_STATUS_UNSUPPORTED, "nvp_winograd_forward_avx512: this CPU has no AVX-512 F/CD/BW/DQ/VL");
    return nvp_winograd_forward_with(&transforms_avx512, "nvp_winograd_forward", y, accumulate ? y : NULL, x, NULL, w,
                                     b, n, cin, cout, h, width, tile);
}

// y = r + conv3x3(x) + b: r (N,Cout,H,W) is y itself or a tensor disjoint from it (a residual sum)
nvp_status nvp_winograd_forward_add_avx512(float *y, const float *r, const float *x, const float *w, const float *b,
                                           int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile) {
    if (!nvp_cpu_has_avx512())
        return nvp_fail(NVP_STATUS_UNSUPPORTED, "nvp_winograd_forward_add_avx512: this CPU has no AVX-512 F/CD/BW/DQ/VL");
    return nvp_winograd_forward_add_with(&transforms_avx512, y, r, x, w, b, n, cin, cout, h, width, tile);
}

// dy: (N,Cout,H,W); dx (+)= (N,Cin,H,W), dw += (Cout,Cin,3,3), db += (Cout); each may be NULL.
nvp_status nvp_winograd_backward_avx512(float *dx, float *dw, float *db, const float *dy, const float *x,
                                        const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h,
                                        int64_t width, int tile, int accumulate_dx) {
    if (!nvp_cpu_has_avx512())
        return nvp_fail(NVP_STATUS_UNSUPPORTED, "nvp_winograd_backward_avx512: this CPU has no AVX-512 F/CD/BW/DQ/VL");
    return nvp_winograd_backward_with(&transforms_avx512, "nvp_winograd_backward", dx, dw, db, dy, x, NULL, w, n, cin,
                                      cout, h, width, tile, accumulate_dx);
}

// y = (r ? r : 0) + conv3x3(act(x)) + b (nvp_bn_relu act, NULL = none)
nvp_status nvp_winograd_forward_act_avx512(float *y, const float *r, const float *x, const nvp_bn_relu *act,
                                           const float *w, const float *b, int64_t n, int64_t cin, int64_t cout,
                                           int64_t h, int64_t width, int tile) {
    if (!nvp_cpu_has_avx512())
        return nvp_fail(NVP_STATUS_UNSUPPORTED, "nvp_winograd_forward_act_avx512: this CPU has no AVX-512 F/CD/BW/DQ/VL");
    return nvp_winograd_forward_with(&transforms_avx512, "nvp_winograd_forward_act", y, r, x, act, w, b, n, cin, cout,
                                     h, width, tile);
}

// the backward of conv3x3(act(x)): dx = dL/d act(x), dw and db with act(x) as the input
nvp_status nvp_winograd_backward_act_avx512(float *dx, float *dw, float *db, const float *dy, const float *x,
                                            const nvp_bn_relu *act, const float *w, int64_t n, int64_t cin,
                                            int64_t cout, int64_t h, int64_t width, int tile, int accumulate_dx) {
    if (!nvp_cpu_has_avx512())
        return nvp_fail(NVP_STATUS_UNSUPPORTED, "nvp_winograd_backward_act_avx512: this CPU has no AVX-512 F/CD/BW/DQ/VL");
    return nvp_winograd_backward_with(&transforms_avx512, "nvp_winograd_backward_act", dx, dw, db, dy, x, act, w, n,
                                      cin, cout, h, width, tile, accumulate_dx);
}
