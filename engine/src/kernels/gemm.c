/*
 * gemm.c -- the one wrapper around OpenBLAS: C (M,N) = alpha * op(A) * op(B) + beta * C, row-major,
 * op(X) = X or X^T. nvp_gemm_ref is plain scalar loops (the definition of correct); nvp_gemm calls
 * cblas_sgemm (OpenBLAS brings its own AVX2/FMA kernels and threads) unless the scalar path was
 * forced (NVP_FORCE_SCALAR=1), then it is nvp_gemm_ref.
 *
 * Threads: libnvp links the OpenMP build of OpenBLAS (CMakeLists.txt), so BLAS shares the engine's
 * libgomp pool. Called outside a parallel region, one GEMM uses nvp_get_threads() threads; called
 * inside one (as conv2d_im2col_avx2.c does, one share of the images per thread) it runs single-threaded.
 *
 * beta = 0 means C is written, not read (NaN garbage in C does not leak), as in BLAS.
 */
#include "gemm_internal.h"

#include <cblas.h>

#define OMP_MIN_FLOPS 262144 /* below this many multiply-adds a parallel region costs more */

/* Shared argument checks; `fn` names the caller in messages. */
static nvp_status gemm_check(const char *fn, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                             const float *a, int64_t lda, const float *b, int64_t ldb, const float *c,
                             int64_t ldc) {
    NVP_CHECK_SIZE(fn, m);
    NVP_CHECK_SIZE(fn, n);
    NVP_CHECK_SIZE(fn, k);
    /* Row strides: op(A) is (m,k), so A is (m,k) or, transposed, (k,m); likewise B. */
    int64_t a_cols = trans_a ? m : k, b_cols = trans_b ? k : n;
    if (lda < (a_cols > 1 ? a_cols : 1))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: lda = %lld < %lld, the row length of A (%lld,%lld) (trans_a = %d)",
                        fn, (long long)lda, (long long)(a_cols > 1 ? a_cols : 1), (long long)(trans_a ? k : m), (long long)a_cols,
                        trans_a);
    if (ldb < (b_cols > 1 ? b_cols : 1))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: ldb = %lld < %lld, the row length of B (%lld,%lld) (trans_b = %d)",
                        fn, (long long)ldb, (long long)(b_cols > 1 ? b_cols : 1), (long long)(trans_b ? n : k), (long long)b_cols,
                        trans_b);
    if (ldc < (n > 1 ? n : 1))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: ldc = %lld < %lld, the row length of C (%lld,%lld)", fn,
                        (long long)ldc, (long long)(n > 1 ? n : 1), (long long)m, (long long)n);
    if (m > 0 && n > 0) {
        NVP_CHECK_PTR(fn, c);
        if (k > 0) {
            NVP_CHECK_PTR(fn, a);
            NVP_CHECK_PTR(fn, b);
        }
    }
    return NVP_OK;
}

// a: (m,k) or (k,m) if trans_a; b: (k,n) or (n,k) if trans_b; c: (m,n); all row-major with row strides.
nvp_status nvp_gemm_ref(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    nvp_status st = gemm_check("nvp_gemm", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
    if (st != NVP_OK) return st;
    if (m == 0 || n == 0) return NVP_OK;
    int use_ab = alpha != 0.0f && k > 0;
    /* One row of C per iteration: rows are independent, so the result does not depend on the
     * thread count. Inner loops run along contiguous rows of B (or, for B^T, along dot products). */
#pragma omp parallel for schedule(static) if (m * n * k > OMP_MIN_FLOPS)
    for (int64_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f) {
            for (int64_t j = 0; j < n; j++) ci[j] = 0.0f;
        } else if (beta != 1.0f) {
            for (int64_t j = 0; j < n; j++) ci[j] *= beta;
        }
        if (!use_ab) continue;
        if (!trans_b) {
            for (int64_t p = 0; p < k; p++) {
                float aip = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);
                const float *bp = b + p * ldb;
                for (int64_t j = 0; j < n; j++) ci[j] += aip * bp[j];
            }
        } else {
            for (int64_t j = 0; j < n; j++) {
                const float *bj = b + j * ldb;
                float s = 0.0f;
                if (trans_a) {
                    for (int64_t p = 0; p < k; p++) s += a[p * lda + i] * bj[p];
                } else {
                    const float *ai = a + i * lda;
                    for (int64_t p = 0; p < k; p++) s += ai[p] * bj[p];
                }
                ci[j] += alpha * s;
            }
        }
    }
    return NVP_OK;
}

