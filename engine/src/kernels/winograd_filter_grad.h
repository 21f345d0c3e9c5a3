/*
 * winograd_filter_grad.h -- the dw reduction after the backward-filter pass (winograd.c's drivers:
 * nvp_winograd_transforms.filter_grad), a template by inclusion: the including file defines
 * FG_NAME(name) and includes this file once, so the loops below are vectorized with its flags
 * (winograd_ref.c: scalar, winograd_avx2.c: ymm, winograd_avx512.c: zmm). In winograd.c, built for
 * any x86-64, it was SSE: 3.3 % of a cifar-ref training step under F(8x8) (100 points per filter).
 */

/* The partials' sums are formed FG_COLS columns at a time along contiguous rows: one column at a time
 * walked alpha^2 rows rows*cols floats apart (16 KB at 64x64): 2.8 % of a training step in perf. Every
 * step runs over all FG_COLS lanes (zeros past the last column), so the loops have constant trips. */
enum { FG_COLS = 32 };

/* dw[r][c0 + q] (3x3) += G^T Mw G for q < nc, Mw[xi] = sums[xi][q]: each step over the columns at once
 * (vector lanes), in the same order of operations per column. */
static inline __attribute__((always_inline)) void FG_NAME(grad_cols)(float *dw, float (*sums)[FG_COLS], int64_t nc,
                                                                     const float *g, int a) {
    float t[NVP_WINOGRAD_ALPHA_MAX * 3][FG_COLS], acc[FG_COLS];
    for (int k = 0; k < a; k++) /* t (a, 3) = Mw G */
        for (int j = 0; j < 3; j++) {
            float *tt = t[k * 3 + j];
            for (int q = 0; q < FG_COLS; q++) tt[q] = 0.0f;
            for (int l = 0; l < a; l++) {
                const float gl = g[l * 3 + j], *sr = sums[k * a + l];
                for (int q = 0; q < FG_COLS; q++) tt[q] += sr[q] * gl;
            }
        }
    for (int i = 0; i < 3; i++) /* dw += G^T t */
        for (int j = 0; j < 3; j++) {
            for (int q = 0; q < FG_COLS; q++) acc[q] = 0.0f;
            for (int k = 0; k < a; k++) {
                const float gk = g[k * 3 + i], *tt = t[k * 3 + j];
                for (int q = 0; q < FG_COLS; q++) acc[q] += gk * tt[q];
            }
            for (int64_t q = 0; q < nc; q++) dw[q * 9 + i * 3 + j] += acc[q];
        }
}

/* dw[r][col] += G^T (sum over the threads' partials of Mw[.][r][col]) G, partials summed in order. */
static void FG_NAME(filter_grad)(float *dw, float *const *part, int nparts, int64_t r, int64_t rows, int64_t cols,
                                 int m) {
    const float *g = nvp_winograd_g[NVP_WINOGRAD_INDEX(m)];
    int a = m + 2;
    float sums[NVP_WINOGRAD_ALPHA_MAX * NVP_WINOGRAD_ALPHA_MAX][FG_COLS];
    for (int64_t c0 = 0; c0 < cols; c0 += FG_COLS) {
        int64_t nc = cols - c0 < FG_COLS ? cols - c0 : FG_COLS;
        for (int xi = 0; xi < a * a; xi++) {
            for (int q = 0; q < FG_COLS; q++) sums[xi][q] = 0.0f;
            for (int p = 0; p < nparts; p++) {
                if (part[p] == NULL) continue;
                const float *src = part[p] + (xi * rows + r) * cols + c0;
                for (int64_t q = 0; q < nc; q++) sums[xi][q] += src[q];
            }
        }
        FG_NAME(grad_cols)(dw + (r * cols + c0) * 9, sums, nc, g, a);
    }
}
