/*
 * nvp.h -- the whole public API of libnvp, the C engine under nvp.
 *
 * Conventions (see ../../README.md, "Adding a kernel"):
 *   - every function that can fail returns nvp_status; on failure it sets a thread-local message
 *     (nvp_last_error) that names the operands and their shapes. The engine never exits or prints.
 *   - argument order: outputs [OUT], then inputs, then sizes.
 *   - tensors are float32, contiguous NCHW; shapes are written above each function as
 *     `x: (N,C,H,W)`. Backward passes ACCUMULATE (+=) into gradient buffers.
 *   - one entry per op. Behind it, each op has a scalar reference (always built) and vector variants
 *     (AVX2, AVX-512) in a private table the engine fills once, in nvp_init (nvp_set_cpu_path switches
 *     it later); none of them is declared here or exported from libnvp.
 *   - only what this file declares between the FFI markers is exported (the visibility pragma below;
 *     the library is built with -fvisibility=hidden).
 *
 * Only the text between NVP_FFI_BEGIN and NVP_FFI_END is read by LuaJIT's ffi.cdef (CMake turns
 * it into lua/nvp/nvp_h.lua), so it must stay plain declarations: no macros, no #include, no
 * inline code.
 */
#ifndef NVP_H
#define NVP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
/* libnvp is compiled with -fvisibility=hidden: only the declarations between here and the pop below
 * are exported (spec/unit/abi_spec.lua checks nm -D against this header). A pragma rather than a macro
 * on each line keeps the FFI section plain C for ffi.cdef. */
#pragma GCC visibility push(default)
#endif

/* NVP_FFI_BEGIN */

/* ---- status and errors ------------------------------------------------------------------ */

typedef enum nvp_status {
    NVP_OK = 0,
    NVP_STATUS_BAD_ARG = 1,     /* an argument out of range (null pointer, negative size, ...) */
    NVP_STATUS_BAD_SHAPE = 2,   /* operand shapes do not agree */
    NVP_STATUS_NO_MEMORY = 3,
    NVP_STATUS_IO = 4,          /* a file could not be opened, read or written */
    NVP_STATUS_BAD_FORMAT = 5,  /* a file's content is corrupt, truncated or absurd */
    NVP_STATUS_UNSUPPORTED = 6
} nvp_status;

/* The message of the last failure on this thread ("" if none). Valid until the next failure. */
const char *nvp_last_error(void);
/* Forget the last failure on this thread. */
void nvp_clear_error(void);

/* ---- library set-up -------------------------------------------------------------------- */

/* Choose the CPU path (the best this CPU has: avx512, else avx2, else scalar; NVP_FORCE_SCALAR=1 in the
 * environment gives "scalar", NVP_NO_AVX512=1 at most "avx2") and the thread count (NVP_THREADS, else
 * the number of online CPUs). The only place the engine reads the environment; idempotent. Every entry
 * point works without it, on the scalar path and one thread. */
void nvp_init(void);
/* Switch every kernel to a CPU path: "scalar" (the references), "avx2" (AVX2 + FMA kernels, OpenBLAS
 * products) or "avx2" plus the AVX-512 kernels, "avx512". NVP_STATUS_UNSUPPORTED (and the path kept) when
 * the CPU lacks it, NVP_STATUS_BAD_ARG for another name. For specs and benchmarks comparing paths; not
 * to be called while kernels run on other threads. */
nvp_status nvp_set_cpu_path(const char *path);
/* The current CPU path: "avx512", "avx2" or "scalar". */
const char *nvp_cpu_path(void);
/* 1 when this CPU can run the path nvp_set_cpu_path accepts by that name ("scalar" always), else 0. */
int nvp_cpu_supports(const char *path);
/* The kernel set OpenBLAS runs ("Haswell", "SkylakeX", ...), as openblas_get_corename says. */
const char *nvp_blas_core(void);
/* Set the engine's thread count (OpenMP loops and OpenBLAS alike). n >= 1. */
nvp_status nvp_set_threads(int n);
int nvp_get_threads(void);
const char *nvp_version(void);

/* ---- interruption ------------------------------------------------------------------------ */

/* Catch SIGINT and SIGTERM: the first one only sets a flag that a long loop polls (to save a
 * checkpoint and stop cleanly); a second one while the flag is set ends the process at once. */
nvp_status nvp_interrupt_install(void);
/* The signal number caught since the last call to nvp_interrupt_clear (0 if none). */
int nvp_interrupted(void);
void nvp_interrupt_clear(void);

/* ---- memory ---------------------------------------------------------------------------- */

/* 64-byte aligned allocation; nbytes == 0 gives a valid unique pointer. NULL + error on failure. */
void *nvp_alloc(size_t nbytes);
void nvp_free(void *p);
/* [OUT] count and bytes: successful nvp_alloc calls since start and the bytes they asked for, on
 * every thread (tensors and kernel scratch alike), so a spec can check a warm step allocates nothing. */
void nvp_alloc_stats(int64_t *count, int64_t *bytes);

/* A batch of 8-bit images as decoded from a file: data is (count, channels, height, width),
 * owned by the struct (free with nvp_images_free). */
typedef struct nvp_images {
    uint8_t *data;
    int64_t count;
    int32_t channels;
    int32_t height;
    int32_t width;
    int32_t reserved;
} nvp_images;

void nvp_images_free(nvp_images *images);

/* ABI check: C's own view of the struct layouts, compared with ffi.sizeof/offsetof in the specs. */
size_t nvp_abi_sizeof_images(void);
size_t nvp_abi_offsetof_images(int field);

/* ---- random numbers -------------------------------------------------------------------- */
/* Counter-based (Philox4x32-10): element i of a fill depends only on (seed, counter + i), never on
 * the thread count or the order the work is done in. A caller advances its counter by n. */

/* out: (n) uniform in [lo, hi) */
nvp_status nvp_rng_uniform(float *out, uint64_t seed, uint64_t counter, int64_t n, float lo, float hi);
/* out: (n) normal with the given mean and standard deviation (Box-Muller) */
nvp_status nvp_rng_normal(float *out, uint64_t seed, uint64_t counter, int64_t n, float mean, float std);

/* ---- element-wise and reductions --------------------------------------------------------- */

