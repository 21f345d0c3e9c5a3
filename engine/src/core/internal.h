/*
 * internal.h -- what engine sources share and users never see: error reporting, the chosen CPU
 * path, small argument-check helpers, scratch buffers and the thread's place in its OpenMP team.
 */
#ifndef NVP_INTERNAL_H
#define NVP_INTERNAL_H

#include "nvp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Set this thread's error message (printf-style) and return status, so callers can write
 * `return nvp_fail(NVP_STATUS_BAD_SHAPE, "conv2d: x (%lld,%lld) vs w ...", ...);` */
nvp_status nvp_fail(nvp_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The CPU paths, in the order each includes the one before (avx512 = the AVX2 kernels plus the
 * AVX-512 ones where they exist). */
typedef enum nvp_isa { NVP_ISA_SCALAR = 0, NVP_ISA_AVX2 = 1, NVP_ISA_AVX512 = 2 } nvp_isa;

/* 1 when the CPU supports AVX2+FMA / AVX-512 F, CD, BW, DQ and VL (whatever path was chosen). */
int nvp_cpu_has_avx2(void);
int nvp_cpu_has_avx512(void);

/* The path nvp_set_cpu_path chose (NVP_ISA_SCALAR before nvp_init). Read by the op tables' select
 * functions and by the conv router (engine/src/kernels/conv2d_router.c), never by a kernel loop. */
nvp_isa nvp_current_isa(void);

/* The op tables (torch7's THVectorDispatch): every kernel family with ISA variants keeps a static
 * table of function pointers in its <op>.c, which its public entries call through. nvp_set_cpu_path
 * calls each select function once with the new path; before any call the tables hold the scalar
 * references. Declared here, the one list of them, so that dispatch.c needs no kernel header. */
void nvp_elementwise_select(nvp_isa isa);
void nvp_adam_select(nvp_isa isa);
void nvp_coupling_select(nvp_isa isa);
void nvp_preprocess_select(nvp_isa isa);
void nvp_reshape_select(nvp_isa isa);
void nvp_weightnorm_select(nvp_isa isa);
void nvp_batchnorm_select(nvp_isa isa);
void nvp_gemm_select(nvp_isa isa);
void nvp_winograd_select(nvp_isa isa);
void nvp_actnorm_select(nvp_isa isa);
void nvp_glow_coupling_select(nvp_isa isa);

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
 * Slots in use: 0, 1 conv2d, 0-2 winograd, 3 gemm B^T, 4 conv2d's activated input, 5 gemm_avx2's B
 * panel (scratch.c lists them). Each OpenMP thread has its own buffers, so threads of one parallel
 * region may each take a slot. */
#define NVP_SCRATCH_SLOTS 6
float *nvp_scratch(int slot, size_t nfloats);

/* The calling thread's index in its OpenMP team and the team's size (0 and 1 outside a parallel
 * region, or without OpenMP), and its contiguous share [*i0, *i1) of n items split evenly in
 * thread order. */
#ifdef _OPENMP
#include <omp.h>
static inline int nvp_team_thread(void) { return omp_get_thread_num(); }
static inline int nvp_team_size(void) { return omp_get_num_threads(); }
#else
static inline int nvp_team_thread(void) { return 0; }
static inline int nvp_team_size(void) { return 1; }
#endif
static inline void nvp_team_share(int64_t n, int64_t *i0, int64_t *i1) {
    int64_t t = nvp_team_thread(), nt = nvp_team_size();
    *i0 = n * t / nt;
    *i1 = n * (t + 1) / nt;
}

#endif /* NVP_INTERNAL_H */
