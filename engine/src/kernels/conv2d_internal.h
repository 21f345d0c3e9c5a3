/* conv2d_internal.h -- what conv2d.c shares with conv2d_avx2.c and winograd.c. Not part of nvp.h. */
#ifndef NVP_CONV2D_INTERNAL_H
#define NVP_CONV2D_INTERNAL_H

#include "internal.h"

/* The argument checks of every conv entry point; `fn` is the dispatcher's name so the message is the
 * same whichever path runs. */
nvp_status nvp_conv2d_check_args(const char *fn, int backward, const float *y_or_dy, const float *x,
                                 const float *w, int need_x, int need_w, int64_t n, int64_t cin,
                                 int64_t cout, int64_t h, int64_t width, int64_t k);

/* act's four (Cin) arrays are there (when there is an input to apply it to; act NULL passes). */
nvp_status nvp_conv2d_check_act(const char *fn, const nvp_bn_relu *act, int64_t n, int64_t cin, int64_t p);

/* *xa = act(x) (N,Cin,P) in the calling thread's scratch slot 4, by `eval` (the batch norm of the
 * caller's path: nvp_batchnorm_forward_eval_ref or _avx2), for the paths that cannot apply act on
 * the fly (the direct loops, im2col, 1x1 GEMMs). */
nvp_status nvp_conv2d_activated_input(const char *fn, const float **xa, const float *x, const nvp_bn_relu *act,
                                      int64_t n, int64_t cin, int64_t p,
                                      nvp_status (*eval)(float *, const float *, const float *, const float *,
                                                         const float *, const float *, int64_t, int64_t, int64_t,
                                                         int));

/* conv2d_direct_avx512.c: the forward 3x3 conv of few input channels, direct, on a team of `team`
 * threads over the images; y = (accumulate ? y : 0) + conv(x) + b. Arguments already checked. */
nvp_status nvp_conv3x3_direct_avx512(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                     int64_t cout, int64_t h, int64_t width, int accumulate, int team);

#endif /* NVP_CONV2D_INTERNAL_H */
