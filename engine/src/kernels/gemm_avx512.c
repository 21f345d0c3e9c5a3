/*
 * gemm_avx512.c -- the small single-threaded products of one thread's share, in AVX-512:
 *   C (m,n) [+]= A (m,k) * B (k,n)     nn: A read through (row, column) strides, so A or A^T
 *   C (m,n) [+]= A (m,k) * B^T          nt: B stored (n,k), row-major
 * Callers: the Winograd passes (alpha^2 products per chunk of tiles) and the 1x1 convolutions (one
 * product per image). Why our own: OpenBLAS (Debian 12's 0.3.21) runs its AVX2 kernels on this
 * machine (an AMD Zen 5 it does not know, or OPENBLAS_CORETYPE=Haswell) at half the FMA rate of
 * 512-bit vectors, and it packs both operands on every call, which these products, 36-64 per
 * chunk with K and M of 32-128, do not amortise. No packing here: B's rows are contiguous in
 * both layouts the callers have.
 *
 * nn micro-kernel: 8 rows x 32 columns of C in 16 zmm accumulators; per k, two loads of B's row
 * and 8 broadcasts of A's column. Rows past m re-read row m-1 and are not stored; columns past n
 * are masked, and a last panel of at most 16 columns runs with one zmm per row. The column panel of B (k x 32) stays in L1 while the row blocks pass over it.
 * nt: up to K = 512 (the Winograd backward-filter's tiles of a chunk), B is transposed into scratch
 * slot 3 by 16 x 16 register transposes and the nn kernel runs; beyond, or for n < 16, a dot-product
 * micro-kernel: 4 rows of A x 4 rows of B, 16 dot products over k in zmm lanes (masked tail),
 * reduced by a transpose-and-add tree to one zmm whose 128-bit chunk r holds C[r][0..3].
 *
 * Compiled with -mavx2 -mfma -mavx512f/cd/bw/dq/vl (CMakeLists.txt); reached only through
 * gemm.c's table on the avx512 CPU path (AVX-512 F/CD/BW/DQ/VL). The reference is nvp_gemm_ref (gemm.c).
 */
#include "gemm_internal.h"

#include <immintrin.h>

#define NN_MR 8
#define NN_NR 32

static inline __attribute__((always_inline)) void nn_block(int64_t k, const float *const *arow, int64_t a_cs,
                                                           const float *b, int64_t ldb, __mmask16 m0, __mmask16 m1,
                                                           int rows, int accumulate, float *c, int64_t ldc,
                                                           const float *next_panel, int64_t next_wide,
                                                           const int two) {
    /* two = 0 (a constant at each call): a last panel of at most 16 columns, one zmm per row */
    __m512 c0[NN_MR], c1[NN_MR];
    for (int r = 0; r < NN_MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
    /* ask for this block's lines of C now, for writing: the k steps below hide their arrival, which the
     * loads (accumulate) and stores at the end would otherwise wait for. A 1x1 conv's C is a tensor far
     * out of cache (the skip sums, +19 % on 64->64 @14x14), the Winograd products' M is in L2 (+1-10 %). */
    for (int r = 0; r < rows; r++) {
        const float *cr = c + r * ldc;
        __builtin_prefetch(cr, 1, 3);
        __builtin_prefetch(cr + 15, 1, 3);
        if (two) {
            __builtin_prefetch(cr + 16, 1, 3);
            __builtin_prefetch(cr + 31, 1, 3);
        }
    }
    for (int64_t p = 0; p < k; p++) {
        const float *bp = b + p * ldb;
        /* B's next 32 columns: k rows far apart are more streams than the hardware prefetcher follows
         * once B is out of cache (without a next panel, these re-touch this one: no branch here) */
        _mm_prefetch((const char *)(next_panel + p * ldb), _MM_HINT_T0);
        _mm_prefetch((const char *)(next_panel + p * ldb + next_wide), _MM_HINT_T0);
        __m512 b0 = _mm512_maskz_loadu_ps(m0, bp), b1 = two ? _mm512_maskz_loadu_ps(m1, bp + 16) : b0;
        for (int r = 0; r < NN_MR; r++) {
            __m512 av = _mm512_set1_ps(arow[r][p * a_cs]);
            c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
            if (two) c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
        }
    }
    for (int r = 0; r < NN_MR; r++) { /* a constant bound: c0[r] stays a register (a runtime one spills them) */
        if (r >= rows) break;
        float *cr = c + r * ldc;
        if (accumulate) {
            c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr));
            if (two) c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16));
        }
        _mm512_mask_storeu_ps(cr, m0, c0[r]);
        if (two) _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);
    }
}

static __mmask16 lane_mask(int64_t lanes) {
    if (lanes <= 0) return 0;
    return lanes >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << lanes) - 1u);
}

