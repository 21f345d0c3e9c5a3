/*
 * conv2d_im2col_avx2.c -- the convolution as im2col + GEMM (nvp_gemm / nvp_gemm_small), with the
 * im2col / col2im copies and the NCHW gathers and scatters in AVX2 (compiled with -mavx2 -mfma). The
 * router (conv2d_router.c) calls it for what Winograd and the direct loops leave: convs of few input
 * channels, 1x1 convs (a plain GEMM, no im2col) and the shapes an override sends here.
 *
 * Layout: activations NCHW, weights (Cout, Cin, k, k) = a row-major (Cout, K) matrix, K = Cin*k*k.
 * Two ways to batch the GEMMs (the router's im2col_team chooses; measurements in
 * experiments/results/conv_tuning.md):
 *   per image (team > 0): images split over an OpenMP team in contiguous shares; each thread runs
 *     single-threaded GEMMs (nvp_gemm_small, gemm_avx2.c / gemm_avx512.c) on its
 *     images in place, since image i's NCHW planes are row-major matrices x_i (Cin, P), y_i (Cout, P):
 *       forward:      y_i[:, blk] = W (Cout, K) * col_blk (+ bias, beta = 1 when accumulating)
 *       backward dw:  dW_t += dY_i[:, blk] * col_blk^T into a per-thread partial; after the team,
 *                     dW += dW_0 + dW_1 + ... in thread order
 *       backward dx:  dcol_blk = W^T * dY_i[:, blk], col2im'd into dx_i
 *     blk = a block of output rows whose im2col block (K, rows*W) fits ~1 MB (a 1x1 conv needs no
 *     im2col: col_blk is x_i[:, blk] itself). No gathers, no scatters, one parallel region per call.
 *   batched (team 0): col (K, nb*P) for a chunk of nb images side by side, column j*P + p = image j,
 *     pixel p, row ci*k*k + kh*k + kw; forward out (Cout, nb*P) = W * col scattered into y; backward
 *     dW += dY (Cout, nb*P) * col^T with dY gathered, dcol = W^T * dY col2im'd into dx; the data
 *     moves on the calling thread between GEMMs that OpenBLAS splits over its threads.
 * Scratch: no per-call malloc (core/scratch.c, per-thread buffers). Results depend on the thread
 * count only through float rounding (dW's partial sums); the same team gives the same bits.
 */
#include "conv2d_internal.h"

#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

/* The column matrix of one chunk of the batched variant holds at most this many floats (unless one
 * image needs more): 1M floats = 4 MB, so im2col's output is still in cache when sgemm reads it
 * (tuning: experiments/results/conv_tuning.md). */
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

/* dst[0..m) = src[0..m) (AVX2 copy with scalar tail). The empty asm keeps GCC from turning the
 * loop into a memmove call: im2col copies rows of 14..32 floats, where the call costs more than
 * the copy (conv_tuning.md). */
static inline void copy_row(float *restrict dst, const float *restrict src, int64_t m) {
    int64_t j = 0;
    for (; j + 8 <= m; j += 8) {
        _mm256_storeu_ps(dst + j, _mm256_loadu_ps(src + j));
        __asm__ volatile("");
    }
    for (; j < m; j++) {
        dst[j] = src[j];
        __asm__ volatile("");
    }
}

/* dst[0..m) = 0, likewise without a memset call. */
static inline void zero_row(float *dst, int64_t m) {
    int64_t j = 0;
    for (; j + 8 <= m; j += 8) {
        _mm256_storeu_ps(dst + j, _mm256_setzero_ps());
        __asm__ volatile("");
    }
    for (; j < m; j++) {
        dst[j] = 0.0f;
        __asm__ volatile("");
    }
}

/* dst[0..m) += src[0..m). */
static inline void add_row(float *restrict dst, const float *restrict src, int64_t m) {
    int64_t j = 0;
    for (; j + 8 <= m; j += 8)
        _mm256_storeu_ps(dst + j, _mm256_add_ps(_mm256_loadu_ps(dst + j), _mm256_loadu_ps(src + j)));
    for (; j < m; j++) dst[j] += src[j];
}