/* y: (n) = value. Large fills are split over the threads (a zero fill is memset per share). */
nvp_status nvp_fill(float *y, float value, int64_t n);
/* y: (n) = x: (n), not overlapping; memcpy per thread share for large n. Tensor copies and zero
 * fills go through these two: one thread's memcpy moved 3-4 GB/s here, a memory-bound 6 % of a
 * cifar-ref step. Pure data movement, so no _ref/_avx2 pair. */
nvp_status nvp_copy(float *y, const float *x, int64_t n);
/* y = a + b, all (n) */
nvp_status nvp_add(float *y, const float *a, const float *b, int64_t n);
/* y = a * b, all (n) */
nvp_status nvp_mul(float *y, const float *a, const float *b, int64_t n);
/* y += alpha * x, all (n) */
nvp_status nvp_axpy(float *y, float alpha, const float *x, int64_t n);
/* y = alpha * x + beta, all (n); y may be x */
nvp_status nvp_scale(float *y, const float *x, float alpha, float beta, int64_t n);
/* [OUT] sum, sum of squares of x: (n), accumulated in double */
nvp_status nvp_sum(double *sum, double *sumsq, const float *x, int64_t n);
/* [OUT] dot = sum x*y in double */
nvp_status nvp_dot(double *dot, const float *x, const float *y, int64_t n);
/* [OUT] number of non-finite values in x: (n) */
nvp_status nvp_count_nonfinite(int64_t *count, const float *x, int64_t n);

/* ---- matrix multiply: the one wrapper around OpenBLAS -------------------------------------- */

/* C (M,N) = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X or X^T (trans_* = 1).
 * lda/ldb/ldc are row strides. OpenBLAS's cblas_sgemm (its own AVX2 kernels) on the vector CPU paths,
 * a plain scalar loop (the definition of correct) on the scalar path. */
nvp_status nvp_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/* C (M,N) = op(A) * op(B) (accumulate = 0) or C += op(A) * op(B) (accumulate = 1) on the calling
 * thread alone: the many small products of one thread's share (Winograd tiles, 1x1 convolutions).
 * The avx512 CPU path runs nvp's own AVX-512 kernels (no packing, gemm_avx512.c; they cover op(A) * B
 * and A * B^T, A^T * B^T goes to OpenBLAS), the avx2 path OpenBLAS (single-threaded inside a parallel
 * region), the scalar path the reference loops. */
nvp_status nvp_gemm_small(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                          const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc);

/* ---- convolution: k x k (k = 1 or 3), stride 1, zero "same" padding k/2 -------------------- */
/* One entry per pass. Which algorithm runs a call (direct loops, im2col + GEMM, Winograd F(2x2,3x3) or
 * F(4x4,3x3); a 1x1 conv is a plain GEMM) is the engine's choice by shape and CPU path
 * (engine/src/kernels/conv2d_router.c gives the rules and their reasons); every algorithm computes the
 * same convolution to float32 rounding. */

/* A batch norm + ReLU applied to a conv's input as the conv reads it (the s/t networks' BN -> ReLU ->
 * conv, with the statistics of nvp_batchnorm_forward_train or the running ones): the conv sees
 * x'[c] = max(0, (x[c] - mean[c]) * (gamma[c] * invstd[c]) + beta[c]) per input channel c, the arithmetic
 * of nvp_batchnorm_forward_eval with relu = 1; its zero padding stays 0. All four arrays are (Cin). */
typedef struct nvp_bn_relu {
    const float *mean, *invstd, *gamma, *beta;
} nvp_bn_relu;

/* y: (N,Cout,H,W) = (r ? r : 0) + conv(x', w: (Cout,Cin,k,k)) + b: (Cout), x' = act(x: (N,Cin,H,W))
 * (act NULL: x itself; b may be NULL). r: NULL (y is written), y itself (accumulate: skip sums) or an
 * (N,Cout,H,W) tensor disjoint from y (a residual sum, added in the same pass where the algorithm can).
 * x' is never written out: the Winograd algorithms apply act to each input plane in L1, the others to a
 * scratch copy. */
nvp_status nvp_conv2d_forward(float *y, const float *r, const float *x, const nvp_bn_relu *act, const float *w,
                              const float *b, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width,
                              int64_t k);
/* The backward of nvp_conv2d_forward given dy: (N,Cout,H,W): dx = (accumulate_dx ? dx : 0) + dL/dx'
 * (N,Cin,H,W) (through act the batch norm's backward takes it from there), dw += (Cout,Cin,k,k),
 * db += (Cout), with x' = act(x) recomputed (never stored). Any of dx, dw, db may be NULL (not wanted);
 * accumulate_dx = 0 never reads dx (a fresh gradient buffer needs no zero fill first). */
nvp_status nvp_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                               const nvp_bn_relu *act, const float *w, int64_t n, int64_t cin, int64_t cout,
                               int64_t h, int64_t width, int64_t k, int accumulate_dx);

/* The algorithm a conv pass (0 forward, 1 backward-data, 2 backward-filter) of this shape runs on the
 * current CPU path and override: "winograd F(4x4,3x3)", "direct AVX-512 (few input channels)",
 * "im2col per image", "direct (scalar reference)", ... (a static string; for benchmarks and logs). */
const char *nvp_conv2d_path_name(int pass, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k);

/* Override the router's choice for every later conv call (benchmarks and specs; process-wide, not
 * thread-safe against running convs). An algorithm a call cannot use (Winograd for a 1x1 conv, im2col
 * on the scalar path, the AVX-512 direct loops in a backward pass or off the avx512 path) leaves that
 * call to the rules, or to the direct reference on the scalar path. */
