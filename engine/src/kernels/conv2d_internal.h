/* conv2d_internal.h -- what the convolution's files share (conv2d_router.c picks among them; see its
 * header for the map). Not part of nvp.h, never exported. Every entry below takes checked arguments. */
#ifndef NVP_CONV2D_INTERNAL_H
#define NVP_CONV2D_INTERNAL_H

#include "internal.h"

/* The argument checks of every conv entry point; `fn` is the public entry's name so the message is the
 * same whichever algorithm runs. */
nvp_status nvp_conv2d_check_args(const char *fn, int backward, const float *y_or_dy, const float *x,
                                 const float *w, int need_x, int need_w, int64_t n, int64_t cin,
                                 int64_t cout, int64_t h, int64_t width, int64_t k);

/* act's four (Cin) arrays are there (when there is an input to apply it to; act NULL passes). */
nvp_status nvp_conv2d_check_act(const char *fn, const nvp_bn_relu *act, int64_t n, int64_t cin, int64_t p);

/* conv2d_direct.c, the scalar reference: y = (accumulate ? y : 0) + conv(x) + b; and dx (+)= , dw +=,
 * db += of it (each may be NULL), as nvp_conv2d_forward / nvp_conv2d_backward without act. */
nvp_status nvp_conv2d_forward_ref(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                  int64_t cout, int64_t h, int64_t width, int64_t k, int accumulate);
nvp_status nvp_conv2d_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                   int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k,
                                   int accumulate_dx);

/* conv2d_im2col_avx2.c: the same by im2col + GEMM; team > 0: images split over a team of that many
 * threads, single-threaded GEMMs; team 0: several images' columns side by side, threaded GEMMs. */
nvp_status nvp_conv2d_im2col_forward(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                     int64_t cout, int64_t h, int64_t width, int64_t k, int accumulate, int team);
/* A 1x1 conv's forward with fewer images than threads: the output channels split over a team of that many
 * threads, every image by nvp_gemm_small (the per-image variant's kernel, so the same bits). */
nvp_status nvp_conv2d_1x1_forward_split(float *y, const float *x, const float *w, const float *b, int64_t n,
                                        int64_t cin, int64_t cout, int64_t p, int accumulate, int team);
nvp_status nvp_conv2d_im2col_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                                      const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width,
                                      int64_t k, int accumulate_dx, int team);

/* conv2d_direct_avx512.c: the forward 3x3 conv, direct, on a team of `team` threads over the images;
 * y = (accumulate ? y : 0) + conv(x) + b. */
nvp_status nvp_conv3x3_direct_avx512(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                     int64_t cout, int64_t h, int64_t width, int accumulate, int team);

#endif /* NVP_CONV2D_INTERNAL_H */
