/*
 * winograd_f7_avx512.c -- F(7x7,3x3)'s tile transforms on AVX-512 (the matrices and the layouts:
 * winograd_internal.h). A vector holds 16 tiles of the call's planes, lane L = tile L % T of plane
 * L / T (T = tiles a plane, a divisor of 16: nvp_winograd_f7_fits), so its lanes are 16 contiguous
 * columns of V or M: the driver passes the chunk's images of one channel, four 14x14 planes of 4
 * tiles or one 28x28 plane of 16 per vector. One plane at a time, a 14x14 plane would fill 4 lanes.
 *   input / gradient: tap (i, j) of every lane's tile by one masked gather straight from the planes
 *     (the zero padding and the rows and columns past the plane are the masked-off lanes: no padded
 *     copy), the stages along y per column tap, parked in an L1 buffer, then along x per row.
 *   output: A^T along y, then along x (the bias enters once through element 1: A's column 1 is all
 *     ones), the 49 output phases parked in an L1 buffer, and every output row gathered out of it.
 * The stages run term by term over the non-zero coefficients (the table is a compile-time constant).
 * Compiled with -mavx2 -mfma -mavx512f/cd/bw/dq/vl; reached only through winograd_avx512.c.
 */
#include "winograd_internal.h"

#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))
enum { M = 7, A = 9, LANES = 16 };

/* t[k] = sum_i c[k*rs + i*cs] d[i], k < nout, i < nin: a stage, zero coefficients skipped */
INLINE void stage(__m512 *t, const __m512 *d, const float *c, const int rs, const int cs, const int nout,
                  const int nin) {
#pragma GCC unroll 9
    for (int k = 0; k < nout; k++) {
        __m512 s = _mm512_setzero_ps();
        int first = 1;
#pragma GCC unroll 9
        for (int i = 0; i < nin; i++) {
            float ck = c[k * rs + i * cs];
            if (ck == 0.0f) continue;
            if (first && ck == 1.0f)
                s = d[i];
            else if (first)
                s = _mm512_mul_ps(_mm512_set1_ps(ck), d[i]);
            else
                s = _mm512_fmadd_ps(_mm512_set1_ps(ck), d[i], s);
            first = 0;
        }
        t[k] = s;
    }
}

static inline __mmask16 first_lanes(int64_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count > 0 ? count : 0)) - 1u);
}

/* Lane L's plane L / T and tile (ty, tx) of a group of whole planes. */
typedef struct {
    __m512i plane, ty, tx;
} lane_tiles;

static lane_tiles lanes_of(int64_t t, int64_t tw) {
    lane_tiles lt;
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int sh_t = __builtin_ctzll((unsigned long long)t); /* t and tw divide 16: powers of two */
    int sh_w = __builtin_ctzll((unsigned long long)tw);
    __m512i tile = _mm512_and_si512(iota, _mm512_set1_epi32((int)t - 1));
    lt.plane = _mm512_srli_epi32(iota, (unsigned)sh_t);
    lt.ty = _mm512_srli_epi32(tile, (unsigned)sh_w);
    lt.tx = _mm512_and_si512(tile, _mm512_set1_epi32((int)tw - 1));
    return lt;
}

/* The input (grad = 0: B^T d B, taps from row 7ty - 1, column 7tx - 1, zero padded) or gradient
 * (grad = 1: A dy A^T of the 7 x 7 blocks, zeros past the edge) transform of one group of 16 / T
 * planes (`live` lanes). x: the group's first plane. */