typedef enum nvp_conv_algorithm {
    NVP_CONV_AUTO = 0,            /* the rules (the default) */
    NVP_CONV_DIRECT = 1,          /* direct loops: AVX-512 for a forward 3x3 on the avx512 path, else scalar */
    NVP_CONV_IM2COL = 2,          /* im2col + GEMM per image, the images split over the threads */
    NVP_CONV_IM2COL_BATCHED = 3,  /* im2col of several images side by side, threaded GEMMs */
    NVP_CONV_WINOGRAD = 4,        /* every 3x3 conv by Winograd, the tile by the rules */
    NVP_CONV_WINOGRAD_F2 = 5,     /* every 3x3 conv by Winograd F(2x2,3x3) */
    NVP_CONV_WINOGRAD_F4 = 6,     /* every 3x3 conv by Winograd F(4x4,3x3) */
    NVP_CONV_WINOGRAD_F7 = 7,     /* every 3x3 conv by Winograd F(7x7,3x3) (~10x F(4x4)'s float32 error) */
    NVP_CONV_WINOGRAD_F8 = 8      /* every 3x3 conv by Winograd F(8x8,3x3) (~30x F(4x4)'s float32 error) */
} nvp_conv_algorithm;
nvp_status nvp_set_conv_algorithm(nvp_conv_algorithm algorithm);
nvp_conv_algorithm nvp_get_conv_algorithm(void);

/* ---- weight normalisation (Salimans & Kingma 2016), per output row ---------------------------- */

/* w: (Cout,K) = g: (Cout) * v: (Cout,K) / ||v_o||; [OUT] norm: (Cout) = ||v_o|| for the backward. */
nvp_status nvp_weightnorm_forward(float *w, float *norm, const float *v, const float *g, int64_t cout, int64_t k);
/* Given dw: (Cout,K): dg += <dw_o, v_o>/||v_o||; dv += g/||v_o|| * (dw_o - <dw_o, v_o> v_o/||v_o||^2). */
nvp_status nvp_weightnorm_backward(float *dv, float *dg, const float *dw, const float *v, const float *g,
                                   const float *norm, int64_t cout, int64_t k);

/* ---- batch normalisation over (N, H, W) per channel, optionally fused with ReLU --------------- */
/* x, y: (N,C,HW). gamma, beta, mean, invstd, running_mean, running_var: (C).
 * Training: batch mean and biased variance; [OUT] mean and invstd = 1/sqrt(var + eps) are saved for
 * the backward; running_mean/var (if not NULL) become (1-momentum)*running + momentum*batch, with the
 * unbiased variance. relu = 1 applies max(0, .) to the output. y = NULL computes the statistics only
 * (the s/t networks hand them to the conv that reads the output: nvp_bn_relu). */
nvp_status nvp_batchnorm_forward_train(float *y, float *mean, float *invstd, float *running_mean,
                                       float *running_var, const float *x, const float *gamma,
                                       const float *beta, int64_t n, int64_t c, int64_t hw, float eps,
                                       float momentum, int relu);
/* Evaluation: the given mean and invstd (from running averages: invstd = 1/sqrt(running_var + eps)). */
nvp_status nvp_batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                                      const float *mean, const float *invstd, int64_t n, int64_t c, int64_t hw,
                                      int relu);
/* Inverse of the evaluation transform (flow batch norm when sampling): x = (y - beta)/(gamma*invstd) + mean. */
nvp_status nvp_batchnorm_inverse(float *x, const float *y, const float *gamma, const float *beta,
                                 const float *mean, const float *invstd, int64_t n, int64_t c, int64_t hw);
/* Backward of the training transform (gradient through the batch statistics):
 * dx = (accumulate_dx ? dx : 0) + ..., dgamma += ..., dbeta += ... (dgamma/dbeta may be NULL).
 * relu = 1: the forward applied ReLU; the mask is recomputed from x.
 * dlogdet: for batch norm as a flow layer (paper Sec. 3.7), the gradient of the loss with respect to
 * the batch's summed log-det, where each sample's log-det is hw * sum_c (log invstd_c + log|gamma_c|);
 * 0 for batch norm inside the s/t networks. training = 0: the statistics were constants (evaluation
 * mode), so no gradient flows through them. */
nvp_status nvp_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                  const float *gamma, const float *beta, const float *mean, const float *invstd,
                                  int64_t n, int64_t c, int64_t hw, int relu, float dlogdet, int training,
                                  int accumulate_dx);
/* Synchronised batch norm (lua/nvp/layers/batchnorm.lua, train.sync_batchnorm): the training transform
 * in steps, so that the caller can sum each step's per-channel sums over every rank
 * (nvp_dist_allreduce_sum_f64) before the next. With one rank the steps give the fused kernels'
 * numbers exactly (same double sums, same order).
 * Forward: [OUT] sum, sumsq: (C) = sum over (N,HW) of d and of d^2, d = x - center (center: (C) in
 * double, NULL = 0; sum or sumsq may be NULL): once with center NULL for the mean, once with
 * center = mean for the variance. */
nvp_status nvp_batchnorm_moments(double *sum, double *sumsq, const float *x, const double *center, int64_t n,
                                 int64_t c, int64_t hw);
/* Then, from the summed moments of m values per channel: [OUT] mean = mean_d, invstd =
 * 1/sqrt(sumsq/m + eps), and the running averages as nvp_batchnorm_forward_train; nvp_batchnorm_forward_eval
 * with this mean and invstd is the output. mean_d, sumsq: (C). */
nvp_status nvp_batchnorm_finish_stats(float *mean, float *invstd, float *running_mean, float *running_var,
                                      const double *mean_d, const double *sumsq, int64_t m, int64_t c, float eps,
                                      float momentum);
/* Backward: [OUT] sums: (2C) = per channel sum(dyh), then per channel sum(dyh xhat) (see
 * nvp_batchnorm_backward for dyh, xhat). */
nvp_status nvp_batchnorm_backward_sums(double *sums, const float *dy, const float *x, const float *gamma,
                                       const float *beta, const float *mean, const float *invstd, int64_t n,
                                       int64_t c, int64_t hw, int relu);
/* Then dx += the training backward with the statistics' terms from total: (2C), the sums of every
 * rank over m_total values; dgamma, dbeta (may be NULL) += this rank's own part, from local: (2C)
 * (the dlogdet term counts this rank's n*hw values). */
nvp_status nvp_batchnorm_backward_apply(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                        const float *gamma, const float *beta, const float *mean,
                                        const float *invstd, const double *local, const double *total,
                                        int64_t m_total, int64_t n, int64_t c, int64_t hw, int relu, float dlogdet);

/* ---- activations ------------------------------------------------------------------------------ */

