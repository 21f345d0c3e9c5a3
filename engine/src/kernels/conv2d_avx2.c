/*
 * conv2d_avx2.c -- the fast conv path: im2col / col2im and the NCHW gathers and scatters in AVX2,
 * the arithmetic in OpenBLAS sgemm through nvp_gemm. The layout (NCHW + batched im2col) and the
 * chunking are described once, at the top of conv2d.c. Compiled with -mavx2 -mfma (this file only).
 *
 * Threads: only OpenBLAS's. The data movement here (im2col, col2im, gathers, scatters) runs on
 * the calling thread, one cache-sized chunk at a time between GEMMs. Measured at batch 64 on
 * 2 cores, that is as fast as OpenMP loops with OMP_WAIT_POLICY=passive, and it never competes
 * with OpenBLAS: with libgomp's default (spinning) wait policy, OpenMP loops between the GEMMs
 * made these convs 2-7x slower, because the spinning OpenMP worker holds the core that
 * OpenBLAS's thread needs until the scheduler tick.
 */
#include "internal.h"

#include <immintrin.h>
#include <string.h>

nvp_status nvp_conv2d_check_args(const char *fn, int backward, const float *y_or_dy, const float *x,
                                 const float *w, int need_x, int need_w, int64_t n, int64_t cin,
                                 int64_t cout, int64_t h, int64_t width, int64_t k);

/* The column matrix of one chunk holds at most this many floats (unless one image needs more):
 * 1M floats = 4 MB, so im2col's output is still in cache when sgemm reads it. At batch 64 this
 * gives nb = 1 (N = 1024) for 3x3 64->64 at 32x32, nb = 3 for 3x3 128->128 at 16x16, nb = 4 for
 * 3x3 32->32 at 28x28, nb = 8 for 3x3 64->64 at 14x14, nb = 16 for 1x1 64->64 at 32x32.
 * Tuned with experiments/conv_bench.lua (stat=min, 2 threads): budgets of 0.5M-2M floats were
 * alike within the host's noise; 0.25M was clearly slower (GEMMs too small), and one chunk for
 * the whole batch (150 MB of columns at 3x3 64->64 32x32) was 10-20 % slower on the cifar shapes. */
#define COL_BUDGET ((int64_t)1 << 20)

/* Images per chunk: as many as fit the budget, then evened out over the chunks. */
static int64_t chunk_images(int64_t n, int64_t rows, int64_t p) {
    int64_t per = rows * p > 0 ? rows * p : 1;
    int64_t nb = COL_BUDGET / per;
    if (nb < 1) nb = 1;
    if (nb > n) nb = n;
    int64_t chunks = (n + nb - 1) / nb;
    return (n + chunks - 1) / chunks;
}

/* dst[0..m) = src[0..m) (AVX2 copy with scalar tail). */
static inline void copy_row(float *restrict dst, const float *restrict src, int64_t m) {
    int64_t j = 0;
    for (; j + 8 <= m; j += 8) _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
    for (; j < m; j++) dst[j] = src[j];
}

/* dst[0..m) += src[0..m). */
static inline void add_row(float *restrict dst, const float *restrict src, int64_t m) {
    int64_t j = 0;
    for (; j + 8 <= m; j += 8)
        _mm256_storeu_ps(dst + j, _mm256_add_ps(_mm256_loadu_ps(dst + j), _mm256_loadu_ps(src + j)));
    for (; j < m; j++) dst[j] += src[j];
}

/* col (cin*9, nb*P): row c*9 + kh*3 + kw, column j*P + oy*W + ox = x[j, c, oy+kh-1, ox+kw-1] or 0. */
static void im2col3(float *col, const float *x, int64_t nb, int64_t cin, int64_t h, int64_t width) {
    int64_t p = h * width, ldc = nb * p;
    for (int64_t c = 0; c < cin; c++) {
        for (int64_t j = 0; j < nb; j++) {
            const float *xp = x + (j * cin + c) * p;
            for (int64_t kh = 0; kh < 3; kh++) {
                for (int64_t kw = 0; kw < 3; kw++) {
                    float *dst = col + (c * 9 + kh * 3 + kw) * ldc + j * p;
                    int64_t sy = kh - 1, sx = kw - 1;
                    for (int64_t oy = 0; oy < h; oy++) {
                        float *d = dst + oy * width;
                        int64_t iy = oy + sy;
                        if (iy < 0 || iy >= h) {
                            memset(d, 0, (size_t)width * sizeof(float));
                            continue;
                        }
                        const float *s = xp + iy * width;
                        if (sx == 0) {
                            copy_row(d, s, width);
                        } else if (sx < 0) { /* d[ox] = s[ox-1], d[0] = 0 */
                            d[0] = 0.0f;
                            copy_row(d + 1, s, width - 1);
                        } else { /* d[ox] = s[ox+1], d[W-1] = 0 */
                            copy_row(d, s + 1, width - 1);
                            d[width - 1] = 0.0f;
                        }
                    }
                }
            }
        }
    }
}