void nvp_gemm_nn_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs, const float *b,
                        int64_t ldb, int accumulate, float *c, int64_t ldc) {
    for (int64_t j = 0; j < n; j += NN_NR) {
        __mmask16 m0 = lane_mask(n - j), m1 = lane_mask(n - j - 16);
        for (int64_t i = 0; i < m; i += NN_MR) {
            const float *arow[NN_MR];
            int rows = m - i < NN_MR ? (int)(m - i) : NN_MR;
            for (int r = 0; r < NN_MR; r++) arow[r] = a + (i + (r < rows ? r : rows - 1)) * a_rs;
            /* prefetch only addresses inside B's rows: the next panel's second line only when it has one
             * (next_wide: its offset, else 0); without a next panel, the first row block re-touches this one */
            const float *next_panel = i == 0 && j + NN_NR < n ? b + j + NN_NR : b + j;
            int64_t next_wide = i == 0 && j + NN_NR + 16 < n ? 16 : 0;
            if (n - j > 16)
                nn_block(k, arow, a_cs, b + j, ldb, m0, m1, rows, accumulate, c + i * ldc + j, ldc, next_panel,
                         next_wide, 1);
            else
                nn_block(k, arow, a_cs, b + j, ldb, m0, m1, rows, accumulate, c + i * ldc + j, ldc, b + j, 0, 0);
        }
    }
}

