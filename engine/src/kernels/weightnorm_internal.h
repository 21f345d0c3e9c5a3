/*
 * weightnorm_internal.h -- what weightnorm.c and weightnorm_avx2.c share (weight normalisation): not part
 * of nvp.h, never exported. The ISA variants below sit behind the op table in weightnorm.c (filled by
 * nvp_weightnorm_select); the public entries of nvp.h are the only way in from outside the engine, and
 * specs switch paths with nvp_set_cpu_path. Each variant keeps the contract of its public entry.
 */
#ifndef NVP_WEIGHTNORM_INTERNAL_H
#define NVP_WEIGHTNORM_INTERNAL_H

#include "internal.h"

/* Shared by weightnorm.c and its vector twin; each
 * message names the public entry point. */
nvp_status nvp_weightnorm_forward_check(float *w, float *norm, const float *v, const float *g, int64_t cout,
                                        int64_t k);
nvp_status nvp_weightnorm_backward_check(float *dv, float *dg, const float *dw, const float *v, const float *g,
                                         const float *norm, int64_t cout, int64_t k);

nvp_status nvp_weightnorm_forward_ref(float *w, float *norm, const float *v, const float *g, int64_t cout, int64_t k);
nvp_status nvp_weightnorm_forward_avx2(float *w, float *norm, const float *v, const float *g, int64_t cout, int64_t k);
nvp_status nvp_weightnorm_backward_ref(float *dv, float *dg, const float *dw, const float *v, const float *g,
                                       const float *norm, int64_t cout, int64_t k);
nvp_status nvp_weightnorm_backward_avx2(float *dv, float *dg, const float *dw, const float *v, const float *g,
                                        const float *norm, int64_t cout, int64_t k);

#endif /* NVP_WEIGHTNORM_INTERNAL_H */
