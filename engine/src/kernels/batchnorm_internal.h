/*
 * batchnorm_internal.h -- what batchnorm.c and batchnorm_avx2.c share (batch normalisation): not part of
 * nvp.h, never exported. The ISA variants below sit behind the op table in batchnorm.c (filled by
 * nvp_batchnorm_select); the public entries of nvp.h are the only way in from outside the engine, and
 * specs switch paths with nvp_set_cpu_path. Each variant keeps the contract of its public entry.
 */
#ifndef NVP_BATCHNORM_INTERNAL_H
#define NVP_BATCHNORM_INTERNAL_H

#include "internal.h"

/* Shared by batchnorm.c and its vector twin; each
 * message names the public entry point. */
nvp_status nvp_batchnorm_forward_train_check(float *y, float *mean, float *invstd, const float *x, const float *gamma,
                                             const float *beta, int64_t n, int64_t c, int64_t hw, float eps,
                                             float momentum);
nvp_status nvp_batchnorm_eval_check(const char *fn, float *y, const float *x, const float *gamma, const float *beta,
                                    const float *mean, const float *invstd, int64_t n, int64_t c, int64_t hw);
nvp_status nvp_batchnorm_backward_check(float *dx, const float *dy, const float *x, const float *gamma,
                                        const float *beta, const float *mean, const float *invstd, int64_t n,
                                        int64_t c, int64_t hw);
nvp_status nvp_batchnorm_moments_check(double *sum, double *sumsq, const float *x, int64_t n, int64_t c, int64_t hw);
nvp_status nvp_batchnorm_steps_check(const char *fn, const void *out, const float *dy, const float *x,
                                     const float *gamma, const float *beta, const float *mean, const float *invstd,
                                     int64_t n, int64_t c, int64_t hw);
nvp_status nvp_batchnorm_apply_check(float *dx, const float *dy, const float *x, const float *gamma,
                                     const float *beta, const float *mean, const float *invstd, const double *local,
                                     const double *total, int64_t m_total, int64_t n, int64_t c, int64_t hw);

nvp_status nvp_batchnorm_forward_train_ref(float *y, float *mean, float *invstd, float *running_mean,
                                           float *running_var, const float *x, const float *gamma,
                                           const float *beta, int64_t n, int64_t c, int64_t hw, float eps,
                                           float momentum, int relu);
nvp_status nvp_batchnorm_forward_train_avx2(float *y, float *mean, float *invstd, float *running_mean,
                                            float *running_var, const float *x, const float *gamma,
                                            const float *beta, int64_t n, int64_t c, int64_t hw, float eps,
                                            float momentum, int relu);
nvp_status nvp_batchnorm_forward_eval_ref(float *y, const float *x, const float *gamma, const float *beta,
                                          const float *mean, const float *invstd, int64_t n, int64_t c,
                                          int64_t hw, int relu);
nvp_status nvp_batchnorm_forward_eval_avx2(float *y, const float *x, const float *gamma, const float *beta,
                                           const float *mean, const float *invstd, int64_t n, int64_t c,
                                           int64_t hw, int relu);
nvp_status nvp_batchnorm_backward_ref(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                      const float *gamma, const float *beta, const float *mean,
                                      const float *invstd, int64_t n, int64_t c, int64_t hw, int relu,
                                      float dlogdet, int training, int accumulate_dx);
nvp_status nvp_batchnorm_backward_avx2(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                       const float *gamma, const float *beta, const float *mean,
                                       const float *invstd, int64_t n, int64_t c, int64_t hw, int relu,
                                       float dlogdet, int training, int accumulate_dx);
nvp_status nvp_batchnorm_moments_ref(double *sum, double *sumsq, const float *x, const double *center, int64_t n,
                                     int64_t c, int64_t hw);
nvp_status nvp_batchnorm_moments_avx2(double *sum, double *sumsq, const float *x, const double *center, int64_t n,
                                      int64_t c, int64_t hw);
nvp_status nvp_batchnorm_backward_sums_ref(double *sums, const float *dy, const float *x, const float *gamma,
                                           const float *beta, const float *mean, const float *invstd, int64_t n,
                                           int64_t c, int64_t hw, int relu);
nvp_status nvp_batchnorm_backward_sums_avx2(double *sums, const float *dy, const float *x, const float *gamma,
                                            const float *beta, const float *mean, const float *invstd, int64_t n,
                                            int64_t c, int64_t hw, int relu);
nvp_status nvp_batchnorm_backward_apply_ref(float *dx, float *dgamma, float *dbeta, const float *dy,
                                            const float *x, const float *gamma, const float *beta,
                                            const float *mean, const float *invstd, const double *local,
                                            const double *total, int64_t m_total, int64_t n, int64_t c,
                                            int64_t hw, int relu, float dlogdet);
nvp_status nvp_batchnorm_backward_apply_avx2(float *dx, float *dgamma, float *dbeta, const float *dy,
                                             const float *x, const float *gamma, const float *beta,
                                             const float *mean, const float *invstd, const double *local,
                                             const double *total, int64_t m_total, int64_t n, int64_t c,
                                             int64_t hw, int relu, float dlogdet);

#endif /* NVP_BATCHNORM_INTERNAL_H */
