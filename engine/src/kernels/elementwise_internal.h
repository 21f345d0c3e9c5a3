/*
 * elementwise_internal.h -- what elementwise.c and elementwise_avx2.c share (element-wise ops and
 * reductions): not part of nvp.h, never exported. The ISA variants below sit behind the op table in
 * elementwise.c (filled by nvp_elementwise_select); the public entries of nvp.h are the only way in from
 * outside the engine, and specs switch paths with nvp_set_cpu_path. Each variant keeps the contract of its
 * public entry.
 */
#ifndef NVP_ELEMENTWISE_INTERNAL_H
#define NVP_ELEMENTWISE_INTERNAL_H

#include "internal.h"

/* Shared by elementwise.c and its vector twin; each
 * message names the public entry point. */


nvp_status nvp_add_ref(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_add_avx2(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_mul_ref(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_mul_avx2(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_axpy_ref(float *y, float alpha, const float *x, int64_t n);
nvp_status nvp_axpy_avx2(float *y, float alpha, const float *x, int64_t n);
nvp_status nvp_scale_ref(float *y, const float *x, float alpha, float beta, int64_t n);
nvp_status nvp_scale_avx2(float *y, const float *x, float alpha, float beta, int64_t n);
nvp_status nvp_sum_ref(double *sum, double *sumsq, const float *x, int64_t n);
nvp_status nvp_sum_avx2(double *sum, double *sumsq, const float *x, int64_t n);

#endif /* NVP_ELEMENTWISE_INTERNAL_H */
