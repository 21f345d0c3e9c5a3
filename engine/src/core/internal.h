/*
 * internal.h -- what engine sources share and users never see: error reporting, the chosen CPU
 * path, and small argument-check helpers.
 */
#ifndef NVP_INTERNAL_H
#define NVP_INTERNAL_H

#include "nvp.h"

#include <stdio.h>
#include <stdlib.h>

/* Set this thread's error message (printf-style) and return status, so callers can write
 * `return nvp_fail(NVP_STATUS_BAD_SHAPE, "conv2d: x (%lld,%lld) vs w ...", ...);` */
nvp_status nvp_fail(nvp_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* 1 once nvp_init chose the AVX2 path. Read by every dispatcher; written once. */
extern int nvp_use_avx2;
/* 1 once nvp_init chose the AVX-512 products (implies nvp_use_avx2). */
extern int nvp_use_avx512;

/* gemm_avx512.c (see there): C [+]= A * B with A element (i,p) at a[i*a_rs + p*a_cs], and C [+]= A * B^T. */
void nvp_gemm_nn_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs, const float *b,
                        int64_t ldb, int accumulate, float *c, int64_t ldc);
void nvp_gemm_nt_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
                        int accumulate, float *c, int64_t ldc);

/* Internal invariants only (never user input): print file:line and abort. */
#define NVP_ASSERT(cond)                                                                    \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: internal error: assertion '%s' failed\n", __FILE__,     \
                    __LINE__, #cond);                                                       \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* Argument checks shared by kernels: a NULL buffer or a negative size is a caller's mistake. */
#define NVP_CHECK_PTR(fn, p)                                                                \
    do {                                                                                    \
        if ((p) == NULL) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: %s is NULL", fn, #p);    \
    } while (0)
#define NVP_CHECK_SIZE(fn, n)                                                               \
    do {                                                                                    \
        if ((n) < 0)                                                                        \
            return nvp_fail(NVP_STATUS_BAD_ARG, "%s: %s = %lld is negative", fn, #n,       \
                            (long long)(n));                                                \
    } while (0)

/* Reusable grow-only scratch buffers for kernels' temporary workspaces (im2col columns and the
 * like), so the hot path never mallocs per call. Returns a 64-byte aligned buffer of at least
 * nfloats floats for `slot` (0 .. NVP_SCRATCH_SLOTS-1), owned by the calling thread and valid
 * until that thread's next call for the same slot; contents are undefined. The buffers only
 * grow and are kept for the life of the thread. NULL + NVP_STATUS_NO_MEMORY error on failure.
 * Slots in use: 0, 1 conv2d, 0-2 winograd, 3 gemm_avx512, 4 conv2d's activated input (scratch.c lists
 * them). Each OpenMP thread has its own buffers, so threads of one parallel region may each take a slot. */
#define NVP_SCRATCH_SLOTS 5
float *nvp_scratch(int slot, size_t nfloats);

#endif /* NVP_INTERNAL_H */
