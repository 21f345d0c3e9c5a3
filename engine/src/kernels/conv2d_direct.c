/*
 * conv2d.c -- k x k convolution (k = 1 or 3), stride 1, zero "same" padding k/2: the scalar
 * reference (direct loops), the argument checks shared with conv2d_avx2.c, and the dispatchers.
 * The AVX2 dispatcher sends most 3x3 convs to Winograd (winograd.c; rule in conv2d_avx2.c's
 * winograd_tile); what follows describes the im2col path, which serves the rest.
 *
 * LAYOUT DECISION (the only place it is made; callers see plain NCHW through nvp.h):
 *   - Activations are NCHW, weights (Cout, Cin, k, k) = a row-major (Cout, K) matrix, K = Cin*k*k.
 *   - The fast path (conv2d_avx2.c) is im2col + OpenBLAS sgemm, with two ways to batch the GEMMs:
 *     per-thread (the default for batches of >= nthreads images): images are split over OpenMP
 *     threads in contiguous shares; each thread runs single-threaded GEMMs (OpenBLAS is the OpenMP
 *     build, serial inside a parallel region) on ITS images in place, since image i's NCHW planes
 *     are row-major matrices x_i (Cin, P), y_i (Cout, P) (row stride P, P = H*W):
 *       forward:      y_i[:, blk] = W (Cout, K) * col_blk (+ bias, beta = 1 when accumulating)
 *       backward dw:  dW_t += dY_i[:, blk] * col_blk^T into a per-thread partial, K = Cin*k*k;
 *                     after the team, dW += dW_0 + dW_1 + ... in thread order
 *       backward dx:  dcol_blk = W^T * dY_i[:, blk], col2im'd into dx_i
 *     where blk = a block of output rows whose im2col block (K, rows*W) fits ~1 MB (a 1x1 conv
 *     needs no im2col: col_blk is x_i[:, blk] itself). No gathers, no scatters, one parallel
 *     region per call, and the data movement runs on both cores.
 *     batched (fewer images than threads, or NVP_CONV_PATH=old): col (K, nb*P) for a chunk of nb
 *     images side by side, column j*P + p = image j, pixel p, row ci*k*k + kh*k + kw;
 *       forward:      out (Cout, nb*P) = W * col, scattered into y's NCHW planes;
 *       backward dw:  dW += dY (Cout, nb*P) * col^T, dY gathered from NCHW dy;
 *       backward dx:  dcol (K, nb*P) = W^T * dY, then col2im adds it into dx;
 *     data movement on the calling thread between GEMMs that OpenBLAS splits over its threads.
 *     Calls under ~1M multiply-adds run the per-thread code on the calling thread alone.
 *     NVP_CONV_PATH=old|new (read once, at the first conv call) forces one of the two for a run;
 *     experiments/conv_bench.lua compare=true times both, alternating, in one process.
 *   - Scratch: no per-call malloc (core/scratch.c, per-thread buffers).
 *   - Results depend on the thread count only through float rounding (dW's partial sums), and the
 *     same thread count gives the same bits. The reference uses OpenMP over output planes and
 *     never calls OpenBLAS.
 *   If a later issue moves to NHWC or a blocked layout (oneDNN's nChw8c), only this file pair and
 *   this comment change.
 */
#include "conv2d_internal.h"

#include <string.h>

#define OMP_MIN_MACS 65536 /* below this many multiply-adds per call a parallel region costs more */

/* y_plane (H,W) += wv * x_plane shifted by (dy, dx) = (kh - k/2, kw - k/2), zeros outside. */
static void shifted_axpy(float *restrict y, const float *restrict x, float wv, int64_t h, int64_t width,
                         int64_t dy, int64_t dx) {
    int64_t oy0 = dy < 0 ? -dy : 0, oy1 = dy > 0 ? h - dy : h;
    int64_t ox0 = dx < 0 ? -dx : 0, ox1 = dx > 0 ? width - dx : width;
    for (int64_t oy = oy0; oy < oy1; oy++) {
        float *yr = y + oy * width;
        const float *xr = x + (oy + dy) * width + dx;
        for (int64_t ox = ox0; ox < ox1; ox++) yr[ox] += wv * xr[ox];
    }
}