/* One image x (cin, H, W), output rows [oy0, oy1): col row c*9 + kh*3 + kw (row stride ldcol),
 * column (oy - oy0)*W + ox = x[c, oy+kh-1, ox+kw-1], or 0 outside the image. */
static void im2col3_rows(float *col, int64_t ldcol, const float *x, int64_t cin, int64_t h, int64_t width,
                         int64_t oy0, int64_t oy1) {
    int64_t p = h * width;
    for (int64_t c = 0; c < cin; c++) {
        const float *xp = x + c * p;
        for (int64_t kh = 0; kh < 3; kh++) {
            for (int64_t kw = 0; kw < 3; kw++) {
                float *dst = col + (c * 9 + kh * 3 + kw) * ldcol;
                int64_t sy = kh - 1, sx = kw - 1;
                for (int64_t oy = oy0; oy < oy1; oy++) {
                    float *d = dst + (oy - oy0) * width;
                    int64_t iy = oy + sy;
                    if (iy < 0 || iy >= h) {
                        zero_row(d, width);
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

/* The adjoint of im2col3_rows: dx (cin, H, W) of one image += the 9 rows of dcol for each channel
 * (row stride ldcol, columns = output pixels of rows [oy0, oy1)), shifted back into place. */
static void col2im3_rows_add(float *dx, const float *col, int64_t ldcol, int64_t cin, int64_t h, int64_t width,
                             int64_t oy0, int64_t oy1) {
    int64_t p = h * width;
    for (int64_t c = 0; c < cin; c++) {
        float *dxp = dx + c * p;
        for (int64_t kh = 0; kh < 3; kh++) {
            for (int64_t kw = 0; kw < 3; kw++) {
                const float *src = col + (c * 9 + kh * 3 + kw) * ldcol;
                int64_t sy = kh - 1, sx = kw - 1;
                int64_t a = oy0 + sy < 0 ? -sy : oy0, e = oy1 + sy > h ? h - sy : oy1;
                for (int64_t oy = a; oy < e; oy++) {
                    const float *s = src + (oy - oy0) * width; /* s[ox] belongs at dx[oy+sy, ox+sx] */
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

/* col (cin*9, nb*P): row c*9 + kh*3 + kw, column j*P + oy*W + ox = x[j, c, oy+kh-1, ox+kw-1] or 0. */
static void im2col3(float *col, const float *x, int64_t nb, int64_t cin, int64_t h, int64_t width) {
    int64_t p = h * width;
    for (int64_t j = 0; j < nb; j++) im2col3_rows(col + j * p, nb * p, x + j * cin * p, cin, h, width, 0, h);
}

/* dx[j, c] += the 9 rows of dcol (cin*9, nb*P) for channel c, shifted back into place. */
static void col2im3_add(float *dx, const float *col, int64_t nb, int64_t cin, int64_t h, int64_t width) {
    int64_t p = h * width;
    for (int64_t j = 0; j < nb; j++) col2im3_rows_add(dx + j * cin * p, col + j * p, nb * p, cin, h, width, 0, h);
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

/* ---- batched: serial data movement, OpenBLAS's threads in each GEMM ---- */

/* y [+]= conv(x, w) + b for n >= 1 images, kdim > 0. */
static nvp_status forward_batched(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                  int64_t cout, int64_t h, int64_t width, int64_t k, int accumulate) {
    nvp_status st;
    int64_t p = h * width, kdim = cin * k * k;
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

/* db[o] += sum over images and pixels of dy[i, o, :] (plane at dy + i*istride + o*P), in double lanes. */
static void bias_grad(float *db, const float *dy, int64_t n, int64_t cout, int64_t p, int64_t istride) {
    for (int64_t o = 0; o < cout; o++) {
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
        double tail = 0.0;
        for (int64_t i = 0; i < n; i++) {
            const float *d = dy + i * istride + o * p;
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

/* dx += W^T dY (col2im'd), dw += dY col^T for n >= 1 images, kdim > 0; db is done by the caller. */
static nvp_status backward_batched(float *dx, float *dw, const float *dy, const float *x, const float *w, int64_t n,
                                   int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k) {
    nvp_status st;
    int64_t p = h * width, kdim = cin * k * k;
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

/* ---- per image: images split over OpenMP threads, single-threaded GEMMs ---- */

/* Largest team the per-thread path uses (it keeps one partial dW pointer per thread). */
#define MAX_TEAM 64

/* A 3x3 im2col block holds at most this many floats (unless one image row needs more): 256K
 * floats = 1 MB per thread. Output rows per block = ROW_BUDGET / (Cin*9*W), evened out over the
 * image; e.g. 14 -> 11 rows (3 blocks) at 3x3 64->64 32x32, a whole 28x28 image at 3x3 16->16. */
#define ROW_BUDGET ((int64_t)1 << 18)

/* Output rows per im2col block of a 3x3 conv: as many as fit ROW_BUDGET, evened out over H. */
static int64_t block_rows(int64_t kdim, int64_t h, int64_t width) {
    int64_t rb = ROW_BUDGET / (kdim * width);
    if (rb < 1) rb = 1;
    if (rb > h) rb = h;
    int64_t blocks = (h + rb - 1) / rb;
    return (h + blocks - 1) / blocks;
}

/* y[o, q] += bias[o] over rows [oy0, oy1) of one image's Cout planes. */
static void add_bias_rows(float *y, const float *bias, int64_t cout, int64_t p, int64_t q0, int64_t q1) {
    for (int64_t o = 0; o < cout; o++) {
        float *d = y + o * p;
        __m256 vb = _mm256_set1_ps(bias[o]);
        int64_t q = q0;
        for (; q + 8 <= q1; q += 8) _mm256_storeu_ps(d + q, _mm256_add_ps(_mm256_loadu_ps(d + q), vb));
        for (; q < q1; q++) d[q] += bias[o];
    }
}

/* Each image is a plain row-major matrix in NCHW: x_i (Cin, P), y_i (Cout, P), so per image (and per
 * block of output rows, columns oy0*W ..) the GEMMs read and write the tensors in place with row
 * stride P: no gathers, no scatters, and only the 3x3 im2col block goes through scratch. */
static nvp_status forward_images(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                 int64_t cout, int64_t h, int64_t width, int64_t k, int accumulate, int team) {
    int64_t p = h * width, kdim = cin * k * k, rb = k == 3 ? block_rows(kdim, h, width) : h;
    int failed = 0;
    nvp_status gemm_st = NVP_OK;
#pragma omp parallel num_threads(team) if (team > 1)
    {
        float *col = NULL;
        int ok = 1;
        if (k == 3 && (col = nvp_scratch(0, (size_t)(kdim * rb * width))) == NULL) {
#pragma omp atomic write
            failed = 1;
            ok = 0; /* the call fails; skip the images */
        }
        /* one image at a time to whichever thread is free (its output is that thread's alone) */
#pragma omp for schedule(dynamic, 1)
        for (int64_t i = 0; i < n; i++) {
            if (!ok) continue;
            const float *xi = x + i * cin * p;
            float *yi = y + i * cout * p;
            for (int64_t oy0 = 0; oy0 < h; oy0 += rb) {
                int64_t oy1 = oy0 + rb < h ? oy0 + rb : h, q0 = oy0 * width, nq = (oy1 - oy0) * width;
                nvp_status st;
                if (k == 3) {
                    im2col3_rows(col, nq, xi, cin, h, width, oy0, oy1);
                    st = nvp_gemm_small(0, 0, cout, nq, kdim, w, kdim, col, nq, accumulate, yi + q0, p);
                } else {
                    st = nvp_gemm_small(0, 0, cout, nq, kdim, w, kdim, xi + q0, p, accumulate, yi + q0, p);
                }
                if (st != NVP_OK) {
#pragma omp critical(nvp_conv2d_status)
                    gemm_st = st;
                }
                if (b != NULL) add_bias_rows(yi, b, cout, p, q0, q0 + nq);
            }
        }
    }
    if (failed) return nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_conv2d_forward: no memory for the im2col blocks");
    return gemm_st;
}

// y: (N,Cout,P) = (accumulate ? y : 0) + w: (Cout,Cin) x: (N,Cin,P) + b, rows of every image split over the team
nvp_status nvp_conv2d_1x1_forward_split(float *y, const float *x, const float *w, const float *b, int64_t n,
                                        int64_t cin, int64_t cout, int64_t p, int accumulate, int team) {
    nvp_status gemm_st = NVP_OK;
#pragma omp parallel num_threads(team) if (team > 1)
    {
        int64_t th = nvp_team_thread(), nt = nvp_team_size();
        /* whole blocks of 8 rows (the AVX2 and AVX-512 kernels' row block) per thread */
        int64_t blocks = (cout + 7) / 8, o0 = blocks * th / nt * 8, o1 = blocks * (th + 1) / nt * 8;
        if (o1 > cout) o1 = cout;
        for (int64_t i = 0; i < n && o1 > o0; i++) {
            float *yi = y + (i * cout + o0) * p;
            nvp_status st = nvp_gemm_small(0, 0, o1 - o0, p, cin, w + o0 * cin, cin, x + i * cin * p, p, accumulate,
                                           yi, p);
            if (st != NVP_OK) {
#pragma omp critical(nvp_conv2d_status)
                gemm_st = st;
            }
            if (b != NULL) add_bias_rows(yi, b + o0, o1 - o0, p, 0, p);
        }
    }
    return gemm_st;
}

/* db[o] += sum of dy[:, o, :] (each o by one thread, so the bits do not depend on the team);
 * dx of each image by the thread that owns it; dw as per-thread partial sums over the thread's
 * images, then dw += partial_0 + partial_1 + ... in thread order (same team size => same bits). */
static nvp_status backward_images(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                  int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k,
                                  int accumulate_dx, int team) {
    int64_t p = h * width, kdim = cin * k * k, rb = k == 3 ? block_rows(kdim, h, width) : h;
    int64_t nw = cout * kdim;
    float *part[MAX_TEAM] = {NULL};
    int failed = 0, team_size = 1;
    nvp_status gemm_st = NVP_OK;
#pragma omp parallel num_threads(team) if (team > 1)
    {
        int t = nvp_team_thread(), nt = nvp_team_size();
        if (db != NULL) {
#pragma omp for schedule(static) nowait
            for (int64_t o = 0; o < cout; o++) bias_grad(db + o, dy + o * p, n, 1, p, cout * p);
        }
        int64_t i0, i1;
        nvp_team_share(n, &i0, &i1);
        if ((dx == NULL && dw == NULL) || kdim == 0) i1 = i0;
        float *col = NULL, *dwp = NULL;
        int ok = 1;
        if (i1 > i0 && k == 3) ok = (col = nvp_scratch(0, (size_t)(kdim * rb * width))) != NULL;
        if (i1 > i0 && dw != NULL && ok) {
            ok = (dwp = nvp_scratch(1, (size_t)nw)) != NULL;
            if (ok) memset(dwp, 0, (size_t)nw * sizeof(float));
        }
        part[t] = dwp; /* NULL: this thread adds nothing to dw */
        if (!ok) {
#pragma omp atomic write
            failed = 1;
            i1 = i0; /* the call fails; skip this thread's images */
        }
        for (int64_t i = i0; i < i1; i++) {
            const float *xi = x ? x + i * cin * p : NULL, *dyi = dy + i * cout * p;
            float *dxi = dx ? dx + i * cin * p : NULL;
            /* a fresh dx: zero this image's planes here, where the adds below find them in cache (the
             * 1x1 product writes instead) */
            if (dxi != NULL && !accumulate_dx && k == 3) memset(dxi, 0, (size_t)(cin * p) * sizeof(float));
            for (int64_t oy0 = 0; oy0 < h; oy0 += rb) {
                int64_t oy1 = oy0 + rb < h ? oy0 + rb : h, q0 = oy0 * width, nq = (oy1 - oy0) * width;
                nvp_status st = NVP_OK;
                if (dw != NULL) { /* partial dW += dY_block (Cout, nq) * col_block^T */
                    if (k == 3) {
                        im2col3_rows(col, nq, xi, cin, h, width, oy0, oy1);
                        st = nvp_gemm_small(0, 1, cout, kdim, nq, dyi + q0, p, col, nq, 1, dwp, kdim);
                    } else {
                        st = nvp_gemm_small(0, 1, cout, kdim, nq, dyi + q0, p, xi + q0, p, 1, dwp, kdim);
                    }
                }
                if (dx != NULL && st == NVP_OK) { /* dx_block += col2im(W^T dY_block) */
                    if (k == 3) {
                        st = nvp_gemm_small(1, 0, kdim, nq, cout, w, kdim, dyi + q0, p, 0, col, nq);
                        if (st == NVP_OK) col2im3_rows_add(dxi, col, nq, cin, h, width, oy0, oy1);
                    } else {
                        st = nvp_gemm_small(1, 0, kdim, nq, cout, w, kdim, dyi + q0, p, accumulate_dx, dxi + q0, p);
                    }
                }
                if (st != NVP_OK) {
#pragma omp critical(nvp_conv2d_status)
                    gemm_st = st;
                }
            }
        }
        if (t == 0) team_size = nt;
    }
    if (failed) return nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_conv2d_backward: no memory for the per-thread scratch");
    if (gemm_st != NVP_OK) return gemm_st;
    /* dw += partial_0 + partial_1 + ... in thread order, after the team (Cout*K adds, serial: a second
     * parallel loop would cost two more barriers, which hurt most when the host is oversubscribed). */
    if (dw != NULL) {
        for (int64_t e = 0; e < nw; e++) {
            float s = 0.0f;
            for (int u = 0; u < team_size; u++)
                if (part[u] != NULL) s += part[u][e];
            dw[e] += s;
        }
    }
    return NVP_OK;
}

/* ---- the entries the router (conv2d_router.c) calls, arguments checked, n*Cout*P > 0 ---- */

// y: (N,Cout,H,W) = (accumulate ? y : 0) + conv(x) + b; team > 0: per image on that many threads, 0: batched
nvp_status nvp_conv2d_im2col_forward(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                     int64_t cout, int64_t h, int64_t width, int64_t k, int accumulate, int team) {
    if (team > 0) return forward_images(y, x, w, b, n, cin, cout, h, width, k, accumulate, team);
    return forward_batched(y, x, w, b, n, cin, cout, h, width, k, accumulate);
}

// dx (+)= (N,Cin,H,W), dw += (Cout,Cin,k,k), db += (Cout) (each may be NULL) from dy: (N,Cout,H,W); team as above
nvp_status nvp_conv2d_im2col_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                                      const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width,
                                      int64_t k, int accumulate_dx, int team) {
    if (team > 0) return backward_images(dx, dw, db, dy, x, w, n, cin, cout, h, width, k, accumulate_dx, team);
    int64_t p = h * width;
    if (db != NULL) bias_grad(db, dy, n, cout, p, cout * p);
    if ((dx == NULL && dw == NULL) || cin * k * k == 0) return NVP_OK;
    if (dx != NULL && !accumulate_dx) memset(dx, 0, (size_t)(n * cin * p) * sizeof(float));
    return backward_batched(dx, dw, dy, x, w, n, cin, cout, h, width, k);
}