/* Concatenated ReLU of the s/t-net input (docs/REFERENCE.md 2.4): y: (N,2C,HW) = [relu(a x), relu(-a x)],
 * x: (N,C,HW), a = scale (2 for checkerboard couplings, else 1). Backward: dx += a (dy1 [x>0] - dy2 [x<0]). */
nvp_status nvp_crelu_forward(float *y, const float *x, float scale, int64_t n, int64_t c, int64_t hw);
nvp_status nvp_crelu_backward(float *dx, const float *dy, const float *x, float scale, int64_t n, int64_t c,
                              int64_t hw);

/* ---- coupling layers (paper Eq. 4-9; docs/REFERENCE.md 2.3) ----------------------------------------- */
/* mask_kind 0 = checkerboard: position (i,j) conditions when (i + j + parity) is odd, else changes;
 *   st: (N, 2C, H, W), s_raw = channels [0,C), t = [C,2C).
 * mask_kind 1 = channel-wise: parity 0 changes channels [0,C/2) and conditions on [C/2,C); parity 1
 *   swaps the halves; st: (N, C, H, W), s_raw = [0,C/2), t = [C/2,C).
 * lam: (Ct) with Ct = C (checkerboard) or C/2 (channel-wise), the per-channel scale lambda.
 * On changing positions: s = lam_c * tanh(s_raw), y = (x + t) * exp(s); conditioning ones are copied.
 * logdet: (N), += the sum of s over the changing positions of each sample. */
nvp_status nvp_coupling_forward(float *y, float *logdet, const float *x, const float *st, const float *lam,
                                int64_t n, int64_t c, int64_t h, int64_t w, int mask_kind, int parity);
/* x = y * exp(-s) - t on changing positions, copied elsewhere (st computed from the conditioning part). */
nvp_status nvp_coupling_inverse(float *x, const float *y, const float *st, const float *lam, int64_t n,
                                int64_t c, int64_t h, int64_t w, int mask_kind, int parity);
/* Given dy: (N,C,H,W) and dlogdet: (N): dx += the direct part only (dy on conditioning positions,
 * dy*exp(s) on changing ones; the path through the s/t network is the caller's), dst += d/d(s_raw, t)
 * (zero on conditioning positions), dlam += d/dlam. x is the forward input. */
nvp_status nvp_coupling_backward(float *dx, float *dst, float *dlam, const float *dy, const float *dlogdet,
                                 const float *x, const float *st, const float *lam, int64_t n, int64_t c,
                                 int64_t h, int64_t w, int mask_kind, int parity);
/* y: (N,C,H,W) = x * m, m the checkerboard's conditioning mask ((i+j+parity) odd);
 * accumulate = 1 adds into y (the same op is its own backward). */
nvp_status nvp_checker_mask(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int parity,
                            int accumulate);

/* ---- moving channels: squeeze, factor-out, concatenation --------------------------------------- */

/* Channels [src_first, src_first+count) of src: (N, src_c, HW) to channels [dst_first, ...) of
 * dst: (N, dst_c, HW); accumulate = 1 adds instead of copying. Serves split, concat and slices. */
nvp_status nvp_copy_channels(float *dst, int64_t dst_c, int64_t dst_first, const float *src, int64_t src_c,
                             int64_t src_first, int64_t count, int64_t n, int64_t hw, int accumulate);
/* Squeeze x: (N,C,H,W) -> y: (N,4C,H/2,W/2) (docs/REFERENCE.md 2.2). order 0 ("A"):
 * y[4c + 2dy + dx, Y, X] = x[c, 2Y+dy, 2X+dx]; order 1 ("B"): channel blocks of C, one per pixel
 * offset in the order (0,0), (1,1), (0,1), (1,0): y[q C + c, Y, X] = x[c, 2Y+dy_q, 2X+dx_q].
 * H and W even. nvp_unsqueeze is the exact inverse (x from y; x is (N,C,H,W), the squeezed size). */
nvp_status nvp_squeeze(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int order);
nvp_status nvp_unsqueeze(float *x, const float *y, int64_t n, int64_t c, int64_t h, int64_t w, int order);

/* ---- data preprocessing (docs/REFERENCE.md 2.1) ----------------------------------------------------- */

/* v: (n) = x + u, x uint8 pixels, u ~ U[0,1) from the counter-based stream (seed, counter + i):
 * dequantised values in [0, 256). */
nvp_status nvp_dequantize(float *v, const uint8_t *x, uint64_t seed, uint64_t counter, int64_t n);
/* y: (N,D) = logit(p), p = alpha + (1 - 2 alpha) v / 256 for v: (N,D) in [0, 256);
 * logdet: (N) += sum_d [log(1 - 2 alpha) - log p - log(1 - p)], the log-det of u = v/256 -> y
 * (docs/REFERENCE.md 2.1); the loss adds D log 256 for the bins (2.5), giving bits/dim of the pixels. */
nvp_status nvp_logit_forward(float *y, float *logdet, const float *v, int64_t n, int64_t d, float alpha);
/* v = 256 (sigmoid(y) - alpha) / (1 - 2 alpha): the exact inverse of nvp_logit_forward. */
nvp_status nvp_logit_inverse(float *v, const float *y, int64_t n, float alpha);
/* pixels = clamp(floor(v), 0, 255) for v in [0, 256) (docs/REFERENCE.md 2.5). */
nvp_status nvp_quantize(uint8_t *x, const float *v, int64_t n);
/* Horizontal flip of the images whose flag is 1: x: (N,C,H,W) uint8, in place; flags: (N). */
nvp_status nvp_flip_horizontal_u8(uint8_t *x, const uint8_t *flags, int64_t n, int64_t c, int64_t h, int64_t w);

/* ---- optimiser -------------------------------------------------------------------------------- */

/* One Adam step (Kingma & Ba) with coupled L2: g' = grad + weight_decay * param;
 * m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2; param -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
 * param, m, v, grad: (n); step t >= 1. */
nvp_status nvp_adam_step(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                         float beta2, float eps, float weight_decay, int64_t step);

/* ---- Glow layers (Kingma & Dhariwal 2018; engine/src/kernels/{actnorm,glow_coupling}.c) ------------ */
/* One public entry per op; the scalar reference and the AVX2 twin behind it are private. */

