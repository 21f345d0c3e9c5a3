/*
 * conv2d_direct.c -- k x k convolution (k = 1 or 3), stride 1, zero "same" padding k/2, as direct
 * loops in plain C: the scalar reference, the definition of correct that every other algorithm is
 * compared with, and what the scalar CPU path runs (conv2d_router.c decides). OpenMP over output
 * planes; never calls OpenBLAS. Accumulates in float per row, in double across rows for dw and db.
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
