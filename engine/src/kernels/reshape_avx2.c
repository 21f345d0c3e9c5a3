/*
 * reshape_avx2.c -- AVX2 twins of the squeezes in reshape.c. Both orders move, for every channel c
 * and row offset dy, one input row x[c, 2Y+dy, :] to two output rows: its even columns (dx = 0) and
 * its odd columns (dx = 1). So squeeze is a deinterleave of each row and unsqueeze an interleave;
 * only which output channel a (dy, dx) lands in differs between orders A and B (see nvp.h).
 * Compiled with -mavx2 -mfma (this file only); every vector loop ends with a scalar tail.
 */
#include "reshape_internal.h"
#include "interleave_avx2.h"

#include <immintrin.h>

#define OMP_MIN 32768

/* The squeezed channel of input channel ch at pixel offset (dy, dx). Order B's blocks are the offsets
 * (0,0), (1,1), (0,1), (1,0) in that order. */
static inline int64_t squeezed_channel(int order, int64_t c, int64_t ch, int dy, int dx) {
    static const int block_b[2][2] = {{0, 2}, {3, 1}};
    return order == 0 ? 4 * ch + 2 * dy + dx : block_b[dy][dx] * c + ch;
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
                    deinterleave2(y0 + i * w2, y1 + i * w2, xr, w2);
                else
                    interleave2(xr, y0 + i * w2, y1 + i * w2, w2);
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