/* Actnorm: y = (x + bias_c) exp(logs_c), relu = 1 fuses max(0, y) (the Glow s/t network's
 * conv -> actnorm -> ReLU). log|det| per sample = H W sum_c logs_c (the caller's: it does not depend
 * on x). x, y: (N,C,HW); logs, bias: (C). y may be x. */
nvp_status nvp_actnorm_forward(float *y, const float *x, const float *logs, const float *bias, int64_t n, int64_t c,
                               int64_t hw, int relu);
/* x = y exp(-logs_c) - bias_c: the exact inverse of the forward without relu. */
nvp_status nvp_actnorm_inverse(float *x, const float *y, const float *logs, const float *bias, int64_t n, int64_t c,
                               int64_t hw);
/* Given dy: (N,C,HW) at the forward's input x: dx = (accumulate_dx ? dx : 0) + dL/dx (dx may be NULL),
 * dlogs += sum dy y, dbias += sum dy exp(logs) per channel (either may be NULL); with relu = 1, dy is
 * masked where the pre-activation is <= 0. The log-det's gradient (H W sum dlogdet per channel of
 * dlogs) is the caller's. */
nvp_status nvp_actnorm_backward(float *dx, float *dlogs, float *dbias, const float *dy, const float *x,
                                const float *logs, const float *bias, int64_t n, int64_t c, int64_t hw, int relu,
                                int accumulate_dx);
/* The data-dependent initialisation: [OUT] bias_c = -mean_c, logs_c = log(scale / (std_c + eps)) of
 * x: (N,C,HW) per channel (in double), so that the forward's outputs have zero mean and standard
 * deviation ~scale per channel. */
nvp_status nvp_actnorm_init(float *logs, float *bias, const float *x, int64_t n, int64_t c, int64_t hw, float scale,
                            float eps);

/* Glow's channel-wise couplings on the changing half given the s/t output h of the conditioning half
 * (parity 0: channels [0,C/2) condition, [C/2,C) change; parity 1 swapped; C even). kind:
 * 0 affine:   y = (x + t) sigmoid(r + 2), logdet: (N) += sum log sigmoid(r + 2), h = (t, r): (N,C,HW);
 * 1 additive: y = x + t, h = t: (N,C/2,HW), no log-det (logdet may be NULL);
 * 2 gaussian: y = (x + t) exp(r), logdet += sum r, h = (t, r) (Glow's split prior as a flow: t = -mean,
 *   r = -log std of the changing half given the other). t is the first half of h's channels.
 * The conditioning half is copied. x, y: (N,C,HW). */
nvp_status nvp_glow_coupling_forward(float *y, float *logdet, const float *x, const float *h, int64_t n, int64_t c,
                                     int64_t hw, int parity, int kind);
/* x = y / sigmoid(r + 2) - t (additive: y - t; gaussian: y exp(-r) - t) on the changing half, copied elsewhere. */
nvp_status nvp_glow_coupling_inverse(float *x, const float *y, const float *h, int64_t n, int64_t c, int64_t hw,
                                     int parity, int kind);
/* Given dy: (N,C,HW) and dlogdet: (N) (unused when additive): dx += the direct part (the path through
 * the s/t network is the caller's), dh += dL/dh. x is the forward input. */
nvp_status nvp_glow_coupling_backward(float *dx, float *dh, const float *dy, const float *dlogdet, const float *x,
                                      const float *h, int64_t n, int64_t c, int64_t hw, int parity, int kind);

/* ---- I/O: images and datasets ------------------------------------------------------------ */

/* Read an IDX image file (magic 0x00000803, uint8, gzip'd or plain) into [OUT] images
 * (channels = 1). Checks the header against the file size before allocating. */
nvp_status nvp_idx_read_images(nvp_images *images, const char *path);
/* Read an IDX label file (magic 0x00000801) into [OUT] labels (count), allocated with nvp_alloc. */
nvp_status nvp_idx_read_labels(uint8_t **labels, int64_t *count, const char *path);

/* Write an 8-bit PNG. pixels: (height, width, channels) interleaved, channels 1 (gray) or 3 (RGB). */
nvp_status nvp_png_write(const char *path, const uint8_t *pixels, int32_t width, int32_t height,
                         int32_t channels);

/* Read CIFAR-10 binary batch files (records of 1 label byte, 0-9, then 3072 pixel bytes, 3x32x32
 * CHW; gzip'd or plain), concatenated in the order of paths: (npaths), into [OUT] images
 * (count, 3, 32, 32) and [OUT] labels (count), allocated with nvp_alloc. Every file's length (a
 * non-zero multiple of 3073) is checked before anything is allocated; files are decoded in parallel. */
nvp_status nvp_cifar_read(nvp_images *images, uint8_t **labels, const char *const *paths, int32_t npaths);

/* ---- I/O: files ----------------------------------------------------------------------------- */

/* Replace path atomically with the concatenation of chunks: (nchunks), each sizes[i] bytes: write
 * path.tmp.<pid>.<seq>, fsync, rename over path, fsync the directory. On failure (unwritable
 * directory, full disk, ...) the temporary is removed and the old file, if any, is left intact. */
nvp_status nvp_file_write_atomic(const char *path, const void *const *chunks, const int64_t *sizes,
                                 int32_t nchunks);
/* [OUT] size of the regular file at path, in bytes. */
nvp_status nvp_file_size(int64_t *size, const char *path);
/* dst: (nbytes) = bytes [offset, offset + nbytes) of path; a range past the end is refused
 * (NVP_STATUS_BAD_FORMAT) before anything is read. */
nvp_status nvp_file_read_at(void *dst, const char *path, int64_t offset, int64_t nbytes);

/* Write an animated GIF89a that loops forever (own LZW encoder, engine/src/io/gif.c). frames:
 * (nframes, height, width, channels) interleaved, channels 1 (palette: the 256 grays, exact) or 3
 * (palette: a fixed 6x7x6 RGB cube, nearest level, no dithering); delay: centiseconds per frame. */
nvp_status nvp_gif_write(const char *path, const uint8_t *frames, int32_t width, int32_t height, int32_t channels,
                         int32_t nframes, int32_t delay);

/* ---- I/O: image files, preprocessing, packed caches (engine/src/io/{png_read,jpeg,imagefolder,pack,prefetch}.c) */

