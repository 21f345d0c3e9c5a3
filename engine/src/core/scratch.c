/*
 * scratch.c -- grow-only, per-thread scratch buffers for kernel workspaces (see internal.h).
 *
 * Slots in use (one owner each, so two kernels never share a live buffer):
 *   0  conv2d: im2col / col2im column matrix (Cin*k*k, chunk*H*W), or per thread one block of
 *      output rows of one image (Cin*9, rows*W)
 *   1  conv2d: gathered dy or GEMM output in (Cout, chunk*H*W) layout, or per thread the
 *      partial dW (Cout, Cin*k*k)
 *   0, 1, 2  winograd.c (called by conv2d in place of im2col, never while its buffers are live):
 *      0 transformed input tiles, 1 GEMM output / transformed dy (+ partial dW, transform rows),
 *      2 transformed filters
 *   3  gemm_avx2.c / gemm_avx512.c: B^T of a small A * B^T product (called inside any of the above)
 *   4  conv2d's _act entry points on a non-Winograd path: act(x), the whole (N,Cin,H,W) input
 *      (as large as the batch norm output it replaces), live across the conv it feeds
 *   5  gemm_avx2.c: one panel of B (K block x 16) copied out of a row stride that L1 cannot hold
 */
#include "internal.h"

static _Thread_local float *scratch_buf[NVP_SCRATCH_SLOTS];
static _Thread_local size_t scratch_cap[NVP_SCRATCH_SLOTS];

float *nvp_scratch(int slot, size_t nfloats) {
    NVP_ASSERT(slot >= 0 && slot < NVP_SCRATCH_SLOTS);
    if (nfloats <= scratch_cap[slot] && scratch_buf[slot] != NULL) return scratch_buf[slot];
    if (nfloats > (size_t)-1 / 8) {
        nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_scratch: %zu floats overflows", nfloats);
        return NULL;
    }
    /* Grow by at least 1/8 so a slowly rising size does not reallocate every call. */
    size_t cap = nfloats + nfloats / 8;
    float *p = nvp_alloc(cap * sizeof(float));
    if (p == NULL) return NULL; /* nvp_alloc set the error */
    nvp_free(scratch_buf[slot]);
    scratch_buf[slot] = p;
    scratch_cap[slot] = cap;
    return p;
}
