/*
 * reshape.c -- moving values between channels and pixels without arithmetic: channel slices
 * (split, concat, factor-out) and the two squeezes of the multi-scale architecture (Real NVP
 * Sec. 3.6; docs/REFERENCE.md 2.2). Memory moves only, so there is no AVX2 twin; the loops are split
 * over the batch.
 */
#include "reshape_internal.h"

#include <string.h>

#define OMP_MIN 32768 /* elements below which a parallel region costs more than it saves */

// dst: (N, dst_c, HW); src: (N, src_c, HW)
nvp_status nvp_copy_channels(float *dst, int64_t dst_c, int64_t dst_first, const float *src, int64_t src_c,
                             int64_t src_first, int64_t count, int64_t n, int64_t hw, int accumulate) {
    const char *fn = "nvp_copy_channels";
    NVP_CHECK_SIZE(fn, n);
    NVP_CHECK_SIZE(fn, hw);
    NVP_CHECK_SIZE(fn, count);
    NVP_CHECK_SIZE(fn, dst_c);
    NVP_CHECK_SIZE(fn, src_c);
    if (src_first < 0 || src_first + count > src_c)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: channels [%lld, %lld) are outside src (%lld,%lld,%lld)", fn,
                        (long long)src_first, (long long)(src_first + count), (long long)n, (long long)src_c,
                        (long long)hw);
    if (dst_first < 0 || dst_first + count > dst_c)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: channels [%lld, %lld) are outside dst (%lld,%lld,%lld)", fn,
                        (long long)dst_first, (long long)(dst_first + count), (long long)n, (long long)dst_c,
                        (long long)hw);
    const int64_t block = count * hw; /* the channels of one sample are contiguous */
    if (n * block == 0) return NVP_OK;
    NVP_CHECK_PTR(fn, dst);
    NVP_CHECK_PTR(fn, src);
#pragma omp parallel for schedule(static) if (n * block > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        float *d = dst + (b * dst_c + dst_first) * hw;
        const float *s = src + (b * src_c + src_first) * hw;
        if (accumulate)
            for (int64_t i = 0; i < block; i++) d[i] += s[i];
        else
            memmove(d, s, (size_t)block * sizeof *d);
    }
    return NVP_OK;
}

/* Pixel offsets (dy, dx) of the four channel blocks of squeeze order 1 ("B"). */
static const int order_b_dy[4] = {0, 1, 0, 1};
static const int order_b_dx[4] = {0, 1, 1, 0};

/* Checks shared by squeeze and unsqueeze (and reshape_avx2.c); x is (N,C,H,W), the unsqueezed side. */
nvp_status nvp_check_squeeze(const char *fn, const float *out, const float *in, int64_t n, int64_t c, int64_t h,
                                int64_t w, int order) {
    NVP_CHECK_SIZE(fn, n);
    NVP_CHECK_SIZE(fn, c);
    NVP_CHECK_SIZE(fn, h);
    NVP_CHECK_SIZE(fn, w);
    if (order != 0 && order != 1)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: order = %d (expected 0 for A or 1 for B)", fn, order);
    if (h % 2 != 0 || w % 2 != 0)
        return nvp_fail(NVP_STATUS_BAD_SHAPE, "%s: x (%lld,%lld,%lld,%lld) needs an even height and width", fn,
                        (long long)n, (long long)c, (long long)h, (long long)w);
    if (n * c * h * w > 0 && (out == NULL || in == NULL))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: a tensor argument is NULL", fn);
    return NVP_OK;
}

/* Moves one sample between x (C,H,W) and y (4C,H/2,W/2); to_y picks the direction. */
static void squeeze_sample(float *x, float *y, int64_t c, int64_t h, int64_t w, int order, int to_y) {
    const int64_t h2 = h / 2, w2 = w / 2;
    for (int64_t ch = 0; ch < c; ch++)
        for (int q = 0; q < 4; q++) {
            int dy = order == 0 ? q >> 1 : order_b_dy[q], dx = order == 0 ? q & 1 : order_b_dx[q];
            int64_t yc = order == 0 ? 4 * ch + q : q * c + ch;
            float *yp = y + yc * h2 * w2;
            for (int64_t i = 0; i < h2; i++) {
                float *xr = x + (ch * h + 2 * i + dy) * w + dx;
                float *yr = yp + i * w2;
                if (to_y)
                    for (int64_t j = 0; j < w2; j++) yr[j] = xr[2 * j];
                else
                    for (int64_t j = 0; j < w2; j++) xr[2 * j] = yr[j];
            }
        }
}

// x: (N,C,H,W) -> y: (N,4C,H/2,W/2)
nvp_status nvp_squeeze_ref(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int order) {
    nvp_status e = nvp_check_squeeze("nvp_squeeze", y, x, n, c, h, w, order);
    if (e) return e;
    const int64_t per = c * h * w;
#pragma omp parallel for schedule(static) if (n * per > OMP_MIN)
    for (int64_t b = 0; b < n; b++) squeeze_sample((float *)(x + b * per), y + b * per, c, h, w, order, 1);
    return NVP_OK;
}

// y: (N,4C,H/2,W/2) -> x: (N,C,H,W)
nvp_status nvp_unsqueeze_ref(float *x, const float *y, int64_t n, int64_t c, int64_t h, int64_t w, int order) {
    nvp_status e = nvp_check_squeeze("nvp_unsqueeze", x, y, n, c, h, w, order);
    if (e) return e;
    const int64_t per = c * h * w;
#pragma omp parallel for schedule(static) if (n * per > OMP_MIN)
    for (int64_t b = 0; b < n; b++) squeeze_sample(x + b * per, (float *)(y + b * per), c, h, w, order, 0);
    return NVP_OK;
}

/* ---- the op table: the public entries call the chosen path through it ---- */

typedef struct reshape_ops {
    __typeof__(nvp_squeeze_ref) *squeeze;
    __typeof__(nvp_unsqueeze_ref) *unsqueeze;
} reshape_ops;
static const reshape_ops ref_ops = {
    .squeeze = nvp_squeeze_ref,
    .unsqueeze = nvp_unsqueeze_ref,
};
static const reshape_ops avx2_ops = {
    .squeeze = nvp_squeeze_avx2,
    .unsqueeze = nvp_unsqueeze_avx2,
};
static const reshape_ops *ops = &ref_ops; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_reshape_select(nvp_isa isa) { ops = isa >= NVP_ISA_AVX2 ? &avx2_ops : &ref_ops; }

nvp_status nvp_squeeze(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int order) {
    return ops->squeeze(y, x, n, c, h, w, order);
}

nvp_status nvp_unsqueeze(float *x, const float *y, int64_t n, int64_t c, int64_t h, int64_t w, int order) {
    return ops->unsqueeze(x, y, n, c, h, w, order);
}
