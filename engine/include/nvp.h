/*
 * nvp.h -- the whole public API of libnvp, the C engine under nvp.
 *
 * Conventions (see ../../README.md, "Adding a kernel"):
 *   - every function that can fail returns nvp_status; on failure it sets a thread-local message
 *     (nvp_last_error) that names the operands and their shapes. The engine never exits or prints.
 *   - argument order: outputs [OUT], then inputs, then sizes.
 *   - tensors are float32, contiguous NCHW; shapes are written above each function as
 *     `x: (N,C,H,W)`. Backward passes ACCUMULATE (+=) into gradient buffers.
 *   - every kernel `nvp_foo` dispatches to `nvp_foo_ref` (scalar, always built) or `nvp_foo_avx2`,
 *     chosen once by nvp_init(); NVP_FORCE_SCALAR=1 in the environment forces the reference.
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

/* Choose the CPU path (AVX2 if the CPU has it and NVP_FORCE_SCALAR is not 1) and the thread count
 * (NVP_THREADS, else the number of online CPUs). Idempotent; every entry point works without it,
 * using the scalar path and one thread. */
void nvp_init(void);
/* "avx2" or "scalar": the path chosen by nvp_init. */
const char *nvp_cpu_path(void);
/* 1 when the CPU supports AVX2+FMA (independent of NVP_FORCE_SCALAR). */
int nvp_cpu_has_avx2(void);
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

