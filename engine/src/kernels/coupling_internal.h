/*
 * coupling_internal.h -- what coupling.c and coupling_avx2.c share (the affine coupling kernels): not part
 * of nvp.h, never exported. The ISA variants below sit behind the op table in coupling.c (filled by
 * nvp_coupling_select); the public entries of nvp.h are the only way in from outside the engine, and specs
 * switch paths with nvp_set_cpu_path. Each variant keeps the contract of its public entry.
 */
#ifndef NVP_COUPLING_INTERNAL_H
#define NVP_COUPLING_INTERNAL_H

#include "internal.h"

/* Shared by coupling.c and its vector twin; each
 * message names the public entry point. */
nvp_status nvp_coupling_check_(const char *fn, const void *out, const void *in, const void *st, const void *lam,
                               int64_t n, int64_t c, int64_t h, int64_t w, int mask_kind, int parity, int64_t *ct,
                               int64_t *cst);
nvp_status nvp_coupling_backward_check_(float *dx, float *dst, float *dlam, const float *dy, const float *dlogdet,
                                        const float *x, const float *st, const float *lam, int64_t n, int64_t c,
                                        int64_t h, int64_t w, int mask_kind, int parity, int64_t *ct, int64_t *cst);

nvp_status nvp_coupling_forward_ref(float *y, float *logdet, const float *x, const float *st, const float *lam,
                                    int64_t n, int64_t c, int64_t h, int64_t w, int mask_kind, int parity);
nvp_status nvp_coupling_forward_avx2(float *y, float *logdet, const float *x, const float *st,
                                     const float *lam, int64_t n, int64_t c, int64_t h, int64_t w,
                                     int mask_kind, int parity);
nvp_status nvp_coupling_inverse_ref(float *x, const float *y, const float *st, const float *lam, int64_t n,
                                    int64_t c, int64_t h, int64_t w, int mask_kind, int parity);
nvp_status nvp_coupling_inverse_avx2(float *x, const float *y, const float *st, const float *lam, int64_t n,
                                     int64_t c, int64_t h, int64_t w, int mask_kind, int parity);
nvp_status nvp_coupling_backward_ref(float *dx, float *dst, float *dlam, const float *dy, const float *dlogdet,
                                     const float *x, const float *st, const float *lam, int64_t n, int64_t c,
                                     int64_t h, int64_t w, int mask_kind, int parity);
nvp_status nvp_coupling_backward_avx2(float *dx, float *dst, float *dlam, const float *dy,
                                      const float *dlogdet, const float *x, const float *st, const float *lam,
                                      int64_t n, int64_t c, int64_t h, int64_t w, int mask_kind, int parity);

#endif /* NVP_COUPLING_INTERNAL_H */