// y: (N,Cout,H,W) [+]= conv(x: (N,Cin,H,W), w: (Cout,Cin,k,k)) + b: (Cout) (b may be NULL)
nvp_status nvp_conv2d_forward_ref(float *y, const float *x, const float *w, const float *b, int64_t n,
                                  int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k, int accumulate) {
    nvp_status st = nvp_conv2d_check_args("nvp_conv2d_forward", 0, y, x, w, 1, 1, n, cin, cout, h, width, k);
    if (st != NVP_OK) return st;
    int64_t p = h * width, kk = k * k, pad = k / 2;
    /* One output plane (image i, channel o) per iteration: planes are independent. */
#pragma omp parallel for collapse(2) schedule(static) if (n * cout * cin * kk * p > OMP_MIN_MACS)
    for (int64_t i = 0; i < n; i++) {
        for (int64_t o = 0; o < cout; o++) {
            float *yp = y + (i * cout + o) * p;
            float bias = b ? b[o] : 0.0f;
            for (int64_t q = 0; q < p; q++) yp[q] = (accumulate ? yp[q] : 0.0f) + bias;
            for (int64_t c = 0; c < cin; c++) {
                const float *xp = x + (i * cin + c) * p;
                const float *wp = w + (o * cin + c) * kk;
                for (int64_t kh = 0; kh < k; kh++)
                    for (int64_t kw = 0; kw < k; kw++)
                        shifted_axpy(yp, xp, wp[kh * k + kw], h, width, kh - pad, kw - pad);
            }
        }
    }
    return NVP_OK;
}

// dy: (N,Cout,H,W); dx (+)= (N,Cin,H,W), dw += (Cout,Cin,k,k), db += (Cout); each may be NULL.
nvp_status nvp_conv2d_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x,
                                   const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h,
                                   int64_t width, int64_t k, int accumulate_dx) {
    nvp_status st = nvp_conv2d_check_args("nvp_conv2d_backward", 1, dy, x, w, dw != NULL, dx != NULL, n, cin, cout,
                                          h, width, k);
    if (st != NVP_OK) return st;
    if (dx != NULL && !accumulate_dx) memset(dx, 0, (size_t)(n * cin * h * width) * sizeof(float));
    int64_t p = h * width, kk = k * k, pad = k / 2;
    int par = n * cout * cin * kk * p > OMP_MIN_MACS;
    if (db != NULL) {
        for (int64_t o = 0; o < cout; o++) {
            double s = 0.0;
            for (int64_t i = 0; i < n; i++) {
                const float *dyp = dy + (i * cout + o) * p;
                for (int64_t q = 0; q < p; q++) s += dyp[q];
            }
            db[o] += (float)s;
        }
    }
    if (dw != NULL) {
        /* dw[o,c,kh,kw] = sum over images and output pixels of dy[i,o,oy,ox] * x[i,c,oy+dy,ox+dx]. */
#pragma omp parallel for collapse(2) schedule(static) if (par)
        for (int64_t o = 0; o < cout; o++) {
            for (int64_t c = 0; c < cin; c++) {
                for (int64_t kh = 0; kh < k; kh++) {
                    for (int64_t kw = 0; kw < k; kw++) {
                        int64_t sy = kh - pad, sx = kw - pad;
                        int64_t oy0 = sy < 0 ? -sy : 0, oy1 = sy > 0 ? h - sy : h;
                        int64_t ox0 = sx < 0 ? -sx : 0, ox1 = sx > 0 ? width - sx : width;
                        double s = 0.0;
                        for (int64_t i = 0; i < n; i++) {
                            const float *dyp = dy + (i * cout + o) * p, *xp = x + (i * cin + c) * p;
                            for (int64_t oy = oy0; oy < oy1; oy++) {
                                float r = 0.0f;
                                const float *dr = dyp + oy * width, *xr = xp + (oy + sy) * width + sx;
                                for (int64_t ox = ox0; ox < ox1; ox++) r += dr[ox] * xr[ox];
                                s += r;
                            }
                        }
                        dw[(o * cin + c) * kk + kh * k + kw] += (float)s;
                    }
                }
            }
        }
    }
    if (dx != NULL) {
        /* dx[i,c] += sum over o, kh, kw of w[o,c,kh,kw] * dy[i,o] shifted back by (kh-pad, kw-pad). */
#pragma omp parallel for collapse(2) schedule(static) if (par)
        for (int64_t i = 0; i < n; i++) {
            for (int64_t c = 0; c < cin; c++) {
                float *dxp = dx + (i * cin + c) * p;
                for (int64_t o = 0; o < cout; o++) {
                    const float *dyp = dy + (i * cout + o) * p;
                    const float *wp = w + (o * cin + c) * kk;
                    for (int64_t kh = 0; kh < k; kh++)
                        for (int64_t kw = 0; kw < k; kw++)
                            shifted_axpy(dxp, dyp, wp[kh * k + kw], h, width, pad - kh, pad - kw);
                }
            }
        }
    }
    return NVP_OK;
}