/* dx[j, c] += the 9 rows of dcol (cin*9, nb*P) for channel c, shifted back into place. */
static void col2im3_add(float *dx, const float *col, int64_t nb, int64_t cin, int64_t h, int64_t width) {
    int64_t p = h * width, ldc = nb * p;
    for (int64_t c = 0; c < cin; c++) {
        for (int64_t j = 0; j < nb; j++) {
            float *dxp = dx + (j * cin + c) * p;
            for (int64_t kh = 0; kh < 3; kh++) {
                for (int64_t kw = 0; kw < 3; kw++) {
                    const float *src = col + (c * 9 + kh * 3 + kw) * ldc + j * p;
                    int64_t sy = kh - 1, sx = kw - 1;
                    int64_t oy0 = sy < 0 ? 1 : 0, oy1 = sy > 0 ? h - 1 : h;
                    for (int64_t oy = oy0; oy < oy1; oy++) {
                        const float *s = src + oy * width; /* s[ox] belongs at dx[oy+sy, ox+sx] */
                        float *d = dxp + (oy + sy) * width;
                        if (sx == 0)
                            add_row(d, s, width);
                        else if (sx < 0)
                            add_row(d, s + 1, width - 1);
                        else
                            add_row(d + 1, s, width - 1);
                    }
                }
            }
        }
    }
}

/* dst (rows, nb*P) = src's NCHW planes side by side: dst[r, j*P + q] = src[j, r, q]. */
static void gather_planes(float *dst, const float *src, int64_t nb, int64_t rows, int64_t p) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < nb; j++) copy_row(dst + r * nb * p + j * p, src + (j * rows + r) * p, p);
}

/* dst[j, r, q] += src[r, j*P + q]. */
static void scatter_add_planes(float *dst, const float *src, int64_t nb, int64_t rows, int64_t p) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < nb; j++) add_row(dst + (j * rows + r) * p, src + r * nb * p + j * p, p);
}

/* y[j, o, q] = (accumulate ? y[j, o, q] : 0) + bias[o] + out[o, j*P + q]; bias may be NULL. */
static void scatter_output(float *y, const float *out, const float *bias, int accumulate, int64_t nb, int64_t cout,
                           int64_t p) {
    for (int64_t o = 0; o < cout; o++) {
        for (int64_t j = 0; j < nb; j++) {
            float *d = y + (j * cout + o) * p;
            const float *s = out + o * nb * p + j * p;
            float bv = bias ? bias[o] : 0.0f;
            __m256 vb = _mm256_set1_ps(bv);
            int64_t q = 0;
            if (accumulate) {
                for (; q + 8 <= p; q += 8)
                    _mm256_storeu_ps(d + q, _mm256_add_ps(_mm256_loadu_ps(d + q),
                                                          _mm256_add_ps(_mm256_loadu_ps(s + q), vb)));
                for (; q < p; q++) d[q] += s[q] + bv;
            } else {
                for (; q + 8 <= p; q += 8) _mm256_storeu_ps(d + q, _mm256_add_ps(_mm256_loadu_ps(s + q), vb));
                for (; q < p; q++) d[q] = s[q] + bv;
            }
        }
    }
}

/* y[j, o, :] += bias[o] for nb images. */
static void add_bias_planes(float *y, const float *bias, int64_t nb, int64_t cout, int64_t p) {
    for (int64_t j = 0; j < nb; j++) {
        for (int64_t o = 0; o < cout; o++) {
            float *d = y + (j * cout + o) * p;
            __m256 vb = _mm256_set1_ps(bias[o]);
            int64_t q = 0;
            for (; q + 8 <= p; q += 8) _mm256_storeu_ps(d + q, _mm256_add_ps(_mm256_loadu_ps(d + q), vb));
            for (; q < p; q++) d[q] += bias[o];
        }
    }
}

// y: (N,Cout,H,W) [+]= conv(x: (N,Cin,H,W), w: (Cout,Cin,k,k)) + b: (Cout) (b may be NULL)
nvp_status nvp_conv2d_forward_avx2(float *y, const float *x, const float *w, const float *b, int64_t n,
                                   int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k, int accumulate) {
    static const char fn[] = "nvp_conv2d_forward";
    nvp_status st = nvp_conv2d_check_args(fn, 0, y, x, w, 1, 1, n, cin, cout, h, width, k);
    if (st != NVP_OK) return st;
    int64_t p = h * width, kdim = cin * k * k;
    if (n * cout * p == 0) return NVP_OK;
    if (kdim == 0) { /* no input channels: y = (accumulate ? y : 0) + bias */
        if (!accumulate) memset(y, 0, (size_t)(n * cout * p) * sizeof(float));
        if (b != NULL) add_bias_planes(y, b, n, cout, p);
        return NVP_OK;
    }
    int64_t nb = chunk_images(n, kdim, p);
    for (int64_t i0 = 0; i0 < n; i0 += nb) {
        int64_t m = n - i0 < nb ? n - i0 : nb;
        const float *xc = x + i0 * cin * p;
        float *yc = y + i0 * cout * p;
        if (m == 1) {
            /* One image: the GEMM writes y directly (beta = 1 accumulates), then the bias. */
            const float *col = xc;
            if (k == 3) {
                float *buf = nvp_scratch(0, (size_t)(kdim * p));
                if (buf == NULL) return NVP_STATUS_NO_MEMORY;
                im2col3(buf, xc, 1, cin, h, width);
                col = buf;
            }
            st = nvp_gemm(0, 0, cout, p, kdim, 1.0f, w, kdim, col, p, accumulate ? 1.0f : 0.0f, yc, p);
            if (st != NVP_OK) return st;
            if (b != NULL) add_bias_planes(yc, b, 1, cout, p);
            continue;
        }
        float *col = nvp_scratch(0, (size_t)(kdim * m * p));
        float *out = nvp_scratch(1, (size_t)(cout * m * p));
        if (col == NULL || out == NULL) return NVP_STATUS_NO_MEMORY;
        if (k == 3)
            im2col3(col, xc, m, cin, h, width);
        else
            gather_planes(col, xc, m, cin, p);
        st = nvp_gemm(0, 0, cout, m * p, kdim, 1.0f, w, kdim, col, m * p, 0.0f, out, m * p);
        if (st != NVP_OK) return st;
        scatter_output(yc, out, b, accumulate, m, cout, p);
    }
    return NVP_OK;
}

