/*
 * batchnorm_internal.h -- what batchnorm.c (the kernels, written once) and batchnorm_avx2.c (the AVX2
 * steps) share: not part of nvp.h, never exported. Every batch-norm kernel is composed of the per-channel
 * steps below; the current CPU path's table of them is chosen by nvp_batchnorm_select (internal.h).
 */
#ifndef NVP_BATCHNORM_INTERNAL_H
#define NVP_BATCHNORM_INTERNAL_H

#include "internal.h"

/* One CPU path's steps over channel ch of x, dy, dx: (N,C,HW) (channel ch of sample i is the row
 * x + (i*C + ch)*HW); sums in double. dyh = dy masked by the fused ReLU (when relu, recomputed from x),
 * xhat = (x - mean) invstd, scale = gamma invstd, b = beta. */
typedef struct nvp_batchnorm_steps {
    /* *s = sum of d, *q = sum of d^2 over the channel's N*HW values, d = x - center (the moments step) */
    void (*moments)(double *s, double *q, const float *x, int64_t n, int64_t c, int64_t hw, int64_t ch,
                    double center);
    /* *mu = the channel's mean, *q = the sum of squared deviations from it, by the moments step */
    void (*batch_stats)(double *mu, double *q, const float *x, int64_t n, int64_t c, int64_t hw, int64_t ch);
    /* y = (x - mean[ch]) (gamma[ch] invstd[ch]) + beta[ch], then max(0, .) when relu (the apply step), over
     * `images` images `image_stride` floats apart, each `channels` consecutive rows of hw values from the
     * row at y, x; mean, gamma, invstd, beta point at the first of those channels' entries */
    void (*affine)(float *y, const float *x, int64_t images, int64_t image_stride, int64_t channels, int64_t hw,
                   const float *mean, const float *gamma, const float *invstd, const float *beta, int relu);
    /* *sd = sum(dyh), *sdx = sum(dyh xhat) (the backward-sums step) */
    void (*grad_sums)(double *sd, double *sdx, const float *x, const float *dy, int64_t n, int64_t c, int64_t hw,
                      int64_t ch, float mean, float invstd, float scale, float b, int relu);
    /* dx (+)= k1 dyh + k2 xhat + k0, dx written without being read unless accumulate (the backward-apply
     * step) */
    void (*grad_apply)(float *dx, const float *x, const float *dy, int64_t n, int64_t c, int64_t hw, int64_t ch,
                       float mean, float invstd, float scale, float b, int relu, float k1, float k2, float k0,
                       int accumulate);
} nvp_batchnorm_steps;

/* batchnorm_avx2.c's steps (the avx2 and avx512 CPU paths). */
extern const nvp_batchnorm_steps nvp_batchnorm_steps_avx2;

#endif /* NVP_BATCHNORM_INTERNAL_H */
