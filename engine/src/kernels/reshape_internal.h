/*
 * reshape_internal.h -- what reshape.c and reshape_avx2.c share (squeeze and unsqueeze): not part of
 * nvp.h, never exported. The ISA variants below sit behind the op table in reshape.c (filled by
 * nvp_reshape_select); the public entries of nvp.h are the only way in from outside the engine, and specs
 * switch paths with nvp_set_cpu_path. Each variant keeps the contract of its public entry.
 */
#ifndef NVP_RESHAPE_INTERNAL_H
#define NVP_RESHAPE_INTERNAL_H

#include "internal.h"

/* The argument checks of nvp_squeeze / nvp_unsqueeze (fn names which), shared by both paths (reshape.c). */
nvp_status nvp_check_squeeze(const char *fn, const float *out, const float *in, int64_t n, int64_t c, int64_t h,
                             int64_t w, int order);

/* Shared by reshape.c and its vector twin; each
 * message names the public entry point. */


nvp_status nvp_squeeze_ref(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int order);
nvp_status nvp_squeeze_avx2(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int order);
nvp_status nvp_unsqueeze_ref(float *x, const float *y, int64_t n, int64_t c, int64_t h, int64_t w, int order);
nvp_status nvp_unsqueeze_avx2(float *x, const float *y, int64_t n, int64_t c, int64_t h, int64_t w, int order);

#endif /* NVP_RESHAPE_INTERNAL_H */