/* db[o] += sum over images and pixels of dy[i, o, :], in double lanes. */
static void bias_grad(float *db, const float *dy, int64_t n, int64_t cout, int64_t p) {
    for (int64_t o = 0; o < cout; o++) {
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
        double tail = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *d = dy + (i * cout + o) * p;
            int64_t q = 0;
            for (; q + 8 <= p; q += 8) {
                __m256 v = _mm256_loadu_ps(d + q);
                s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
                s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
            }
            for (; q < p; q++) tail += d[q];
        }
        double lanes[4];
        _mm256_storeu_pd(lanes, _mm256_add_pd(s0, s1));
        db[o] += (float)(lanes[0] + lanes[1] + lanes[2] + lanes[3] + tail);
    }
}

// dy: (N,Cout,H,W); dx += (N,Cin,H,W), dw += (Cout,Cin,k,k), db += (Cout); each may be NULL.
nvp_status nvp_conv2d_backward_avx2(float *dx, float *dw, float *db, const float *dy, const float *x,
                                    const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h,
                                    int64_t width, int64_t k) {
    static const char fn[] = "nvp_conv2d_backward";
    nvp_status st = nvp_conv2d_check_args(fn, 1, dy, x, w, dw != NULL, dx != NULL, n, cin, cout, h, width, k);
    if (st != NVP_OK) return st;
    int64_t p = h * width, kdim = cin * k * k;
    if (n * cout * p == 0) return NVP_OK;
    if (db != NULL) bias_grad(db, dy, n, cout, p);
    if ((dx == NULL && dw == NULL) || kdim == 0) return NVP_OK;
    int64_t nb = chunk_images(n, kdim, p);
    for (int64_t i0 = 0; i0 < n; i0 += nb) {
        int64_t m = n - i0 < nb ? n - i0 : nb, mp = m * p;
        const float *xc = x ? x + i0 * cin * p : NULL;
        const float *dyc = dy + i0 * cout * p;
        float *dxc = dx ? dx + i0 * cin * p : NULL;
        /* dY as a (Cout, m*P) matrix: dy itself for one image, else its planes gathered. */
        const float *dym = dyc;
        if (m > 1) {
            float *g = nvp_scratch(1, (size_t)(cout * mp));
            if (g == NULL) return NVP_STATUS_NO_MEMORY;
            gather_planes(g, dyc, m, cout, p);
            dym = g;
        }
        float *col = NULL;
        if (k == 3 || m > 1) {
            col = nvp_scratch(0, (size_t)(kdim * mp));
            if (col == NULL) return NVP_STATUS_NO_MEMORY;
        }
        if (dw != NULL) {
            const float *xm = xc; /* x as a (K, m*P) matrix */
            if (k == 3) {
                im2col3(col, xc, m, cin, h, width);
                xm = col;
            } else if (m > 1) {
                gather_planes(col, xc, m, cin, p);
                xm = col;
            }
            st = nvp_gemm(0, 1, cout, kdim, mp, 1.0f, dym, mp, xm, mp, 1.0f, dw, kdim);
            if (st != NVP_OK) return st;
        }
        if (dx != NULL) {
            if (col == NULL) { /* 1x1, one image: dx += W^T dY straight into the NCHW planes */
                st = nvp_gemm(1, 0, kdim, mp, cout, 1.0f, w, kdim, dym, mp, 1.0f, dxc, mp);
                if (st != NVP_OK) return st;
                continue;
            }
            st = nvp_gemm(1, 0, kdim, mp, cout, 1.0f, w, kdim, dym, mp, 0.0f, col, mp);
            if (st != NVP_OK) return st;
            if (k == 3)
                col2im3_add(dxc, col, m, cin, h, width);
            else
                scatter_add_planes(dxc, col, m, cin, p);
        }
    }
    return NVP_OK;
}
