/*
 * gemm_avx2.c -- the small single-threaded products of one thread's share, in AVX2 + FMA (the
 * avx2 twin of gemm_avx512.c, same callers and contract):
 *   C (m,n) [+]= A (m,k) * B (k,n)     nn: A read through (row, column) strides, so A or A^T
 *   C (m,n) [+]= A (m,k) * B^T          nt: B stored (n,k), row-major
 * Why our own: OpenBLAS packs both operands on every call, which the Winograd products (36-64 per
 * chunk of tiles, M and K of 32-128) and the 1x1 convolutions (one product per image) do not
 * amortise. No packing here: B's rows are contiguous in both layouts the callers have.
 *
 * nn micro-kernel: 6 rows x 16 columns of C in 12 ymm accumulators; per k, two loads of B's row
 * and 6 broadcasts of A's column (15 of the 16 ymm registers). The last rows run in blocks of 4 or 2
 * (block_rows); rows past m in a block re-read row m-1 and are not stored; a last panel of 8
 * columns runs with one ymm per row, and a ragged one (not a multiple of 8) loads B masked and
 * stores C through a small buffer (vmaskmovps stores are slow on AMD cores). K runs in blocks of KC so that the panel of B (KC x 16) stays in L1 while the row
 * blocks pass over it.
 * nt: B is transposed into scratch slot 3 by 8 x 8 register transposes and the nn kernel runs
 * (the transpose is 1/m of the multiply-adds).
 *
 * Compiled with -mavx2 -mfma (CMakeLists.txt); reached only through gemm.c's table on the avx2
 * CPU path. The reference is nvp_gemm_ref (gemm.c).
 */
#include "gemm_internal.h"

#include <immintrin.h>

#define NN_MR 6
#define NN_NR 16
#define NN_KC 256

#define INLINE static inline __attribute__((always_inline))

/* lanes [0, r) set: load 8 int32 from mask_table + 8 - r */
static const int32_t mask_table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

static __m256i lane_mask(int64_t lanes) {
    if (lanes <= 0) return _mm256_setzero_si256();
    if (lanes >= 8) return _mm256_set1_epi32(-1);
    return _mm256_loadu_si256((const __m256i *)(mask_table + 8 - lanes));
}

/* One block: rows (<= NN_MR) x cols of C. two: 16 columns in two ymm (else 8 in one); ragged: cols
 * is less than the vectors cover (masked B loads, C through a buffer). Both are constants at
 * every call, so each variant compiles to its own loop. */
INLINE void nn_block(int64_t k, const float *const *arow, int64_t a_cs, const float *b, int64_t ldb, int cols,
                     int rows, int accumulate, float *c, int64_t ldc, const int two, const int ragged, const int mr) {
    __m256 c0[NN_MR], c1[NN_MR];
    for (int r = 0; r < mr; r++) c0[r] = c1[r] = _mm256_setzero_ps();
    __m256i m0 = _mm256_set1_epi32(-1), m1 = m0;
    if (ragged) {
        m0 = lane_mask(cols);
        m1 = lane_mask(cols - 8);
    }
    for (int64_t p = 0; p < k; p++) {
        const float *bp = b + p * ldb;
        __m256 b0 = ragged && !two ? _mm256_maskload_ps(bp, m0) : _mm256_loadu_ps(bp); /* two: cols > 8 */
        __m256 b1 = b0;
        if (two) b1 = ragged ? _mm256_maskload_ps(bp + 8, m1) : _mm256_loadu_ps(bp + 8);
        for (int r = 0; r < mr; r++) {
            __m256 av = _mm256_broadcast_ss(arow[r] + p * a_cs);
            c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
            if (two) c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
        }
    }
    if (ragged) { /* every accumulator out first, at constant indices: a run-time row loop over them
                   * kept them in memory, stored on every k step */
        float t[NN_MR][NN_NR];
#pragma GCC unroll 6
        for (int r = 0; r < mr; r++) {
            _mm256_storeu_ps(t[r], c0[r]);
            if (two) _mm256_storeu_ps(t[r] + 8, c1[r]);
        }
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++) c[r * ldc + q] = accumulate ? c[r * ldc + q] + t[r][q] : t[r][q];
        return;
    }