INLINE void input_group(float *v, int64_t xs, const float *x, int64_t stride, int64_t h, int64_t width,
                        const lane_tiles *lt, __mmask16 live, const int grad, float *buf) {
    const float *bt = nvp_winograd_bt[2], *at = nvp_winograd_at[2];
    const int taps = grad ? M : A, off = grad ? 0 : -1;
    __m512i row0 = _mm512_add_epi32(_mm512_mullo_epi32(lt->ty, _mm512_set1_epi32(M)), _mm512_set1_epi32(off));
    __m512i col0 = _mm512_add_epi32(_mm512_mullo_epi32(lt->tx, _mm512_set1_epi32(M)), _mm512_set1_epi32(off));
    __m512i base = _mm512_add_epi32(_mm512_mullo_epi32(lt->plane, _mm512_set1_epi32((int)stride)),
                                    _mm512_add_epi32(_mm512_mullo_epi32(row0, _mm512_set1_epi32((int)width)), col0));
    __mmask16 rows_in[A], cols_in[A];
#pragma GCC unroll 9
    for (int i = 0; i < taps; i++) {
        __m512i r = _mm512_add_epi32(row0, _mm512_set1_epi32(i)), c = _mm512_add_epi32(col0, _mm512_set1_epi32(i));
        rows_in[i] = _mm512_mask_cmpge_epi32_mask(live, r, _mm512_setzero_si512()) &
                     _mm512_cmplt_epi32_mask(r, _mm512_set1_epi32((int)h));
        cols_in[i] = _mm512_cmpge_epi32_mask(c, _mm512_setzero_si512()) &
                     _mm512_cmplt_epi32_mask(c, _mm512_set1_epi32((int)width));
    }
    /* along y, one column tap j at a time: buf[k][j] = sum_i C[k][i] tap(i, j) */
#pragma GCC unroll 1
    for (int j = 0; j < taps; j++) {
        __m512 d[A], t[A];
#pragma GCC unroll 9
        for (int i = 0; i < taps; i++) {
            __m512i idx = _mm512_add_epi32(base, _mm512_set1_epi32((int)(i * width + j)));
            d[i] = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows_in[i] & cols_in[j], idx, x, 4);
        }
        if (grad)
            stage(t, d, at, 1, A, A, M); /* A[k][i] = at[i*9 + k] */
        else
            stage(t, d, bt, A, 1, A, A);
#pragma GCC unroll 9
        for (int k = 0; k < A; k++) _mm512_storeu_ps(buf + (k * A + j) * LANES, t[k]);
    }
    /* along x: v[k*9 + l] = sum_j C[l][j] buf[k][j] */
#pragma GCC unroll 1
    for (int k = 0; k < A; k++) {
        __m512 d[A], t[A];
#pragma GCC unroll 9
        for (int j = 0; j < taps; j++) d[j] = _mm512_loadu_ps(buf + (k * A + j) * LANES);
        if (grad)
            stage(t, d, at, 1, A, A, M);
        else
            stage(t, d, bt, A, 1, A, A);
#pragma GCC unroll 9
        for (int l = 0; l < A; l++) _mm512_mask_storeu_ps(v + (k * A + l) * xs, live, t[l]);
    }
}

static void transform_planes(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                             int64_t width, const int grad, float *buf) {
    int64_t th = (h + M - 1) / M, tw = (width + M - 1) / M, t = th * tw, per = LANES / t;
    lane_tiles lt = lanes_of(t, tw);
    for (int64_t j0 = 0; j0 < planes; j0 += per) {
        __mmask16 live = first_lanes((planes - j0) * t);
        input_group(v + j0 * t, xs, x + j0 * stride, stride, h, width, &lt, live, grad, buf);
    }
}

void nvp_winograd_f7_input_avx512(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                                  int64_t width, int grad, float *work) {
    int64_t t = ((h + M - 1) / M) * ((width + M - 1) / M);
    /* the gathers' offsets are 32-bit: planes too far apart go one at a time */
    if ((LANES / t) * stride + h * width >= INT32_MAX / 2 || stride < 0) {
        for (int64_t j = 0; j < planes; j++)
            nvp_winograd_f7_input_avx512(v + j * t, xs, x + j * stride, 0, 1, h, width, grad, work);
        return;
    }
    if (grad)
        transform_planes(v, xs, x, stride, planes, h, width, 1, work);
    else
        transform_planes(v, xs, x, stride, planes, h, width, 0, work);
}

