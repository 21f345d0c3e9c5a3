/*
 * gemm_internal.h -- what gemm.c, gemm_avx2.c and gemm_avx512.c share (the matrix products): not part of nvp.h, never
 * exported. The ISA variants below sit behind the op table in gemm.c (filled by nvp_gemm_select); the
 * public entries of nvp.h are the only way in from outside the engine, and specs switch paths with
 * nvp_set_cpu_path. Each variant keeps the contract of its public entry.
 */
#ifndef NVP_GEMM_INTERNAL_H
#define NVP_GEMM_INTERNAL_H

#include "internal.h"

nvp_status nvp_gemm_ref(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
nvp_status nvp_gemm_small_ref(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                              int64_t lda, const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc);
nvp_status nvp_gemm_small_avx2(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                               int64_t lda, const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc);
nvp_status nvp_gemm_small_avx512(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                                 int64_t lda, const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc);

/* gemm_avx512.c (see there): C [+]= A * B with A element (i,p) at a[i*a_rs + p*a_cs], and C [+]= A * B^T. */
void nvp_gemm_nn_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs, const float *b,
                        int64_t ldb, int accumulate, float *c, int64_t ldc);
void nvp_gemm_nt_avx512(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
                        int accumulate, float *c, int64_t ldc);

/* gemm_avx2.c: the same two products in AVX2 + FMA. */
void nvp_gemm_nn_avx2(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs, const float *b,
                      int64_t ldb, int accumulate, float *c, int64_t ldc);
void nvp_gemm_nt_avx2(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
                      int accumulate, float *c, int64_t ldc);

#endif /* NVP_GEMM_INTERNAL_H */
