/*
 * preprocess_internal.h -- what preprocess.c and preprocess_avx2.c share (the logit preprocessing): not
 * part of nvp.h, never exported. The ISA variants below sit behind the op table in preprocess.c (filled by
 * nvp_preprocess_select); the public entries of nvp.h are the only way in from outside the engine, and
 * specs switch paths with nvp_set_cpu_path. Each variant keeps the contract of its public entry.
 */
#ifndef NVP_PREPROCESS_INTERNAL_H
#define NVP_PREPROCESS_INTERNAL_H

#include "internal.h"

/* The argument checks of nvp_logit_forward, shared by both paths (preprocess.c). */
nvp_status nvp_check_logit_forward(const float *y, const float *logdet, const float *v, int64_t n, int64_t d,
                                   float alpha);

/* Shared by preprocess.c and its vector twin; each
 * message names the public entry point. */


nvp_status nvp_logit_forward_ref(float *y, float *logdet, const float *v, int64_t n, int64_t d, float alpha);
nvp_status nvp_logit_forward_avx2(float *y, float *logdet, const float *v, int64_t n, int64_t d, float alpha);

#endif /* NVP_PREPROCESS_INTERNAL_H */
