/*
 * adam_internal.h -- what adam.c and adam_avx2.c share (the Adam step): not part of nvp.h, never
 * exported. The ISA variants below sit behind the op table in adam.c (filled by nvp_adam_select); the
 * public entries of nvp.h are the only way in from outside the engine, and specs switch paths with
 * nvp_set_cpu_path. Each variant keeps the contract of its public entry.
 */
#ifndef NVP_ADAM_INTERNAL_H
#define NVP_ADAM_INTERNAL_H

#include "internal.h"

/* Shared by adam.c and its vector twin; each
 * message names the public entry point. */
nvp_status nvp_adam_prepare(float *c1, float *c2, float *param, float *m, float *v, const float *grad, int64_t n,
                            float lr, float beta1, float beta2, float eps, float weight_decay, int64_t step);

nvp_status nvp_adam_step_ref(float *param, float *m, float *v, const float *grad, int64_t n, float lr,
                             float beta1, float beta2, float eps, float weight_decay, int64_t step);
nvp_status nvp_adam_step_avx2(float *param, float *m, float *v, const float *grad, int64_t n, float lr,
                              float beta1, float beta2, float eps, float weight_decay, int64_t step);

#endif /* NVP_ADAM_INTERNAL_H */
