/*
 * conv2d_direct_avx512.c -- the forward 3x3 convolution of few input channels (the s/t networks'
 * first conv: 2n = 2-12 channels after the concatenated ReLU) as direct loops in registers.
 *
 * im2col + GEMM is short in K there (K = 9*Cin = 18-36): its packing and its stores of partial tiles
 * dominate and it ran at sgemm's speed (figures: experiments/results/conv_tuning.md). Here
 * a zmm holds 16 output columns of one output row, and a block of 4 output rows x 4 output channels
 * stays in registers while the input rows stream past (rows_block). The input rows stay in L1 across
 * the channel blocks; the output is written once, with no im2col copy.
 *
 *   y[i,o,oy,ox] = (accumulate ? y : 0) + b[o] + sum_{c,kh,kw} w[o,c,kh,kw] x[i,c,oy+kh-1,ox+kw-1]
 *
 * Compiled with -mavx512f/...; called by conv2d_router.c only on the avx512 CPU path, after the
 * argument checks. The reference is conv2d_direct.c's loops.
 */
#include "conv2d_internal.h"

#include <immintrin.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define INLINE static inline __attribute__((always_inline))
enum { ROWS = 4, OUT_BLOCK = 4 }; /* output rows and channels per register block (16 zmm) */

static inline __mmask16 lanes_between(int64_t lo, int64_t hi) {
    if (hi <= lo) return 0;
    uint32_t bits = (hi - lo >= 16 ? 0xFFFFu : ((1u << (hi - lo)) - 1u)) << lo;
    return (__mmask16)bits;
}

/* Output rows oy0 .. oy0 + nr - 1 (nr <= ROWS), columns x0 .. x0 + 15 (`out` the valid lanes), channels
 * ob .. ob + nb - 1 (nb <= OUT_BLOCK) of one image: ROWS x OUT_BLOCK accumulators in registers. For each
 * input channel and kw, the 3 x nb weights are broadcast once into registers, and each of the nr + 2
 * input rows the block reads is loaded once (shifted by kw - 1, the mask being the padding) and
 * multiplied into every output row it reaches (kh = input row - output row + 1 in 0..2): 12 broadcasts
 * and 6 loads feed 48 FMAs, where one output row at a time needed a broadcast per FMA. */
INLINE void rows_block(float *yi, const float *xi, const float *w, const float *b, int64_t cin, int64_t h,
                       int64_t width, int64_t oy0, int nr, int64_t x0, int64_t ob, const int nb,
                       const __mmask16 tap_mask[3], __mmask16 out, int accumulate) {
    const int64_t p = h * width;
    /* ask for the output lines now (for writing): the block's FMAs hide the wait for their ownership,
     * which the stores at the end would otherwise stall on (the output is too large to be cached) */
    for (int r = 0; r < nr; r++)
        for (int j = 0; j < nb; j++) {
            const float *yr = yi + (ob + j) * p + (oy0 + r) * width + x0;
            __builtin_prefetch(yr, 1, 3);
            __builtin_prefetch(yr + 15, 1, 3);
        }
    __m512 acc[ROWS][OUT_BLOCK];
#pragma GCC unroll 4
    for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 4
        for (int j = 0; j < nb; j++) {
            __m512 init = _mm512_set1_ps(b ? b[ob + j] : 0.0f);
            if (accumulate && r < nr)
                init = _mm512_add_ps(init, _mm512_maskz_loadu_ps(out, yi + (ob + j) * p + (oy0 + r) * width + x0));
            acc[r][j] = init;
        }
    for (int64_t c = 0; c < cin; c++) {
        const float *xc = xi + c * p + x0 - 1; /* tap kw of input row iy: xc + iy * width + kw */
#pragma GCC unroll 3
        for (int kw = 0; kw < 3; kw++) {
            __m512 wv[3][OUT_BLOCK];
#pragma GCC unroll 3
            for (int kh = 0; kh < 3; kh++)
#pragma GCC unroll 4
                for (int j = 0; j < nb; j++) wv[kh][j] = _mm512_set1_ps(w[((ob + j) * cin + c) * 9 + kh * 3 + kw]);
#pragma GCC unroll 6
            for (int q = 0; q < ROWS + 2; q++) { /* input row oy0 - 1 + q */
                int64_t iy = oy0 - 1 + q;
                if (iy < 0 || iy >= h || q > nr + 1) continue;
                __m512 v = _mm512_maskz_loadu_ps(tap_mask[kw], xc + iy * width + kw);
#pragma GCC unroll 4
                for (int r = 0; r < ROWS; r++) {
                    const int kh = q - r;
                    if (kh < 0 || kh > 2) continue;
#pragma GCC unroll 4
                    for (int j = 0; j < nb; j++) acc[r][j] = _mm512_fmadd_ps(v, wv[kh][j], acc[r][j]);
                }
            }
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < ROWS; r++)
        if (r < nr)
#pragma GCC unroll 4
            for (int j = 0; j < nb; j++)
                _mm512_mask_storeu_ps(yi + (ob + j) * p + (oy0 + r) * width + x0, out, acc[r][j]);
}

static void image(float *yi, const float *xi, const float *w, const float *b, int64_t cin, int64_t cout, int64_t h,
                  int64_t width, int accumulate) {
    for (int64_t oy0 = 0; oy0 < h; oy0 += ROWS) {
        int nr = (int)(h - oy0 < ROWS ? h - oy0 : ROWS);
        for (int64_t x0 = 0; x0 < width; x0 += 16) {
            int64_t cols = width - x0 < 16 ? width - x0 : 16;
            __mmask16 out = lanes_between(0, cols), tap_mask[3];
            for (int kw = 0; kw < 3; kw++) { /* lane l reads column x0 + l + kw - 1: inside [0, width) */
                int64_t lo = 1 - kw - x0 > 0 ? 1 - kw - x0 : 0, hi = width - x0 - kw + 1;
                tap_mask[kw] = lanes_between(lo, hi < cols ? hi : cols);
            }
            int64_t ob = 0;
            for (; ob + OUT_BLOCK <= cout; ob += OUT_BLOCK)
                rows_block(yi, xi, w, b, cin, h, width, oy0, nr, x0, ob, OUT_BLOCK, tap_mask, out, accumulate);
            for (; ob < cout; ob++) rows_block(yi, xi, w, b, cin, h, width, oy0, nr, x0, ob, 1, tap_mask, out, accumulate);
        }
    }
}

nvp_status nvp_conv3x3_direct_avx512(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                     int64_t cout, int64_t h, int64_t width, int accumulate, int team) {
    int64_t p = h * width;
#pragma omp parallel for schedule(static) num_threads(team) if (team > 1)
    for (int64_t i = 0; i < n; i++) image(y + i * cout * p, x + i * cin * p, w, b, cin, cout, h, width, accumulate);
    return NVP_OK;
}