/* Decode one PNG into [OUT] image (count 1, CHW). channels 3: gray is replicated, alpha dropped;
 * channels 1: RGB is converted to gray (libpng's rule). 16-bit and palette files are reduced to 8 bits. */
nvp_status nvp_png_read(nvp_images *image, const char *path, int32_t channels);
/* Decode one JPEG (libjpeg-turbo, the default integer IDCT) into [OUT] image (count 1, CHW). */
nvp_status nvp_jpeg_read(nvp_images *image, const char *path, int32_t channels);
/* Write a baseline JPEG; pixels: (height, width, channels) interleaved, channels 1 or 3; quality 1-100. */
nvp_status nvp_jpeg_write(const char *path, const uint8_t *pixels, int32_t width, int32_t height, int32_t channels,
                          int32_t quality);
/* Decode a PNG or JPEG chosen by its first bytes, not its name (LSUN's export names JPEG data .webp). */
nvp_status nvp_image_read(nvp_images *image, const char *path, int32_t channels);

/* Preprocessing applied to every decoded file, in this order (lua/nvp/data/preprocess.lua gives each
 * dataset's values and their sources). A zero size means "skip the step". */
typedef struct nvp_preprocess {
    int32_t channels;       /* 1 or 3 */
    int32_t expect_height;  /* the decoded file must be this size (0 = any): mis-sized files fail */
    int32_t expect_width;
    int32_t crop_y;         /* crop rows [crop_y, crop_y + crop_height), cols [crop_x, crop_x + crop_width) */
    int32_t crop_x;
    int32_t crop_height;
    int32_t crop_width;
    int32_t resize_height;  /* then bilinear resize (TensorFlow 1 resize_images, align_corners=False) */
    int32_t resize_width;
    int32_t smallest_side;  /* then skimage pyramid_reduce so that the smaller side is this */
} nvp_preprocess;

/* Decode paths: (n) in parallel with the preprocessing: [OUT] images: (n) each owning one image
 * (free with nvp_images_free), [OUT] status: (n) NVP_OK or the failure of that file; [OUT] messages:
 * (n, message_size) that failure's one-line message (may be NULL). Returns NVP_OK unless an argument
 * is wrong: one bad file does not stop the others. */
nvp_status nvp_images_decode(nvp_images *images, int32_t *status, char *messages, int32_t message_size,
                             const char *const *paths, int32_t n, const nvp_preprocess *pre);

/* The resampling steps, on uint8 CHW images. */
/* dst: (c, out_h, out_w) = src: (c, h, w) rows [y0, y0 + out_h), cols [x0, x0 + out_w); flip = 1 mirrors. */
nvp_status nvp_crop_u8(uint8_t *dst, const uint8_t *src, int32_t c, int32_t h, int32_t w, int32_t y0, int32_t x0,
                       int32_t out_h, int32_t out_w, int32_t flip);
/* dst: (c, out_h, out_w): TensorFlow 1 bilinear resize (align_corners=False): source row y*h/out_h,
 * clamped at the last row, interpolated in float and rounded to the nearest integer. */
nvp_status nvp_resize_bilinear_u8(uint8_t *dst, const uint8_t *src, int32_t c, int32_t h, int32_t w, int32_t out_h,
                                  int32_t out_w);
/* [OUT] out_h, out_w of skimage pyramid_reduce(image, downscale = min(h, w) / side): ceil(h / downscale)... */
nvp_status nvp_pyramid_reduce_size(int32_t *out_h, int32_t *out_w, int32_t h, int32_t w, int32_t side);
/* dst: (c, out_h, out_w) = skimage pyramid_reduce: Gaussian smoothing (sigma = 2 downscale / 6, radius
 * int(4 sigma + 0.5), symmetric edges) of src/255 in double, bilinear resampling at pixel centres,
 * then * 255 truncated to uint8 (lsun_formatting.py). */
nvp_status nvp_pyramid_reduce_u8(uint8_t *dst, const uint8_t *src, int32_t c, int32_t h, int32_t w, int32_t side);

/* A packed cache: a 4096-byte header page, the uint8 CHW payload, then one record per image. */
typedef struct nvp_pack_record {
    uint64_t offset;  /* bytes from the start of the payload */
    uint32_t height;
    uint32_t width;
} nvp_pack_record;

/* An opened (memory-mapped, validated) pack, or a view of images in memory (records = NULL: every
 * image is height x width, stored one after the other). */
typedef struct nvp_pack {
    const uint8_t *payload;
    const nvp_pack_record *records;
    int64_t count;
    int32_t channels;
    int32_t height;   /* 0 when sizes vary */
    int32_t width;
    int32_t reserved;
    uint64_t fingerprint;
    void *map;
    int64_t map_bytes;
} nvp_pack;

/* Map path and check every size and offset against the file before use. */
nvp_status nvp_pack_open(nvp_pack *pack, const char *path);
void nvp_pack_close(nvp_pack *pack);

typedef struct nvp_pack_writer nvp_pack_writer;
/* Start writing path (through path.tmp.<pid>, renamed by finish). fingerprint: the caller's hash of
 * what the pack holds, stored in the header. */
nvp_status nvp_pack_writer_open(nvp_pack_writer **writer, const char *path, int32_t channels, uint64_t fingerprint);
/* Append one image: pixels (channels, height, width). */
nvp_status nvp_pack_writer_add(nvp_pack_writer *writer, const uint8_t *pixels, int32_t height, int32_t width);
/* Write the records and header, fsync, rename over path; frees writer (also on failure). */
nvp_status nvp_pack_writer_finish(nvp_pack_writer *writer);
/* Remove the temporary and free writer. */
void nvp_pack_writer_abort(nvp_pack_writer *writer);

/* out: (n, channels, out_h, out_w) = image index[k] of pack, cropped at (y0[k], x0[k]) (NULL = 0) and
 * mirrored where flip[k] = 1 (flip may be NULL). Every crop is checked against its image's size. */
nvp_status nvp_pack_gather(uint8_t *out, const nvp_pack *pack, const int64_t *index, const int32_t *y0,
                           const int32_t *x0, const uint8_t *flip, int64_t n, int32_t out_h, int32_t out_w);

