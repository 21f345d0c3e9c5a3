/*
 * reshape_avx2.c -- AVX2 twins of the squeezes in reshape.c. Both orders move, for every channel c
 * and row offset dy, one input row x[c, 2Y+dy, :] to two output rows: its even columns (dx = 0) and
 * its odd columns (dx = 1). So squeeze is a deinterleave of each row and unsqueeze an interleave;
 * only which output channel a (dy, dx) lands in differs between orders A and B (see nvp.h).
 * Compiled with -mavx2 -mfma (this file only); every vector loop ends with a scalar tail.
 */
#include "internal.h"

#include <immintrin.h>

nvp_status nvp_check_squeeze(const char *fn, const float *out, const float *in, int64_t n, int64_t c, int64_t h,
                             int64_t w, int order);

#define OMP_MIN 32768

/* The squeezed channel of input channel ch at pixel offset (dy, dx). Order B's blocks are the offsets
 * (0,0), (1,1), (0,1), (1,0) in that order. */
static inline int64_t squeezed_channel(int order, int64_t c, int64_t ch, int dy, int dx) {
    static const int block_b[2][2] = {{0, 2}, {3, 1}};
    return order == 0 ? 4 * ch + 2 * dy + dx : block_b[dy][dx] * c + ch;
}

/* even[j] = row[2j], odd[j] = row[2j+1], j < w2. Reads row[0 .. 2 w2) only. */
static inline void deinterleave(float *restrict even, float *restrict odd, const float *restrict row, int64_t w2) {
    int64_t j = 0;
    for (; j + 8 <= w2; j += 8) {
        __m256 a = _mm256_loadu_ps(row + 2 * j), b = _mm256_loadu_ps(row + 2 * j + 8);
        __m256 e = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
        __m256 o = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1));
        _mm256_storeu_ps(even + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0))));
        _mm256_storeu_ps(odd + j, _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0))));
    }
    for (; j < w2; j++) {
        even[j] = row[2 * j];
        odd[j] = row[2 * j + 1];
    }
}

/* row[2j] = even[j], row[2j+1] = odd[j], j < w2. */
static inline void interleave(float *restrict row, const float *restrict even, const float *restrict odd, int64_t w2) {
    int64_t j = 0;
    for (; j + 8 <= w2; j += 8) {
        __m256 e = _mm256_loadu_ps(even + j), o = _mm256_loadu_ps(odd + j);
        __m256 lo = _mm256_unpacklo_ps(e, o), hi = _mm256_unpackhi_ps(e, o); /* e0 o0 e1 o1 | e4 o4 e5 o5 */
        _mm256_storeu_ps(row + 2 * j, _mm256_permute2f128_ps(lo, hi, 0x20));
        _mm256_storeu_ps(row + 2 * j + 8, _mm256_permute2f128_ps(lo, hi, 0x31));
    }
    for (; j < w2; j++) {
        row[2 * j] = even[j];
        row[2 * j + 1] = odd[j];
    }
}

/* One sample: x (C,H,W) <-> y (4C,H/2,W/2); to_y picks the direction. */
static void squeeze_sample_avx2(float *x, float *y, int64_t c, int64_t h, int64_t w, int order, int to_y) {
    const int64_t h2 = h / 2, w2 = w / 2, plane = h2 * w2;
    for (int64_t ch = 0; ch < c; ch++)
        for (int dy = 0; dy < 2; dy++) {
            float *y0 = y + squeezed_channel(order, c, ch, dy, 0) * plane;
            float *y1 = y + squeezed_channel(order, c, ch, dy, 1) * plane;
            for (int64_t i = 0; i < h2; i++) {
                float *xr = x + (ch * h + 2 * i + dy) * w;
                if (to_y)
                    deinterleave(y0 + i * w2, y1 + i * w2, xr, w2);
                else
                    interleave(xr, y0 + i * w2, y1 + i * w2, w2);
            }
        }
}

nvp_status nvp_squeeze_avx2(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int order) {
    nvp_status e = nvp_check_squeeze("nvp_squeeze", y, x, n, c, h, w, order);
    if (e) return e;
    const int64_t per = c * h * w;
#pragma omp parallel for schedule(static) if (n * per > OMP_MIN)
    for (int64_t b = 0; b < n; b++) squeeze_sample_avx2((float *)(x + b * per), y + b * per, c, h, w, order, 1);
    return NVP_OK;
}

nvp_status nvp_unsqueeze_avx2(float *x, const float *y, int64_t n, int64_t c, int64_t h, int64_t w, int order) {
    nvp_status e = nvp_check_squeeze("nvp_unsqueeze", x, y, n, c, h, w, order);
    if (e) return e;
    const int64_t per = c * h * w;
#pragma omp parallel for schedule(static) if (n * per > OMP_MIN)
    for (int64_t b = 0; b < n; b++) squeeze_sample_avx2(x + b * per, (float *)(y + b * per), c, h, w, order, 0);
    return NVP_OK;
}