/* The output transform of one group (its planes y + q*stride, q < nplanes): the 49 phases of every
 * lane into out[(rr*7 + cc)*16 + lane], then each output row gathered from there. */
static void output_group(float *y, int64_t stride, int64_t nplanes, const float *mt, int64_t xs, int64_t h,
                         int64_t width, int64_t t, int64_t tw, float bias, const float *add, __mmask16 live,
                         float *buf) {
    const float *at = nvp_winograd_at[2];
    float *out = buf + M * A * LANES;
    for (int l = 0; l < A; l++) { /* along y: buf[rr][l] = sum_k AT[rr][k] M[k*9 + l] */
        __m512 d[A], z[M];
#pragma GCC unroll 9
        for (int k = 0; k < A; k++) d[k] = _mm512_maskz_loadu_ps(live, mt + (k * A + l) * xs);
        stage(z, d, at, A, 1, M, A);
#pragma GCC unroll 7
        for (int rr = 0; rr < M; rr++) _mm512_storeu_ps(buf + (rr * A + l) * LANES, z[rr]);
    }
    for (int rr = 0; rr < M; rr++) { /* along x: out[rr][cc] = bias + sum_l AT[cc][l] buf[rr][l] */
        __m512 d[A], z[M];
#pragma GCC unroll 9
        for (int l = 0; l < A; l++) d[l] = _mm512_loadu_ps(buf + (rr * A + l) * LANES);
        d[1] = _mm512_add_ps(d[1], _mm512_set1_ps(bias));
        stage(z, d, at, A, 1, M, A);
#pragma GCC unroll 7
        for (int cc = 0; cc < M; cc++) _mm512_storeu_ps(out + (rr * M + cc) * LANES, z[cc]);
    }
    /* output column ox of a row: phase cc = ox % 7 of tile tx = ox / 7: out index cc*16 + tx (+ the
     * row's phase and tile row) */
    const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int64_t q = 0; q < nplanes; q++) {
        float *yp = y + q * stride;
        const float *ap = add ? add + q * stride : NULL;
        for (int64_t c0 = 0; c0 < width; c0 += LANES) {
            __m512i ox = _mm512_add_epi32(iota, _mm512_set1_epi32((int)c0));
            __m512i tx = _mm512_srli_epi32(_mm512_mullo_epi32(ox, _mm512_set1_epi32(9363)), 16); /* ox / 7 (exact below 21845; ox < 112) */
            __m512i cc = _mm512_sub_epi32(ox, _mm512_mullo_epi32(tx, _mm512_set1_epi32(M)));
            __m512i col = _mm512_add_epi32(_mm512_slli_epi32(cc, 4), tx);
            __mmask16 mk = first_lanes(width - c0);
            for (int64_t oy = 0; oy < h; oy++) {
                int64_t ty = oy / M, rr = oy % M;
                __m512i idx = _mm512_add_epi32(col, _mm512_set1_epi32((int)(rr * M * LANES + q * t + ty * tw)));
                __m512 row = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mk, idx, out, 4);
                if (ap) row = _mm512_add_ps(row, _mm512_maskz_loadu_ps(mk, ap + oy * width + c0));
                _mm512_mask_storeu_ps(yp + oy * width + c0, mk, row);
            }
        }
    }
}

void nvp_winograd_f7_output_avx512(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h,
                                   int64_t width, float bias, const float *add, float *work) {
    int64_t th = (h + M - 1) / M, tw = (width + M - 1) / M, t = th * tw, per = LANES / t;
    for (int64_t j0 = 0; j0 < planes; j0 += per) {
        int64_t np = planes - j0 < per ? planes - j0 : per;
        output_group(y + j0 * stride, stride, np, mt + j0 * t, xs, h, width, t, tw, bias,
                     add ? add + j0 * stride : NULL, first_lanes(np * t), work);
    }
}