/* A background thread that runs nvp_pack_gather for the next batch while the current step runs:
 * submit(batch k+1) right after wait() returned batch k. Two buffers of max_batch images: a batch
 * returned by wait stays valid until the second submit after it. */
typedef struct nvp_prefetch nvp_prefetch;
nvp_status nvp_prefetch_create(nvp_prefetch **prefetch, const nvp_pack *pack, int64_t max_batch, int32_t out_h,
                               int32_t out_w);
/* Copy the arguments of a gather (as nvp_pack_gather) and start it on the thread. One job at a time. */
nvp_status nvp_prefetch_submit(nvp_prefetch *prefetch, const int64_t *index, const int32_t *y0, const int32_t *x0,
                               const uint8_t *flip, int64_t n);
/* Block until the submitted job is done: [OUT] batch, or its failure. */
nvp_status nvp_prefetch_wait(nvp_prefetch *prefetch, uint8_t **batch);
/* Stop the thread (after the current job) and free everything. */
void nvp_prefetch_free(nvp_prefetch *prefetch);

/* Write an animated WebP that loops forever (libwebp's WebPAnimEncoder, engine/src/io/webp.c): the
 * full-colour animation for RGB models. frames: (nframes, height, width, channels) interleaved,
 * channels 1 (gray, stored as RGB) or 3; delay_ms: milliseconds per frame; quality: < 0 lossless
 * (every pixel exact), else 0..100 lossy. Written atomically (nvp_file_write_atomic). */
nvp_status nvp_webp_write(const char *path, const uint8_t *frames, int32_t width, int32_t height, int32_t channels,
                          int32_t nframes, int32_t delay_ms, int32_t quality);

/* ---- many processes: data-parallel training over MPI (engine/src/dist/dist.c) -------------- */
/* The engine is the only caller of MPI. Built without MPI (CMake option NVP_MPI) or started
 * without a launcher, every call is the one-rank case: rank 0 of 1, reductions leave their buffer
 * as it is, so lua/nvp/dist.lua has one path for one rank or many. */

/* 1 when libnvp was built with MPI. */
int nvp_dist_compiled(void);
/* Join the job when an MPI launcher (mpirun) started this process: MPI_Init, then rank and size.
 * Idempotent; fails if mpirun started several ranks of an nvp built without MPI. */
nvp_status nvp_dist_init(void);
int nvp_dist_rank(void);
int nvp_dist_size(void);
/* The number of ranks on this machine (sharing its cores). */
int nvp_dist_local_size(void);
/* buf: (n) = its sum over all ranks, in place; every rank gets the same values. */
nvp_status nvp_dist_allreduce_sum_f32(float *buf, int64_t n);
nvp_status nvp_dist_allreduce_sum_f64(double *buf, int64_t n);
/* Start summing buf: (n) over all ranks in place, without waiting: [OUT] request, for nvp_dist_wait
 * (buf must stay untouched until then). n <= INT_MAX. One rank: done at once. */
nvp_status nvp_dist_iallreduce_sum_f32(float *buf, int64_t n, int32_t *request);
/* Let the reductions in flight advance (MPI moves non-blocking collectives only inside its calls). */
nvp_status nvp_dist_progress(void);
/* Wait until the reduction `request` is done; the request is then spent. */
nvp_status nvp_dist_wait(int32_t request);
/* buf: (nbytes) = root's buf on every rank. */
nvp_status nvp_dist_broadcast(void *buf, int64_t nbytes, int root);
nvp_status nvp_dist_barrier(void);
/* Bytes this rank has passed to the allreduces so far (for the scaling figures). */
int64_t nvp_dist_bytes_reduced(void);
/* End every rank of a launched job with exit code `code` (the caller printed why first); does
 * nothing in a process that did not join a job. */
void nvp_dist_abort(int code);
/* Leave the job at a normal exit (MPI_Finalize); nothing without one. */
nvp_status nvp_dist_finalize(void);

/* ---- rANS: the entropy coder of nvp compress (engine/src/kernels/rans.c) ------------------ */
/* A message is a stack: push (encode) and pop (decode) in LIFO order, as bits-back coding needs
 * (pop a sample under one distribution, push it back under another). 64-bit state kept in
 * [2^31, 2^63), renormalised by 32-bit words onto a growable stack. Each call states its precision
 * p (1..24): the frequencies of that call sum to 2^p. Every call is all-or-nothing: on failure
 * the message is unchanged (the batch calls excepted, see there). Serial by nature: no threads,
 * no vector path; the same bytes on every CPU path. */
typedef struct nvp_rans nvp_rans;
typedef enum nvp_rans_dist {
    NVP_RANS_GAUSSIAN = 0,      /* F(x) = (1 + erf((x - mean) / (scale sqrt 2))) / 2 */
    NVP_RANS_LOGISTIC = 1       /* F(x) = 1 / (1 + exp(-(x - mean) / scale)) */
} nvp_rans_dist;

/* [OUT] rans: an empty message (state 2^31, no words). Free with nvp_rans_free. */
nvp_status nvp_rans_create(nvp_rans **rans);
void nvp_rans_free(nvp_rans *rans);
/* [OUT] rans: an independent copy of src. */
nvp_status nvp_rans_clone(nvp_rans **rans, const nvp_rans *src);
/* The information the message holds, in bits: 32 * words + log2(state) - 31 (0 when empty). */
double nvp_rans_bits(const nvp_rans *rans);
/* The number of 32-bit words on the stack (the state not counted). */
int64_t nvp_rans_words(const nvp_rans *rans);
/* 1 when both messages hold the same state and words. */
int nvp_rans_equal(const nvp_rans *a, const nvp_rans *b);

/* Push the symbol whose slots are [start, start + freq) of 2^precision. freq >= 1. */
nvp_status nvp_rans_push(nvp_rans *rans, uint32_t start, uint32_t freq, int32_t precision);
/* [OUT] slot: the slot in [0, 2^precision) the next pop at this precision decodes; the caller
 * finds the symbol whose [start, start + freq) holds it and calls nvp_rans_pop. */