/* One zmm whose lane 4r + q is the sum of the lanes of v[4r + q] (r, q in 0..3). */
static inline __m512 reduce16(const __m512 *v) {
    __m512 s2[8], s4[4];
    for (int i = 0; i < 8; i++) /* per 128-bit chunk: [x0+x2, y0+y2, x1+x3, y1+y3] of x = v[2i], y = v[2i+1] */
        s2[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) { /* per chunk: partial sums of v[4i .. 4i+3], in that order */
        __m512d x = _mm512_castps_pd(s2[2 * i]), y = _mm512_castps_pd(s2[2 * i + 1]);
        s4[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    /* chunks: t01 = [s4[0]c0+c1, s4[0]c2+c3, s4[1]c0+c1, s4[1]c2+c3], t23 likewise */
    __m512 t01 = _mm512_add_ps(_mm512_shuffle_f32x4(s4[0], s4[1], _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_shuffle_f32x4(s4[0], s4[1], _MM_SHUFFLE(3, 1, 3, 1)));
    __m512 t23 = _mm512_add_ps(_mm512_shuffle_f32x4(s4[2], s4[3], _MM_SHUFFLE(2, 0, 2, 0)),
                               _mm512_shuffle_f32x4(s4[2], s4[3], _MM_SHUFFLE(3, 1, 3, 1)));
    return _mm512_add_ps(_mm512_shuffle_f32x4(t01, t23, _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(t01, t23, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* dst (cols, rows) = src (rows, cols)^T, row strides lds and ldd: 16 x 16 blocks transposed in
 * registers (unpack 32-bit, unpack 64-bit, two 128-bit lane shuffles), masked at the edges. */
static void transpose_avx512(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t rows, int64_t cols) {
    for (int64_t i0 = 0; i0 < rows; i0 += 16) {
        int64_t nr = rows - i0 < 16 ? rows - i0 : 16;
        for (int64_t j0 = 0; j0 < cols; j0 += 16) {
            int64_t nc = cols - j0 < 16 ? cols - j0 : 16;
            __mmask16 in = lane_mask(nc), out = lane_mask(nr);
            __m512 r[16], t[16];
            for (int q = 0; q < 16; q++)
                r[q] = q < nr ? _mm512_maskz_loadu_ps(in, src + (i0 + q) * lds + j0) : _mm512_setzero_ps();
            for (int q = 0; q < 16; q += 2) { /* 2x2 blocks of 32-bit elements */
                t[q] = _mm512_unpacklo_ps(r[q], r[q + 1]);
                t[q + 1] = _mm512_unpackhi_ps(r[q], r[q + 1]);
            }
            for (int q = 0; q < 16; q += 4) { /* 4x4 blocks within each 128-bit lane */
                for (int e = 0; e < 2; e++) {
                    __m512d x = _mm512_castps_pd(t[q + e]), y = _mm512_castps_pd(t[q + 2 + e]);
                    r[q + e] = _mm512_castpd_ps(_mm512_unpacklo_pd(x, y));
                    r[q + 2 + e] = _mm512_castpd_ps(_mm512_unpackhi_pd(x, y));
                }
            }
            /* r[4g + s] now holds, in 128-bit lane L, column 4L + cs of rows 4g .. 4g+3, cs = 0, 2, 1, 3
             * for s = 0, 1, 2, 3 (the 64-bit unpacks above); output row 4L + cs = lane L of r[s],
             * r[4 + s], r[8 + s], r[12 + s] */
            static const int col_of[4] = {0, 2, 1, 3};
            for (int sidx = 0; sidx < 4; sidx++) {
                int cs = col_of[sidx];
                __m512 a01 = _mm512_shuffle_f32x4(r[sidx], r[4 + sidx], _MM_SHUFFLE(2, 0, 2, 0));
                __m512 b01 = _mm512_shuffle_f32x4(r[sidx], r[4 + sidx], _MM_SHUFFLE(3, 1, 3, 1));
                __m512 a23 = _mm512_shuffle_f32x4(r[8 + sidx], r[12 + sidx], _MM_SHUFFLE(2, 0, 2, 0));
                __m512 b23 = _mm512_shuffle_f32x4(r[8 + sidx], r[12 + sidx], _MM_SHUFFLE(3, 1, 3, 1));
                /* a01 = [r_s L0, r_s L2, r_4+s L0, r_4+s L2], a23 = [r_8+s L0, L2, r_12+s L0, L2] */
                t[cs] = _mm512_shuffle_f32x4(a01, a23, _MM_SHUFFLE(2, 0, 2, 0));      /* lane 0: row cs */
                t[8 + cs] = _mm512_shuffle_f32x4(a01, a23, _MM_SHUFFLE(3, 1, 3, 1));  /* lane 2: row 8 + cs */
                t[4 + cs] = _mm512_shuffle_f32x4(b01, b23, _MM_SHUFFLE(2, 0, 2, 0));  /* lane 1: row 4 + cs */
                t[12 + cs] = _mm512_shuffle_f32x4(b01, b23, _MM_SHUFFLE(3, 1, 3, 1)); /* lane 3: row 12 + cs */
            }
            for (int q = 0; q < nc; q++) _mm512_mask_storeu_ps(dst + (j0 + q) * ldd + i0, out, t[q]);
        }
    }
}

/* Below this K the 4x4 dot-product blocks spend as much on their reduction trees as on the
 * products (130 GFLOP/s per core at K = 64, 175 at 256, against 205 for A*B): transpose B once
 * into scratch slot 3 and run the A*B kernel instead. */
#define NT_VIA_TRANSPOSE_MAX_K 512

static void nt_dot_blocks(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
                          int accumulate, float *c, int64_t ldc);

void nvp_gemm_nt_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
                        int accumulate, float *c, int64_t ldc) {
    if (k <= NT_VIA_TRANSPOSE_MAX_K && n >= 16) {
        float *bt = nvp_scratch(3, (size_t)(k * n));
        if (bt != NULL) {
            transpose_avx512(bt, n, b, ldb, n, k);
            nvp_gemm_nn_avx512(m, n, k, a, lda, 1, bt, n, accumulate, c, ldc);
            return;
        }
        nvp_clear_error(); /* no memory for the copy: the dot-product blocks need none */
    }
    nt_dot_blocks(m, n, k, a, lda, b, ldb, accumulate, c, ldc);
}

static void nt_dot_blocks(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
                          int accumulate, float *c, int64_t ldc) {
    __mmask16 tail = lane_mask(k % 16);
    int64_t kv = k - k % 16;
    for (int64_t i = 0; i < m; i += 4) {
        int rows = m - i < 4 ? (int)(m - i) : 4;
        const float *ar[4];
        for (int r = 0; r < 4; r++) ar[r] = a + (i + (r < rows ? r : rows - 1)) * lda;
        for (int64_t j = 0; j < n; j += 4) {
            int cols = n - j < 4 ? (int)(n - j) : 4;
            const float *br[4];
            for (int q = 0; q < 4; q++) br[q] = b + (j + (q < cols ? q : cols - 1)) * ldb;
            __m512 acc[16];
            for (int e = 0; e < 16; e++) acc[e] = _mm512_setzero_ps();
            for (int64_t p = 0; p < kv; p += 16) {
                __m512 bv[4];
                for (int q = 0; q < 4; q++) bv[q] = _mm512_loadu_ps(br[q] + p);
                for (int r = 0; r < 4; r++) {
                    __m512 av = _mm512_loadu_ps(ar[r] + p);
                    for (int q = 0; q < 4; q++) acc[4 * r + q] = _mm512_fmadd_ps(av, bv[q], acc[4 * r + q]);
                }
            }
            if (tail) {
                __m512 bv[4];
                for (int q = 0; q < 4; q++) bv[q] = _mm512_maskz_loadu_ps(tail, br[q] + kv);
                for (int r = 0; r < 4; r++) {
                    __m512 av = _mm512_maskz_loadu_ps(tail, ar[r] + kv);
                    for (int q = 0; q < 4; q++) acc[4 * r + q] = _mm512_fmadd_ps(av, bv[q], acc[4 * r + q]);
                }
            }
            __m512 sums = reduce16(acc);
            __mmask8 cm = (__mmask8)((1u << cols) - 1u);
            for (int r = 0; r < rows; r++) {
                float *cr = c + (i + r) * ldc + j;
                __m128 s = _mm512_extractf32x4_ps(sums, 0);
                switch (r) { /* the chunk index must be a constant */
                case 1: s = _mm512_extractf32x4_ps(sums, 1); break;
                case 2: s = _mm512_extractf32x4_ps(sums, 2); break;
                case 3: s = _mm512_extractf32x4_ps(sums, 3); break;
                default: break;
                }
                if (accumulate) s = _mm_add_ps(s, _mm_maskz_loadu_ps(cm, cr));
                _mm_mask_storeu_ps(cr, cm, s);
            }
        }
    }
}
