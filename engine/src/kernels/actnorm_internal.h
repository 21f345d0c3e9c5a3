/*
 * actnorm_internal.h -- what actnorm.c and actnorm_avx2.c share (not public): the argument check and
 * the per-path entry points, reached only through the dispatchers of actnorm.c (nvp_actnorm_*).
 */
#ifndef NVP_ACTNORM_INTERNAL_H
#define NVP_ACTNORM_INTERNAL_H

#include "internal.h"

#define NVP_HIDDEN __attribute__((visibility("hidden")))

NVP_HIDDEN nvp_status nvp_actnorm_check_(const char *fn, const void *out, const void *in, const float *logs,
                                         const float *bias, int64_t n, int64_t c, int64_t hw);

NVP_HIDDEN nvp_status nvp_actnorm_forward_ref(float *y, const float *x, const float *logs, const float *bias,
                                              int64_t n, int64_t c, int64_t hw, int relu);
NVP_HIDDEN nvp_status nvp_actnorm_forward_avx2(float *y, const float *x, const float *logs, const float *bias,
                                               int64_t n, int64_t c, int64_t hw, int relu);
NVP_HIDDEN nvp_status nvp_actnorm_inverse_ref(float *x, const float *y, const float *logs, const float *bias,
                                              int64_t n, int64_t c, int64_t hw);
NVP_HIDDEN nvp_status nvp_actnorm_inverse_avx2(float *x, const float *y, const float *logs, const float *bias,
                                               int64_t n, int64_t c, int64_t hw);
NVP_HIDDEN nvp_status nvp_actnorm_backward_ref(float *dx, float *dlogs, float *dbias, const float *dy,
                                               const float *x, const float *logs, const float *bias, int64_t n,
                                               int64_t c, int64_t hw, int relu, int accumulate_dx);
NVP_HIDDEN nvp_status nvp_actnorm_backward_avx2(float *dx, float *dlogs, float *dbias, const float *dy,
                                                const float *x, const float *logs, const float *bias, int64_t n,
                                                int64_t c, int64_t hw, int relu, int accumulate_dx);

#endif /* NVP_ACTNORM_INTERNAL_H */