#pragma GCC unroll 6
    for (int r = 0; r < mr; r++) { /* a constant bound: c0[r] stays a register */
        if (r >= rows) break;
        float *cr = c + r * ldc;
        if (accumulate) {
            c0[r] = _mm256_add_ps(c0[r], _mm256_loadu_ps(cr));
            if (two) c1[r] = _mm256_add_ps(c1[r], _mm256_loadu_ps(cr + 8));
        }
        _mm256_storeu_ps(cr, c0[r]);
        if (two) _mm256_storeu_ps(cr + 8, c1[r]);
    }
}

/* nn_block for the panel's width: cols a run-time value, each variant its own loop. */
INLINE void nn_cols(int64_t k, const float *const *arow, int64_t a_cs, const float *b, int64_t ldb, int cols,
                    int rows, int accumulate, float *c, int64_t ldc, const int mr) {
    if (cols == 16)
        nn_block(k, arow, a_cs, b, ldb, cols, rows, accumulate, c, ldc, 1, 0, mr);
    else if (cols > 8)
        nn_block(k, arow, a_cs, b, ldb, cols, rows, accumulate, c, ldc, 1, 1, mr);
    else if (cols == 8)
        nn_block(k, arow, a_cs, b, ldb, cols, rows, accumulate, c, ldc, 0, 0, mr);
    else
        nn_block(k, arow, a_cs, b, ldb, cols, rows, accumulate, c, ldc, 0, 1, mr);
}

/* Rows of the next block when `left` rows remain: 6, but the last 8 as 4 + 4 (M = 32: 6 blocks of 6
 * computed 36 rows) and a tail of 1-4 rows in a block of 2 or 4 (nn_cols' mr; 5 runs as 6). A 4-row
 * block still has 8 independent accumulators, enough to keep both FMA pipes busy. */
static inline int64_t block_rows(int64_t left) {
    if (left == 8) return 4;
    return left < NN_MR ? left : NN_MR;
}

/* Whether B's panel (k rows of 16 floats at stride ldb) must be copied to stay in L1 while the row
 * blocks pass over it. A row stride of a multiple of 64 bytes reaches only 64 / gcd(lines, 64) of the
 * L1's 64 sets (32-48 KB, 8-12 ways): 1 KB (a 16x16 plane, the 1x1 convs' B) reaches 4 sets, 32 rows
 * at 8 ways, and a taller panel evicts itself on every row block. Copying costs k x 16 loads and
 * stores per panel against m / 6 passes over it, so only when more than one row block reads it. */
static int nn_panel_conflicts(int64_t m, int64_t k, int64_t ldb) {
    if (m <= NN_MR || (ldb * 4) % 64 != 0) return 0;
    int64_t lines = (ldb * 4 / 64) % 64, g = 64;
    for (int64_t r = lines; r != 0;) { /* g = gcd(lines, 64) */
        int64_t t = g % r;
        g = r;
        r = t;
    }
    return k > (64 / g) * 8 / 2; /* half the ways: A's rows and C share the L1 */
}

/* One K block over all of C: A's columns [0, k) from a, B's rows from b. */
static void nn_kblock(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs, const float *b,
                      int64_t ldb, int accumulate, float *c, int64_t ldc) {
    float *panel = NULL;
    if (nn_panel_conflicts(m, k, ldb) && (panel = nvp_scratch(5, (size_t)(k * NN_NR))) == NULL)
        nvp_clear_error(); /* no memory for the panel: B is read in place, slower but right */
    for (int64_t j = 0; j < n; j += NN_NR) {
        int cols = n - j < NN_NR ? (int)(n - j) : NN_NR;
        const float *bj = b + j;
        int64_t ldbj = ldb;
        if (panel != NULL) { /* rows of 16 floats back to back: every L1 set in turn */
            for (int64_t p = 0; p < k; p++) {
                const float *src = b + p * ldb + j;
                float *dst = panel + p * NN_NR;
                if (cols == NN_NR) {
                    _mm256_storeu_ps(dst, _mm256_loadu_ps(src));
                    _mm256_storeu_ps(dst + 8, _mm256_loadu_ps(src + 8));
                } else {
                    for (int q = 0; q < cols; q++) dst[q] = src[q];
                }
            }
            bj = panel;
            ldbj = NN_NR;
        }
        for (int64_t i = 0, rows; i < m; i += rows) {
            const float *arow[NN_MR];
            rows = block_rows(m - i);
            for (int r = 0; r < NN_MR; r++) arow[r] = a + (i + (r < rows ? r : rows - 1)) * a_rs;
            float *cb = c + i * ldc + j;
            if (rows > 4)
                nn_cols(k, arow, a_cs, bj, ldbj, cols, (int)rows, accumulate, cb, ldc, NN_MR);
            else if (rows > 2)
                nn_cols(k, arow, a_cs, bj, ldbj, cols, (int)rows, accumulate, cb, ldc, 4);
            else
                nn_cols(k, arow, a_cs, bj, ldbj, cols, (int)rows, accumulate, cb, ldc, 2);
        }
    }
}

