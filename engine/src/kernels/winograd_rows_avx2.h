/* winograd_rows_avx2.h -- the first two stages of the vector tile transforms, shared by
 * winograd_avx2.c and winograd_avx512.c (both compiled with -mavx2): the plane's rows copied into
 * zero-padded rows, then split by phase (see input_ref in winograd_ref.c for the layout). The rows are
 * short (W <= 64 in every model here), so these are AVX2 loops whatever the transform's width. */
#ifndef NVP_WINOGRAD_ROWS_AVX2_H
#define NVP_WINOGRAD_ROWS_AVX2_H

#include "interleave_avx2.h"

#include <immintrin.h>
#include <stdint.h>

/* dst[0..n) = src[0..n). The empty asm keeps GCC from calling memmove for these short rows (as in
 * conv2d_im2col_avx2.c's copy_row). */
static inline void copy_floats(float *restrict dst, const float *restrict src, int64_t n) {
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
        __asm__ volatile("");
    }
    for (; j < n; j++) {
        dst[j] = src[j];
        __asm__ volatile("");
    }
}

/* dst[0..n) = 0, likewise without a memset call. */
static inline void zero_floats(float *dst, int64_t n) {
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
        _mm256_storeu_ps(dst + j, _mm256_setzero_ps());
        __asm__ volatile("");
    }
    for (; j < n; j++) {
        dst[j] = 0.0f;
        __asm__ volatile("");
    }
}

/* Phase split of one row: q[r*stride + j] = src[m*j + r], j < stride, r < m (m = 2 or 4, a
 * compile-time constant at the callers; src has m*stride floats); e and o are temporaries of
 * 2*stride floats. */
static inline __attribute__((always_inline)) void split_phases(float *q, int64_t stride, const float *src, const int m,
                                                               float *e, float *o) {
    if (m == 2) {
        deinterleave2(q, q + stride, src, stride);
    } else {
        deinterleave2(e, o, src, 2 * stride);
        deinterleave2(q, q + 2 * stride, e, stride);
        deinterleave2(q + stride, q + 3 * stride, o, stride);
    }
}

/* The input transform's rows: q row yy (hp = m*TH + 2 rows of rw floats, rw >= m*sw, sw = TW + 1)
 * holds the zero-padded input row yy-1, padded column xx at phase xx % m, index xx/m; pad (hp rows
 * of rw) is the padded plane on the way. Each stage runs over the whole plane before the next
 * reads it (see winograd_avx2.c on store forwarding). */
static inline __attribute__((always_inline)) void input_rows(float *q, float *pad, const float *x, int64_t h,
                                                             int64_t width, const int m, int64_t sw, int64_t rw,
                                                             int64_t hp, float *e, float *o) {
    for (int64_t yy = 0; yy < hp; yy++) { /* pad row yy = input row yy-1 shifted right by one column */
        float *pr = pad + yy * rw;
        int64_t iy = yy - 1;
        if (iy < 0 || iy >= h) {
            zero_floats(pr, rw);
            continue;
        }
        pr[0] = 0.0f;
        copy_floats(pr + 1, x + iy * width, width);
        zero_floats(pr + width + 1, rw - width - 1);
    }
    for (int64_t yy = 0; yy < hp; yy++) {
        split_phases(q + yy * rw, sw, pad + yy * rw, m, e, o);
        zero_floats(q + yy * rw + m * sw, rw - m * sw);
    }
}

/* The gradient transform's rows: q row yy (m*TH rows of rw >= m*TW floats) holds dy row yy (zeros
 * past the edges), column m*j + r at phase r, index j. */
static inline __attribute__((always_inline)) void grad_rows(float *q, float *pad, const float *dy, int64_t h,
                                                            int64_t width, const int m, int64_t tw, int64_t rw,
                                                            int64_t rows, float *e, float *o) {
    for (int64_t yy = 0; yy < rows; yy++) {
        float *pr = pad + yy * rw;
        if (yy >= h) {
            zero_floats(pr, rw);
            continue;
        }
        copy_floats(pr, dy + yy * width, width);
        zero_floats(pr + width, rw - width);
    }
    for (int64_t yy = 0; yy < rows; yy++) {
        split_phases(q + yy * rw, tw, pad + yy * rw, m, e, o);
        zero_floats(q + yy * rw + m * tw, rw - m * tw);
    }
}

#endif