nvp_status nvp_rans_peek(const nvp_rans *rans, int32_t precision, uint32_t *slot);
/* Pop the symbol [start, start + freq) of 2^precision; it must hold the peeked slot. */
nvp_status nvp_rans_pop(nvp_rans *rans, uint32_t start, uint32_t freq, int32_t precision);
/* A categorical symbol under the cumulative table cdf: (nsym + 1), cdf[0] = 0, cdf[nsym] =
 * 2^precision, symbol s owning [cdf[s], cdf[s+1]) (every symbol must have cdf[s+1] > cdf[s]). */
nvp_status nvp_rans_push_cdf(nvp_rans *rans, int32_t symbol, const uint32_t *cdf, int32_t nsym, int32_t precision);
/* [OUT] symbol: popped under cdf (binary search). */
nvp_status nvp_rans_pop_cdf(nvp_rans *rans, int32_t *symbol, const uint32_t *cdf, int32_t nsym, int32_t precision);
/* A uniform integer value in [0, n), 1 <= n <= 2^24: exactly log2(n) bits when n is a power of two
 * (the initial bits, dequantisation noise), within log2(1 / (1 - n / 2^24)) bits of it otherwise. */
nvp_status nvp_rans_push_uniform(nvp_rans *rans, uint32_t value, uint32_t n);
nvp_status nvp_rans_pop_uniform(nvp_rans *rans, uint32_t *value, uint32_t n);

/* A bucket of a discretised continuous distribution (dist, mean, scale > 0): nbuckets buckets of
 * equal width from lo, the two end buckets taking the tails (-inf, lo + width] and
 * [lo + (nbuckets - 1) width, inf). Bucket b gets freq floor(S F(e_b+1)) - floor(S F(e_b)) + 1 with
 * S = 2^precision - nbuckets (so every bucket has freq >= 1; 1 < nbuckets < 2^precision). F is
 * computed in double with +, -, *, / only (own exp and erfc, no libm, no FMA contraction), so
 * encoder and decoder agree bit for bit on any IEEE-754 machine. Push runs the decoder's search
 * at both ends of the bucket's slots, so a CDF that rounding made non-monotone (never seen) is
 * refused, never miscoded. */
nvp_status nvp_rans_push_bucket(nvp_rans *rans, int32_t bucket, nvp_rans_dist dist, double mean, double scale,
                                double lo, double width, int32_t nbuckets, int32_t precision);
/* [OUT] bucket: popped under the same arguments. */
nvp_status nvp_rans_pop_bucket(nvp_rans *rans, int32_t *bucket, nvp_rans_dist dist, double mean, double scale,
                               double lo, double width, int32_t nbuckets, int32_t precision);
/* [OUT] start, freq: bucket b's slots, as push_bucket codes it (for codelengths and specs). */
nvp_status nvp_rans_bucket_freq(uint32_t *start, uint32_t *freq, int32_t bucket, nvp_rans_dist dist, double mean,
                                double scale, double lo, double width, int32_t nbuckets, int32_t precision);
/* buckets, mean, scale: (n). Push element 0 first, n - 1 last; pop_buckets pops n - 1 first, so it
 * undoes push_buckets. On failure the elements before the failing one are coded. */
nvp_status nvp_rans_push_buckets(nvp_rans *rans, const int32_t *buckets, const float *mean, const float *scale,
                                 int64_t n, nvp_rans_dist dist, double lo, double width, int32_t nbuckets,
                                 int32_t precision);
nvp_status nvp_rans_pop_buckets(nvp_rans *rans, int32_t *buckets, const float *mean, const float *scale, int64_t n,
                                nvp_rans_dist dist, double lo, double width, int32_t nbuckets, int32_t precision);

/* Grid values under discretised Gaussians, the symbol of the local bits-back codec (nvp compress):
 * element i is the point k[i] * delta (delta a power of two) under N(mean[i], scale[i]^2). Coded as a
 * coarse bucket of m = 2^j points, j = max(0, floor(log2(scale / delta)) - res) (so 2^res..2^(res+1)
 * buckets per scale), in a window of nbuckets (a power of two) of them centred on the mean (aligned to
 * multiples of m, so encoder and decoder agree), frequencies as nvp_rans_push_bucket's at precision;
 * then the point's offset inside its bucket, uniform over m. The two end buckets take the tails: a
 * point there is coded by its distance past the window's inner edge, an escape: uniform over
 * m * nbuckets points (one more window), or, at 24 bits' cost, any distance below 2^62 (a pop lands
 * there with probability below 2^-18 given the end bucket). |k| < 2^61. mean, scale: (n); k: (n).
 * Element 0 pushed first; pop undoes it.
 * On failure the elements before the failing one are coded (the message is then of no further use). */
nvp_status nvp_rans_push_gaussians(nvp_rans *rans, const int64_t *k, const double *mean, const double *scale,
                                   int64_t n, double delta, int32_t res, int32_t nbuckets, int32_t precision);
/* [OUT] k: (n), popped under the same arguments. */
nvp_status nvp_rans_pop_gaussians(nvp_rans *rans, int64_t *k, const double *mean, const double *scale, int64_t n,
                                  double delta, int32_t res, int32_t nbuckets, int32_t precision);

/* The fewest words the stack has held since it was made, read, or reset by nvp_rans_reset_low: the
 * words below it were never popped (bits-back's unused initial bits). */
int64_t nvp_rans_low_words(const nvp_rans *rans);
void nvp_rans_reset_low(nvp_rans *rans);
/* [OUT] word: the stack's word i (0 = the bottom, the first pushed out). */
nvp_status nvp_rans_word(uint32_t *word, const nvp_rans *rans, int64_t i);

/* [OUT] size: the bytes nvp_rans_to_bytes writes: 24-byte header ("nvprans1", words, state),
 * 4 per word, 4 of CRC-32. */
size_t nvp_rans_size(const nvp_rans *rans);
/* [OUT] out: (cap) the serialised message (little-endian); [OUT] size: bytes written. */
nvp_status nvp_rans_to_bytes(uint8_t *out, size_t cap, size_t *size, const nvp_rans *rans);
/* [OUT] rans: a new message read from data: (size), refused in one line when the magic, length,
 * state or CRC-32 does not match (truncated, altered, empty). */
nvp_status nvp_rans_from_bytes(nvp_rans **rans, const uint8_t *data, size_t size);

/* NVP_FFI_END */

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif /* NVP_H */