/* y: (n) = value */
nvp_status nvp_fill(float *y, float value, int64_t n);
/* y = a + b, all (n) */
nvp_status nvp_add(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_add_ref(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_add_avx2(float *y, const float *a, const float *b, int64_t n);
/* y = a * b, all (n) */
nvp_status nvp_mul(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_mul_ref(float *y, const float *a, const float *b, int64_t n);
nvp_status nvp_mul_avx2(float *y, const float *a, const float *b, int64_t n);
/* y += alpha * x, all (n) */
nvp_status nvp_axpy(float *y, float alpha, const float *x, int64_t n);
nvp_status nvp_axpy_ref(float *y, float alpha, const float *x, int64_t n);
nvp_status nvp_axpy_avx2(float *y, float alpha, const float *x, int64_t n);
/* y = alpha * x + beta, all (n); y may be x */
nvp_status nvp_scale(float *y, const float *x, float alpha, float beta, int64_t n);
nvp_status nvp_scale_ref(float *y, const float *x, float alpha, float beta, int64_t n);
nvp_status nvp_scale_avx2(float *y, const float *x, float alpha, float beta, int64_t n);
/* [OUT] sum, sum of squares of x: (n), accumulated in double */
nvp_status nvp_sum(double *sum, double *sumsq, const float *x, int64_t n);
nvp_status nvp_sum_ref(double *sum, double *sumsq, const float *x, int64_t n);
nvp_status nvp_sum_avx2(double *sum, double *sumsq, const float *x, int64_t n);
/* [OUT] dot = sum x*y in double */
nvp_status nvp_dot(double *dot, const float *x, const float *y, int64_t n);
/* [OUT] number of non-finite values in x: (n) */
nvp_status nvp_count_nonfinite(int64_t *count, const float *x, int64_t n);

/* ---- matrix multiply: the one wrapper around OpenBLAS -------------------------------------- */

/* C (M,N) = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X or X^T (trans_* = 1).
 * lda/ldb/ldc are row strides. nvp_gemm_ref is a plain scalar loop (the definition of correct);
 * nvp_gemm goes to OpenBLAS's cblas_sgemm (its own AVX2 kernels) unless NVP_FORCE_SCALAR=1. */
nvp_status nvp_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
nvp_status nvp_gemm_ref(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/* ---- convolution: k x k (k = 1 or 3), stride 1, zero "same" padding k/2 -------------------- */
/* The layout decision (NCHW activations, im2col + GEMM) lives in conv2d.c alone. */

/* y: (N,Cout,H,W) = conv(x: (N,Cin,H,W), w: (Cout,Cin,k,k)) + b: (Cout) (b may be NULL);
 * accumulate = 1 adds into y instead of overwriting it (residual and skip sums). */
nvp_status nvp_conv2d_forward(float *y, const float *x, const float *w, const float *b, int64_t n,
                              int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k, int accumulate);
nvp_status nvp_conv2d_forward_ref(float *y, const float *x, const float *w, const float *b, int64_t n,
                                  int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k, int accumulate);
nvp_status nvp_conv2d_forward_avx2(float *y, const float *x, const float *w, const float *b, int64_t n,
                                   int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k, int accumulate);
/* Given dy: (N,Cout,H,W): dx += d/dx (N,Cin,H,W), dw += d/dw (Cout,Cin,k,k), db += d/db (Cout).
 * Any of dx, dw, db may be NULL (not wanted). */
nvp_status nvp_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                               int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k);
nvp_status nvp_conv2d_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x,
                                   const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h,
                                   int64_t width, int64_t k);
nvp_status nvp_conv2d_backward_avx2(float *dx, float *dw, float *db, const float *dy, const float *x,
                                    const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h,
                                    int64_t width, int64_t k);

/* ---- weight normalisation (Salimans & Kingma 2016), per output row ---------------------------- */

/* w: (Cout,K) = g: (Cout) * v: (Cout,K) / ||v_o||; [OUT] norm: (Cout) = ||v_o|| for the backward. */
nvp_status nvp_weightnorm_forward(float *w, float *norm, const float *v, const float *g, int64_t cout, int64_t k);
nvp_status nvp_weightnorm_forward_ref(float *w, float *norm, const float *v, const float *g, int64_t cout, int64_t k);
nvp_status nvp_weightnorm_forward_avx2(float *w, float *norm, const float *v, const float *g, int64_t cout, int64_t k);
/* Given dw: (Cout,K): dg += <dw_o, v_o>/||v_o||; dv += g/||v_o|| * (dw_o - <dw_o, v_o> v_o/||v_o||^2). */
nvp_status nvp_weightnorm_backward(float *dv, float *dg, const float *dw, const float *v, const float *g,
                                   const float *norm, int64_t cout, int64_t k);
nvp_status nvp_weightnorm_backward_ref(float *dv, float *dg, const float *dw, const float *v, const float *g,
                                       const float *norm, int64_t cout, int64_t k);
nvp_status nvp_weightnorm_backward_avx2(float *dv, float *dg, const float *dw, const float *v, const float *g,
                                        const float *norm, int64_t cout, int64_t k);

/* ---- batch normalisation over (N, H, W) per channel, optionally fused with ReLU --------------- */
/* x, y: (N,C,HW). gamma, beta, mean, invstd, running_mean, running_var: (C).
 * Training: batch mean and biased variance; [OUT] mean and invstd = 1/sqrt(var + eps) are saved for
 * the backward; running_mean/var (if not NULL) become (1-momentum)*running + momentum*batch, with the
 * unbiased variance. relu = 1 applies max(0, .) to the output. */
nvp_status nvp_batchnorm_forward_train(float *y, float *mean, float *invstd, float *running_mean,
                                       float *running_var, const float *x, const float *gamma,
                                       const float *beta, int64_t n, int64_t c, int64_t hw, float eps,
                                       float momentum, int relu);
nvp_status nvp_batchnorm_forward_train_ref(float *y, float *mean, float *invstd, float *running_mean,
                                           float *running_var, const float *x, const float *gamma,
                                           const float *beta, int64_t n, int64_t c, int64_t hw, float eps,
                                           float momentum, int relu);
nvp_status nvp_batchnorm_forward_train_avx2(float *y, float *mean, float *invstd, float *running_mean,
                                            float *running_var, const float *x, const float *gamma,
                                            const float *beta, int64_t n, int64_t c, int64_t hw, float eps,
                                            float momentum, int relu);
/* Evaluation: the given mean and invstd (from running averages: invstd = 1/sqrt(running_var + eps)). */
nvp_status nvp_batchnorm_forward_eval(float *y, const float *x, const float *gamma, const float *beta,
                                      const float *mean, const float *invstd, int64_t n, int64_t c, int64_t hw,
                                      int relu);
nvp_status nvp_batchnorm_forward_eval_ref(float *y, const float *x, const float *gamma, const float *beta,
                                          const float *mean, const float *invstd, int64_t n, int64_t c,
                                          int64_t hw, int relu);
nvp_status nvp_batchnorm_forward_eval_avx2(float *y, const float *x, const float *gamma, const float *beta,
                                           const float *mean, const float *invstd, int64_t n, int64_t c,
                                           int64_t hw, int relu);
/* Inverse of the evaluation transform (flow batch norm when sampling): x = (y - beta)/(gamma*invstd) + mean. */
nvp_status nvp_batchnorm_inverse(float *x, const float *y, const float *gamma, const float *beta,
                                 const float *mean, const float *invstd, int64_t n, int64_t c, int64_t hw);
/* Backward of the training transform (gradient through the batch statistics):
 * dx += ..., dgamma += ..., dbeta += ... (dgamma/dbeta may be NULL).
 * relu = 1: the forward applied ReLU; the mask is recomputed from x.
 * dlogdet: for batch norm as a flow layer (paper Sec. 3.7), the gradient of the loss with respect to
 * the batch's summed log-det, where each sample's log-det is hw * sum_c (log invstd_c + log|gamma_c|);
 * 0 for batch norm inside the s/t networks. training = 0: the statistics were constants (evaluation
 * mode), so no gradient flows through them. */
nvp_status nvp_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                  const float *gamma, const float *beta, const float *mean, const float *invstd,
                                  int64_t n, int64_t c, int64_t hw, int relu, float dlogdet, int training);
nvp_status nvp_batchnorm_backward_ref(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                      const float *gamma, const float *beta, const float *mean,
                                      const float *invstd, int64_t n, int64_t c, int64_t hw, int relu,
                                      float dlogdet, int training);
nvp_status nvp_batchnorm_backward_avx2(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                       const float *gamma, const float *beta, const float *mean,
                                       const float *invstd, int64_t n, int64_t c, int64_t hw, int relu,
                                       float dlogdet, int training);

/* ---- activations ------------------------------------------------------------------------------ */

/* Concatenated ReLU of the s/t-net input (REFERENCE.md 2.4): y: (N,2C,HW) = [relu(a x), relu(-a x)],
 * x: (N,C,HW), a = scale (2 for checkerboard couplings, else 1). Backward: dx += a (dy1 [x>0] - dy2 [x<0]). */
nvp_status nvp_crelu_forward(float *y, const float *x, float scale, int64_t n, int64_t c, int64_t hw);
nvp_status nvp_crelu_backward(float *dx, const float *dy, const float *x, float scale, int64_t n, int64_t c,
                              int64_t hw);

/* ---- coupling layers (paper Eq. 4-9; REFERENCE.md 2.3) ----------------------------------------- */
/* mask_kind 0 = checkerboard: position (i,j) conditions when (i + j + parity) is odd, else changes;
 *   st: (N, 2C, H, W), s_raw = channels [0,C), t = [C,2C).
 * mask_kind 1 = channel-wise: parity 0 changes channels [0,C/2) and conditions on [C/2,C); parity 1
 *   swaps the halves; st: (N, C, H, W), s_raw = [0,C/2), t = [C/2,C).
 * lam: (Ct) with Ct = C (checkerboard) or C/2 (channel-wise), the per-channel scale lambda.
 * On changing positions: s = lam_c * tanh(s_raw), y = (x + t) * exp(s); conditioning ones are copied.
 * logdet: (N), += the sum of s over the changing positions of each sample. */
nvp_status nvp_coupling_forward(float *y, float *logdet, const float *x, const float *st, const float *lam,
                                int64_t n, int64_t c, int64_t h, int64_t w, int mask_kind, int parity);
nvp_status nvp_coupling_forward_ref(float *y, float *logdet, const float *x, const float *st, const float *lam,
                                    int64_t n, int64_t c, int64_t h, int64_t w, int mask_kind, int parity);
nvp_status nvp_coupling_forward_avx2(float *y, float *logdet, const float *x, const float *st,
                                     const float *lam, int64_t n, int64_t c, int64_t h, int64_t w,
                                     int mask_kind, int parity);
/* x = y * exp(-s) - t on changing positions, copied elsewhere (st computed from the conditioning part). */
nvp_status nvp_coupling_inverse(float *x, const float *y, const float *st, const float *lam, int64_t n,
                                int64_t c, int64_t h, int64_t w, int mask_kind, int parity);
nvp_status nvp_coupling_inverse_ref(float *x, const float *y, const float *st, const float *lam, int64_t n,
                                    int64_t c, int64_t h, int64_t w, int mask_kind, int parity);
nvp_status nvp_coupling_inverse_avx2(float *x, const float *y, const float *st, const float *lam, int64_t n,
                                     int64_t c, int64_t h, int64_t w, int mask_kind, int parity);
/* Given dy: (N,C,H,W) and dlogdet: (N): dx += the direct part only (dy on conditioning positions,
 * dy*exp(s) on changing ones; the path through the s/t network is the caller's), dst += d/d(s_raw, t)
 * (zero on conditioning positions), dlam += d/dlam. x is the forward input. */
nvp_status nvp_coupling_backward(float *dx, float *dst, float *dlam, const float *dy, const float *dlogdet,
                                 const float *x, const float *st, const float *lam, int64_t n, int64_t c,
                                 int64_t h, int64_t w, int mask_kind, int parity);
nvp_status nvp_coupling_backward_ref(float *dx, float *dst, float *dlam, const float *dy, const float *dlogdet,
                                     const float *x, const float *st, const float *lam, int64_t n, int64_t c,
                                     int64_t h, int64_t w, int mask_kind, int parity);
nvp_status nvp_coupling_backward_avx2(float *dx, float *dst, float *dlam, const float *dy,
                                      const float *dlogdet, const float *x, const float *st, const float *lam,
                                      int64_t n, int64_t c, int64_t h, int64_t w, int mask_kind, int parity);
/* y: (N,C,H,W) = x * m, m the checkerboard's conditioning mask ((i+j+parity) odd);
 * accumulate = 1 adds into y (the same op is its own backward). */
nvp_status nvp_checker_mask(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int parity,
                            int accumulate);

/* ---- moving channels: squeeze, factor-out, concatenation --------------------------------------- */

/* Channels [src_first, src_first+count) of src: (N, src_c, HW) to channels [dst_first, ...) of
 * dst: (N, dst_c, HW); accumulate = 1 adds instead of copying. Serves split, concat and slices. */
nvp_status nvp_copy_channels(float *dst, int64_t dst_c, int64_t dst_first, const float *src, int64_t src_c,
                             int64_t src_first, int64_t count, int64_t n, int64_t hw, int accumulate);
/* Squeeze x: (N,C,H,W) -> y: (N,4C,H/2,W/2) (REFERENCE.md 2.2). order 0 ("A"):
 * y[4c + 2dy + dx, Y, X] = x[c, 2Y+dy, 2X+dx]; order 1 ("B"): channel blocks of C, one per pixel
 * offset in the order (0,0), (1,1), (0,1), (1,0): y[q C + c, Y, X] = x[c, 2Y+dy_q, 2X+dx_q].
 * H and W even. nvp_unsqueeze is the exact inverse (x from y; x is (N,C,H,W), the squeezed size). */
nvp_status nvp_squeeze(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int order);
nvp_status nvp_squeeze_ref(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int order);
nvp_status nvp_squeeze_avx2(float *y, const float *x, int64_t n, int64_t c, int64_t h, int64_t w, int order);
nvp_status nvp_unsqueeze(float *x, const float *y, int64_t n, int64_t c, int64_t h, int64_t w, int order);
nvp_status nvp_unsqueeze_ref(float *x, const float *y, int64_t n, int64_t c, int64_t h, int64_t w, int order);
nvp_status nvp_unsqueeze_avx2(float *x, const float *y, int64_t n, int64_t c, int64_t h, int64_t w, int order);

/* ---- data preprocessing (REFERENCE.md 2.1) ----------------------------------------------------- */

/* v: (n) = x + u, x uint8 pixels, u ~ U[0,1) from the counter-based stream (seed, counter + i):
 * dequantised values in [0, 256). */
nvp_status nvp_dequantize(float *v, const uint8_t *x, uint64_t seed, uint64_t counter, int64_t n);
/* y: (N,D) = logit(p), p = alpha + (1 - 2 alpha) v / 256 for v: (N,D) in [0, 256);
 * logdet: (N) += sum_d [log(1 - 2 alpha) - log p - log(1 - p)], the log-det of u = v/256 -> y
 * (REFERENCE.md 2.1); the loss adds D log 256 for the bins (2.5), giving bits/dim of the pixels. */
nvp_status nvp_logit_forward(float *y, float *logdet, const float *v, int64_t n, int64_t d, float alpha);
nvp_status nvp_logit_forward_ref(float *y, float *logdet, const float *v, int64_t n, int64_t d, float alpha);
nvp_status nvp_logit_forward_avx2(float *y, float *logdet, const float *v, int64_t n, int64_t d, float alpha);
/* v = 256 (sigmoid(y) - alpha) / (1 - 2 alpha): the exact inverse of nvp_logit_forward. */
nvp_status nvp_logit_inverse(float *v, const float *y, int64_t n, float alpha);
/* pixels = clamp(floor(v), 0, 255) for v in [0, 256) (REFERENCE.md 2.5). */
nvp_status nvp_quantize(uint8_t *x, const float *v, int64_t n);
/* Horizontal flip of the images whose flag is 1: x: (N,C,H,W) uint8, in place; flags: (N). */
nvp_status nvp_flip_horizontal_u8(uint8_t *x, const uint8_t *flags, int64_t n, int64_t c, int64_t h, int64_t w);

/* ---- optimiser -------------------------------------------------------------------------------- */

/* One Adam step (Kingma & Ba) with coupled L2: g' = grad + weight_decay * param;
 * m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2; param -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps).
 * param, m, v, grad: (n); step t >= 1. */
nvp_status nvp_adam_step(float *param, float *m, float *v, const float *grad, int64_t n, float lr, float beta1,
                         float beta2, float eps, float weight_decay, int64_t step);
nvp_status nvp_adam_step_ref(float *param, float *m, float *v, const float *grad, int64_t n, float lr,
                             float beta1, float beta2, float eps, float weight_decay, int64_t step);
nvp_status nvp_adam_step_avx2(float *param, float *m, float *v, const float *grad, int64_t n, float lr,
                              float beta1, float beta2, float eps, float weight_decay, int64_t step);

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

/* NVP_FFI_END */

#ifdef __cplusplus
}
#endif

#endif /* NVP_H */