/* The OpenBLAS product (the avx2 and avx512 paths' nvp_gemm). */
static nvp_status gemm_blas(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                            int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    nvp_status st = gemm_check("nvp_gemm", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
    if (st != NVP_OK) return st;
    if (m == 0 || n == 0) return NVP_OK;
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX || lda > INT32_MAX || ldb > INT32_MAX || ldc > INT32_MAX)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_gemm: (m,n,k) = (%lld,%lld,%lld) or a stride exceeds blasint",
                        (long long)m, (long long)n, (long long)k);
    if (k == 0 || alpha == 0.0f) {
        /* Only C = beta * C; do it here so BLAS corner cases (k = 0) never matter. */
        for (int64_t i = 0; i < m; i++) {
            float *ci = c + i * ldc;
            if (beta == 0.0f) {
                for (int64_t j = 0; j < n; j++) ci[j] = 0.0f;
            } else if (beta != 1.0f) {
                for (int64_t j = 0; j < n; j++) ci[j] *= beta;
            }
        }
        return NVP_OK;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta, c, (blasint)ldc);
    return NVP_OK;
}

nvp_status nvp_gemm_small_ref(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                              int64_t lda, const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc) {
    return nvp_gemm_ref(trans_a, trans_b, m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
}

/* A vector path's nvp_gemm_small: the argument checks, then its A * B and A * B^T kernels (A^T * B^T,
 * which no caller has, goes to OpenBLAS). */
typedef void gemm_nn_kernel(int64_t m, int64_t n, int64_t k, const float *a, int64_t a_rs, int64_t a_cs,
                            const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc);
typedef void gemm_nt_kernel(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                            int64_t ldb, int accumulate, float *c, int64_t ldc);

static nvp_status gemm_small_with(gemm_nn_kernel *nn, gemm_nt_kernel *nt, int trans_a, int trans_b, int64_t m,
                                  int64_t n, int64_t k, const float *a, int64_t lda, const float *b, int64_t ldb,
                                  int accumulate, float *c, int64_t ldc) {
    nvp_status st = gemm_check("nvp_gemm_small", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc);
    if (st != NVP_OK) return st;
    if (m == 0 || n == 0) return NVP_OK;
    if (!trans_b)
        nn(m, n, k, a, trans_a ? 1 : lda, trans_a ? lda : 1, b, ldb, accumulate, c, ldc);
    else if (!trans_a)
        nt(m, n, k, a, lda, b, ldb, accumulate, c, ldc);
    else
        return gemm_blas(1, 1, m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
    return NVP_OK;
}

nvp_status nvp_gemm_small_avx512(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                                 int64_t lda, const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc) {
    if (!nvp_cpu_has_avx512())
        return nvp_fail(NVP_STATUS_UNSUPPORTED, "nvp_gemm_small_avx512: this CPU has no AVX-512 F/CD/BW/DQ/VL");
    return gemm_small_with(nvp_gemm_nn_avx512, nvp_gemm_nt_avx512, trans_a, trans_b, m, n, k, a, lda, b, ldb,
                           accumulate, c, ldc);
}

nvp_status nvp_gemm_small_avx2(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                               int64_t lda, const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc) {
    return gemm_small_with(nvp_gemm_nn_avx2, nvp_gemm_nt_avx2, trans_a, trans_b, m, n, k, a, lda, b, ldb,
                           accumulate, c, ldc);
}

/* ---- the op table: nvp_gemm is OpenBLAS on both vector paths; nvp_gemm_small has its own kernels on each ---- */

typedef struct gemm_ops {
    __typeof__(nvp_gemm_ref) *gemm;
    __typeof__(nvp_gemm_small_ref) *gemm_small;
} gemm_ops;
static const gemm_ops ref_ops = {.gemm = nvp_gemm_ref, .gemm_small = nvp_gemm_small_ref};
static const gemm_ops avx2_ops = {.gemm = gemm_blas, .gemm_small = nvp_gemm_small_avx2};
static const gemm_ops avx512_ops = {.gemm = gemm_blas, .gemm_small = nvp_gemm_small_avx512};
static const gemm_ops *ops = &ref_ops; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_gemm_select(nvp_isa isa) {
    ops = isa == NVP_ISA_AVX512 ? &avx512_ops : isa == NVP_ISA_AVX2 ? &avx2_ops : &ref_ops;
}

nvp_status nvp_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                    int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    return ops->gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

nvp_status nvp_gemm_small(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                          const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc) {
    return ops->gemm_small(trans_a, trans_b, m, n, k, a, lda, b, ldb, accumulate, c, ldc);
}