void nvp_gemm_nn_avx2(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs, const float *b,
                      int64_t ldb, int accumulate, float *c, int64_t ldc) {
    if (k == 0) { /* C = 0 (or unchanged): no K block runs */
        if (!accumulate)
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) c[i * ldc + j] = 0.0f;
        return;
    }
    for (int64_t p0 = 0; p0 < k; p0 += NN_KC) {
        int64_t kc = k - p0 < NN_KC ? k - p0 : NN_KC;
        nn_kblock(m, n, kc, a + p0 * a_cs, a_rs, a_cs, b + p0 * ldb, ldb, accumulate || p0 > 0, c, ldc);
    }
}

/* dst (8 x 8, row stride ldd) = src (8 x 8, row stride lds)^T in registers. */
INLINE void transpose8x8(float *dst, int64_t ldd, const float *src, int64_t lds) {
    __m256 r[8], t[8], s[8];
    for (int q = 0; q < 8; q++) r[q] = _mm256_loadu_ps(src + q * lds);
    for (int q = 0; q < 8; q += 2) { /* 2x2 blocks of 32-bit elements */
        t[q] = _mm256_unpacklo_ps(r[q], r[q + 1]);
        t[q + 1] = _mm256_unpackhi_ps(r[q], r[q + 1]);
    }
    for (int q = 0; q < 8; q += 4) { /* 4x4 blocks within each 128-bit lane */
        s[q] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(1, 0, 1, 0));
        s[q + 1] = _mm256_shuffle_ps(t[q], t[q + 2], _MM_SHUFFLE(3, 2, 3, 2));
        s[q + 2] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(1, 0, 1, 0));
        s[q + 3] = _mm256_shuffle_ps(t[q + 1], t[q + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int q = 0; q < 4; q++) { /* s[q]: columns q (low lane) and 4 + q (high lane) of rows 0-3; s[4 + q]: rows 4-7 */
        _mm256_storeu_ps(dst + q * ldd, _mm256_permute2f128_ps(s[q], s[4 + q], 0x20));
        _mm256_storeu_ps(dst + (4 + q) * ldd, _mm256_permute2f128_ps(s[q], s[4 + q], 0x31));
    }
}

/* dst (cols, rows) = src (rows, cols)^T: 8 x 8 blocks in registers, the edges element by element. */
static void transpose_avx2(float *dst, int64_t ldd, const float *src, int64_t lds, int64_t rows, int64_t cols) {
    int64_t rows8 = rows - rows % 8, cols8 = cols - cols % 8;
    for (int64_t i0 = 0; i0 < rows8; i0 += 8)
        for (int64_t j0 = 0; j0 < cols8; j0 += 8) transpose8x8(dst + j0 * ldd + i0, ldd, src + i0 * lds + j0, lds);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = i < rows8 ? cols8 : 0; j < cols; j++) dst[j * ldd + i] = src[i * lds + j];
}

void nvp_gemm_nt_avx2(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
                      int accumulate, float *c, int64_t ldc) {
    float *bt = nvp_scratch(3, (size_t)(k * n > 0 ? k * n : 1));
    if (bt == NULL) { /* no memory for the copy: B^T read through strides, one column of C at a time */
        nvp_clear_error();
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) {
                float s = 0.0f;
                for (int64_t p = 0; p < k; p++) s += a[i * lda + p] * b[j * ldb + p];
                c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
            }
        return;
    }
    transpose_avx2(bt, n, b, ldb, n, k);
    nvp_gemm_nn_avx2(m, n, k, a, lda, 1, bt, n, accumulate, c, ldc);
}
