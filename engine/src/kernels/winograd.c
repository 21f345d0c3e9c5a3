/*
 * winograd.c -- 3x3, pad 1, stride 1 convolutions by Winograd's minimal filtering F(m x m, 3 x 3),
 * m = 2 (alpha = 4: 16 products per 4 outputs instead of 36, 2.25x fewer), m = 4 (alpha = 6: 36
 * per 16 instead of 144, 4x fewer), m = 7 (alpha = 9: 81 per 49 instead of 441, 5.4x fewer, at
 * ~10x F(4x4)'s float32 error) or m = 8 (alpha = 10: 100 per 64 instead of 576, 5.8x fewer, ~30x
 * F(4x4)'s error), Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (2016). The
 * algebra is at the top of winograd_internal.h. This file has the drivers (threads, chunks, GEMMs);
 * the tile and filter transforms and dw's reduction are winograd_ref.c's (scalar), winograd_avx2.c's
 * and winograd_avx512.c's (F(7x7), F(8x8): winograd_f7_*.c, winograd_f8_*.c).
 * It is not the reference convolution: that stays the direct loop of conv2d_direct.c, which the specs
 * compare every tile size against.
 *
 * Layout (NCHW in and out; per thread, a chunk of nb of its images, ncols = nb*T tile columns):
 *   V (alpha^2, Cin, ncols)   transformed input tiles, column j*T + t = image j, tile t (rows of
 *                             ncols + VPAD floats, point blocks point_stride apart)
 *   U (alpha^2, Cout, Cin)    transformed filters (rows split over the team, then one barrier)
 *   M (alpha^2, Cout, ncols)  M[xi] = U[xi] * V[xi]: alpha^2 single-threaded products per chunk
 *                             (nvp_gemm_small: AVX2 or AVX-512 kernels without packing)
 * then each output tile is A^T M_t A. The backward-filter pass keeps D (alpha^2, Cout, ncols) =
 * the dy tiles through A . A^T and a per-thread Mw[xi] (Cout, Cin) += D[xi] * V[xi]^T, summed over
 * the threads in thread order (same team => same bits), then dw += G^T Mw G.
 * Scratch (per thread): slot 0 = V, slot 1 = M or D (+ Mw) + the transforms' work rows; U is the
 * calling thread's slot 2, shared by the team.
 * Threads: one OpenMP team, one parallel region per call (the backward does dx, dw and db in it). The
 * forward and dx passes hand out chunks of images to whichever thread is free (each image's output is
 * one thread's whole computation, so the bits do not depend on which); dw sums per-thread partials of
 * a static split of the images, in thread order. With fewer images than threads the forward splits the
 * channels instead (forward_split), the backward runs on one thread.
 */
#include "winograd_internal.h"
#include "conv2d_internal.h"

#include <string.h>

/* Per-thread budget of the transformed input V of one chunk, in floats (512 KB; M is as large, so
 * V and M together fit the 1 MB L2), but at least MIN_COLS tile columns per product (16x16 planes
 * under F(4x4) have 16 tiles: one 128-channel image would give 128 x 16 x 128 products). The
 * budgets measured: experiments/results/conv_tuning.md. */
#define CHUNK_FLOATS ((int64_t)1 << 17)
#define MIN_COLS 48
/* F(7x7)'s: 81 rows of V per channel overflow the budget at any width, and 48 columns of 14x14
 * planes (12 images) made V and M 1 MB each at 64 channels; 32 columns (8 images) ran 64->64 @14x14
 * fwd 1.24-1.30 ms against 1.34-1.56 (batch 64, alternating runs). */
#define MIN_COLS_F7 32
/* V and D rows (one channel, the chunk's tiles) have VPAD floats of padding: the AVX2 transforms
 * store whole vectors of 8 tiles, up to 7 past a tile row's end, into the next tile row, the next
 * image (both written later: images are the inner loop) or this padding. */
#define VPAD 8
/* Floats from one transform point xi's block of V, D or M to the next: the block (rows * cols floats)
 * rounded up to an odd number of 64-byte lines. A tile transform stores one line to each of alpha^2
 * blocks (100 under F(8x8)), and blocks a power-of-two multiple of lines apart (64 x 40 floats = 160
 * lines, 64 x 32 = 128) all fell into one or two of L1's 64 sets: each store evicted the line of the
 * one before. */
static inline int64_t point_stride(int64_t rows, int64_t cols) { return (((rows * cols + 15) / 16) | 1) * 16; }
/* Below this many multiply-adds (direct count) a call runs on the calling thread alone. */
#define PAR_MIN_MACS ((int64_t)1 << 20)
#define MAX_TEAM 64
/* forward_split holds all its images' tiles at once: only for a few. */
#define SPLIT_MAX_IMAGES 8
/* forward_split's block of transformed filters (floats): 256 KB, with V and M in the 1 MB L2 */
#define SPLIT_BLOCK_FLOATS ((int64_t)1 << 16)

int64_t nvp_winograd_work_floats(int m, int64_t h, int64_t width) {
    /* the vector input transforms' padded plane, phase-split plane and B^T-along-y rows (rows of
     * m*(TW+1) floats rounded up to 16, enough for the AVX2 and the AVX-512 ones), the output
     * transform's rows of ceil8(TW) (AVX2) or 16 floats (AVX-512), and slack for the vector reads
     * past a row's end */
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m, a = m + 2;
    int64_t rw16 = (m * (tw + 1) + 15) / 16 * 16, tw16 = (tw + 15) / 16 * 16;
    return (2 * (m * th + 2) + th * a + 3) * rw16 + (2 * a + 3) * m * tw16 + 64;
}

/* Ask for the plane (p floats) the next transform call reads (write = 0) or writes (write = 1) while
 * this one runs. The planes a thread walks are 100 KB apart (one channel of each image in turn) and
 * were mostly written by the other thread's share of the previous kernel: without this the
 * AVX-512 input transform waited on its row loads (perf: the FMA after each row load held ~30 % of
 * its samples). A prefetch never faults, so the address one past the tensor's last plane is harmless
 * (computed as an integer, never dereferenced). */
static inline void prefetch_plane(const float *plane, int64_t p, int write) {
    const char *q = (const char *)plane;
    for (int64_t e = 0; e < p * 4; e += 64) {
        if (write)
            __builtin_prefetch(q + e, 1, 3);
        else
            __builtin_prefetch(q + e, 0, 3);
    }
}

/* ---- the drivers ---- */

/* Team size: every thread gets >= 1 image and the call is big enough, else 1. */
static int team_for(int64_t n, int64_t macs) {
    int team = nvp_get_threads();
    if (team > MAX_TEAM) team = MAX_TEAM;
    return (macs >= PAR_MIN_MACS && n >= team) ? team : 1;
}

/* The team of forward_split: fewer images than threads, and a call big enough to share; else 1. One
 * image of the split is at most a few MB of V (a 32x32 plane, 128 channels, F(4x4): 2.4 MB). */
static int split_team(int64_t n, int64_t macs) {
    int team = nvp_get_threads();
    if (team > MAX_TEAM) team = MAX_TEAM;
    return (team > 1 && n < team && n <= SPLIT_MAX_IMAGES && macs >= PAR_MIN_MACS) ? team : 1;
}

/* Images per chunk of a thread holding `mine` images (`tiles` a plane): the CHUNK_FLOATS budget or
 * MIN_COLS (F(7x7): MIN_COLS_F7) columns, whichever is more, evened out over the chunks. */
static int64_t chunk_images(int64_t mine, int64_t per_image, int64_t tiles, int m) {
    int64_t nb = CHUNK_FLOATS / (per_image > 0 ? per_image : 1), min_cols = m >= 7 ? MIN_COLS_F7 : MIN_COLS;
    if (nb * tiles < min_cols) nb = (min_cols + tiles - 1) / (tiles > 0 ? tiles : 1);
    if (nb < 1) nb = 1;
    if (nb > mine) nb = mine;
    if (nb < 1) return 1;
    int64_t chunks = (mine + nb - 1) / nb;
    return (mine + chunks - 1) / chunks;
}

/* The per-thread parts of a pass. Each records a failure in *failed / *gemm_st (shared) and returns;
 * none has a barrier but transform_filters and forward_split's, so the callers decide the sync
 * points: the forward has one barrier and the end of its parallel region, the backward one barrier
 * more (before dw's reduction). Every sync point costs a time slice when the host is oversubscribed
 * (so the filters were once transformed by every thread: no barrier, but the same work twice; on a
 * host that is not oversubscribed the split won). */

/* U (alpha^2, co, ci) = the transformed filters, rows split over the team; every thread of the team
 * must call it (its loop ends in a barrier, after which all of U is there). Each thread transformed
 * all of U before: the same work twice, 2-3 % of a step (3 % of sampling). */
static void transform_filters(const nvp_winograd_transforms *tf, float *u, const float *w, int64_t co, int64_t ci,
                              int m, int flip) {
#pragma omp for schedule(static)
    for (int64_t r = 0; r < co; r++) tf->filter(u, w, r, co, ci, m, flip);
}

/* Planes per transform call: one, or for F(7x7) and F(8x8) all `cnt` of the chunk (see
 * nvp_winograd_transforms). */
static inline int64_t planes_per_call(int m, int64_t cnt) { return m >= 7 ? cnt : 1; }

/* The `planes` planes of input channel c (plane j at x + j*stride) the input transform reads: x's own,
 * or act(x) in the thread's buffer xa (planes*p floats, written here, read back at once by the
 * transform; *stride_out = their stride). */
static inline const float *input_planes(const nvp_winograd_transforms *tf, float *xa, const float *x, int64_t stride,
                                        int64_t planes, int64_t p, const nvp_bn_relu *act, int64_t c,
                                        int64_t *stride_out) {
    *stride_out = stride;
    if (act == NULL) return x;
    for (int64_t j = 0; j < planes; j++)
        tf->activate(xa + j * p, x + j * stride, p, act->mean[c], act->gamma[c] * act->invstd[c], act->beta[c]);
    *stride_out = p;
    return xa;
}

/* prefetch_plane of the next call's plane; not of several (F(7x7)'s calls): 8-12 planes' lines at
 * once waited on the miss buffers (the prefetch loop held 3 % of sampling fmnist-small's samples),
 * and without them the whole sampling ran 1-3 % fewer samples per product sample (5 of 5 runs). */
static inline void prefetch_planes(const float *plane, int64_t planes, int64_t p, int write) {
    if (planes == 1) prefetch_plane(plane, p, write);
}

/* y (n, co, H, W) [+]= winograd conv of x (n, ci, H, W) + b for this thread's images: the forward, or
 * the backward-data pass (x = dy, y = dx). u: the transformed filters (transform_filters, shared by
 * the team). */
static void forward_share(const nvp_winograd_transforms *tf, float *y, const float *r, const float *x,
                          const nvp_bn_relu *act, const float *u, const float *b, int64_t n, int64_t ci, int64_t co,
                          int64_t h, int64_t width, int m, int *failed, nvp_status *gemm_st) {
    int a = m + 2, a2 = a * a;
    int64_t p = h * width, t = ((h + m - 1) / m) * ((width + m - 1) / m);
    int64_t nt = nvp_team_size();
    /* chunks sized for an even share, handed out as threads get free: the two vCPUs of a shared host
     * do not keep the same speed, and a static split left each thread waiting ~10 % of a step */
    int64_t nb = chunk_images((n + nt - 1) / nt, a2 * (ci > co ? ci : co) * t, t, m), nchunks = (n + nb - 1) / nb;
    float *v = nvp_scratch(0, (size_t)(a2 * point_stride(ci, nb * t + VPAD)));
    float *mt = nvp_scratch(1, (size_t)(a2 * point_stride(co, nb * t) + nvp_winograd_work_floats(m, h, width) + nb * p +
                                        16));
    int ok = v != NULL && mt != NULL;
    if (!ok) {
#pragma omp atomic write
        *failed = 1;
    }
#pragma omp for schedule(dynamic, 1) nowait
    for (int64_t chunk = 0; chunk < nchunks; chunk++) {
        if (!ok) continue;
        int64_t i = chunk * nb, cnt = n - i < nb ? n - i : nb, ncols = cnt * t, ldv = ncols + VPAD;
        int64_t g = planes_per_call(m, cnt), stride, vx = point_stride(ci, ldv), mx = point_stride(co, ncols);
        float *work = mt + a2 * mx, *xa = work + nvp_winograd_work_floats(m, h, width);
        for (int64_t c = 0; c < ci; c++) /* in this order: see VPAD */
            for (int64_t j = 0; j < cnt; j += g) {
                prefetch_planes(x + (j + g < cnt ? (i + j + g) * ci + c : i * ci + c + 1) * p, g, p, 0);
                const float *xp = input_planes(tf, xa, x + ((i + j) * ci + c) * p, ci * p, g, p, act, c, &stride);
                tf->input(v + c * ldv + j * t, vx, xp, stride, g, h, width, m, work);
            }
        for (int xi = 0; xi < a2; xi++) {
            nvp_status st = nvp_gemm_small(0, 0, co, ncols, ci, u + xi * co * ci, ci, v + xi * vx, ldv, 0,
                                           mt + xi * mx, ncols);
            if (st != NVP_OK) {
#pragma omp critical(nvp_winograd_status)
                *gemm_st = st;
            }
        }
        for (int64_t j = 0; j < cnt; j += g)
            for (int64_t o = 0; o < co; o++) {
                float *plane = y + ((i + j) * co + o) * p;
                prefetch_planes(plane + p, g, p, 1);
                tf->output(plane, co * p, g, mt + o * ncols + j * t, mx, h, width, m, b ? b[o] : 0.0f,
                           r ? r + ((i + j) * co + o) * p : NULL, work);
            }
    }
}

/* Fewer images than threads (one image: sampling and encoding one at a time): the team splits the
 * channels instead. v (alpha^2, ci, n*T + VPAD) is shared (the caller's slot 0): each thread transforms
 * the input planes of its channels (images inner, so a transform's spill past its row stays in its own
 * channel), then, after one barrier, goes over its output channels SPLIT_BLOCK_FLOATS of filters at a
 * time: transforms them into its slot 2, multiplies and transforms back. With one image U is read by
 * few tiles, so the whole U (2.4 MB at 128->128) written and read back from beyond L2 cost more than
 * the products; a block of it stays in L2. */
static void forward_split(const nvp_winograd_transforms *tf, float *y, const float *r, const float *x,
                          const nvp_bn_relu *act, const float *w, float *v, const float *b, int64_t n, int64_t ci,
                          int64_t co, int64_t h, int64_t width, int m, int *failed, nvp_status *gemm_st) {
    int a = m + 2, a2 = a * a;
    int64_t p = h * width, t = ((h + m - 1) / m) * ((width + m - 1) / m), ncols = n * t, ldv = ncols + VPAD;
    int64_t vx = point_stride(ci, ldv), th = nvp_team_thread(), nt = nvp_team_size();
    int64_t o0 = co * th / nt, o1 = co * (th + 1) / nt;
    int64_t bo = SPLIT_BLOCK_FLOATS / (a2 * ci) / 8 * 8; /* output channels per block: whole 8-row blocks */
    if (bo < 8) bo = 8;
    if (bo > o1 - o0) bo = o1 - o0;
    int64_t work_floats = nvp_winograd_work_floats(m, h, width);
    int64_t mx = point_stride(bo, ncols);
    float *mt = nvp_scratch(1, (size_t)(a2 * mx + work_floats + n * p + 16));
    float *ub = bo > 0 ? nvp_scratch(2, (size_t)(a2 * bo * ci)) : NULL;
    int ok = mt != NULL && (bo == 0 || ub != NULL);
    float *work = ok ? mt + a2 * mx : NULL, *xa = ok ? work + work_floats : NULL;
    int64_t g = planes_per_call(m, n), stride;
#pragma omp for schedule(static) nowait
    for (int64_t c = 0; c < ci; c++)
        for (int64_t j = 0; j < n && ok; j += g) {
            const float *xp = input_planes(tf, xa, x + (j * ci + c) * p, ci * p, g, p, act, c, &stride);
            tf->input(v + c * ldv + j * t, vx, xp, stride, g, h, width, m, work);
        }
    if (!ok) {
#pragma omp atomic write
        *failed = 1;
    }
#pragma omp barrier /* (one barrier for V and *failed: the loop above ends without one) */
    if (!ok || *failed) return;
    for (int64_t ob = o0; ob < o1; ob += bo) {
        int64_t rows = o1 - ob < bo ? o1 - ob : bo;
        for (int64_t k = 0; k < rows; k++) tf->filter(ub, w + ob * ci * 9, k, rows, ci, m, 0); /* (a2, rows, ci) */
        for (int xi = 0; xi < a2; xi++) {
            nvp_status st = nvp_gemm_small(0, 0, rows, ncols, ci, ub + xi * rows * ci, ci, v + xi * vx, ldv, 0,
                                           mt + xi * mx, ncols);
            if (st != NVP_OK) {
#pragma omp critical(nvp_winograd_status)
                *gemm_st = st;
            }
        }
        for (int64_t j = 0; j < n; j += g)
            for (int64_t o = ob; o < ob + rows; o++)
                tf->output(y + (j * co + o) * p, co * p, g, mt + (o - ob) * ncols + j * t, mx, h, width, m,
                           b ? b[o] : 0.0f, r ? r + (j * co + o) * p : NULL, work);
    }
}

/* The sum of a plane's p floats in 16 interleaved float partials: independent chains the compiler
 * puts in vector lanes (one running sum was a chain of dependent adds, 1 % of a training step). */
static float plane_sum(const float *d, int64_t p) {
    float acc[16] = {0.0f}, tail = 0.0f;
    int64_t q = 0;
    for (; q + 16 <= p; q += 16)
        for (int l = 0; l < 16; l++) acc[l] += d[q + l];
    for (; q < p; q++) tail += d[q];
    for (int l = 0; l < 8; l++) acc[l] += acc[l + 8];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail;
}

/* db[o] += sum of dy[:, o] (one plane in float, the planes in double), o in [o0, o1). */
static void bias_grad(float *db, const float *dy, int64_t n, int64_t cout, int64_t p, int64_t o0, int64_t o1) {
    for (int64_t o = o0; o < o1; o++) {
        double s = 0.0;
        for (int64_t i = 0; i < n; i++) s += plane_sum(dy + (i * cout + o) * p, p);
        db[o] += (float)s;
    }
}

/* This thread's partial Mw (a^2, cout, cin) of the backward-filter pass over its images (see
 * winograd_internal.h), or NULL if it has no images or no memory. */
static float *filter_grad_share(const nvp_winograd_transforms *tf, const float *dy, const float *x,
                                const nvp_bn_relu *act, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width,
                                int m, int *failed, nvp_status *gemm_st) {
    int a = m + 2, a2 = a * a;
    int64_t p = h * width, t = ((h + m - 1) / m) * ((width + m - 1) / m), nw = a2 * cout * cin;
    int64_t i0, i1;
    nvp_team_share(n, &i0, &i1);
    if (i1 <= i0) return NULL;
    int64_t nb = chunk_images(i1 - i0, a2 * (cin > cout ? cin : cout) * t, t, m);
    float *v = nvp_scratch(0, (size_t)(a2 * point_stride(cin, nb * t + VPAD)));
    float *d = nvp_scratch(1, (size_t)(nw + a2 * point_stride(cout, nb * t + VPAD) + nvp_winograd_work_floats(m, h, width) +
                                      nb * p + 16));
    if (v == NULL || d == NULL) {
#pragma omp atomic write
        *failed = 1;
        return NULL;
    }
    memset(d, 0, (size_t)nw * sizeof(float));
    for (int64_t i = i0; i < i1; i += nb) {
        int64_t cnt = i1 - i < nb ? i1 - i : nb, ncols = cnt * t, ldv = ncols + VPAD;
        int64_t g = planes_per_call(m, cnt), stride, vx = point_stride(cin, ldv), dpx = point_stride(cout, ldv);
        float *dt = d + nw, *work = dt + a2 * dpx, *xa = work + nvp_winograd_work_floats(m, h, width);
        for (int64_t c = 0; c < cin; c++) /* in this order: see VPAD */
            for (int64_t j = 0; j < cnt; j += g) {
                prefetch_planes(x + (j + g < cnt ? (i + j + g) * cin + c : i * cin + c + 1) * p, g, p, 0);
                const float *xp = input_planes(tf, xa, x + ((i + j) * cin + c) * p, cin * p, g, p, act, c, &stride);
                tf->input(v + c * ldv + j * t, vx, xp, stride, g, h, width, m, work);
            }
        for (int64_t o = 0; o < cout; o++)
            for (int64_t j = 0; j < cnt; j += g) {
                prefetch_planes(dy + (j + g < cnt ? (i + j + g) * cout + o : i * cout + o + 1) * p, g, p, 0);
                tf->grad(dt + o * ldv + j * t, dpx, dy + ((i + j) * cout + o) * p, cout * p, g, h, width, m,
                         work);
            }
        for (int xi = 0; xi < a2; xi++) {
            nvp_status st = nvp_gemm_small(0, 1, cout, cin, ncols, dt + xi * dpx, ldv, v + xi * vx, ldv,
                                           1, d + xi * cout * cin, cin);
            if (st != NVP_OK) {
#pragma omp critical(nvp_winograd_status)
                *gemm_st = st;
            }
        }
    }
    return d;
}

static nvp_status check_tile(const char *fn, int tile) {
    if (tile != 2 && tile != 4 && tile != 7 && tile != 8)
        return nvp_fail(NVP_STATUS_UNSUPPORTED,
                        "%s: tile = %d is not supported (F(2x2,3x3), F(4x4,3x3), F(7x7,3x3) or F(8x8,3x3): 2, 4, 7 or 8)",
                        fn, tile);
    return NVP_OK;
}

nvp_status nvp_winograd_forward_with(const nvp_winograd_transforms *tf, const char *fn, float *y, const float *r,
                                     const float *x, const nvp_bn_relu *act, const float *w, const float *b,
                                     int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile) {
    nvp_status st = check_tile(fn, tile);
    if (st == NVP_OK) st = nvp_conv2d_check_args(fn, 0, y, x, w, 1, 1, n, cin, cout, h, width, 3);
    if (st == NVP_OK) st = nvp_conv2d_check_act(fn, act, n, cin, h * width);
    if (st != NVP_OK) return st;
    int64_t p = h * width;
    if (n * cout * p == 0) return NVP_OK;
    if (cin == 0) { /* no input channels: y = (r ? r : 0) + bias */
        for (int64_t i = 0; i < n * cout; i++)
            for (int64_t q = 0; q < p; q++)
                y[i * p + q] = (r ? r[i * p + q] : 0.0f) + (b ? b[i % cout] : 0.0f);
        return NVP_OK;
    }
    int team = team_for(n, n * cout * cin * 9 * p), failed = 0, a = tile + 2;
    nvp_status gemm_st = NVP_OK;
    int split = split_team(n, n * cout * cin * 9 * p);
    if (split > 1) {
        int64_t t = ((h + tile - 1) / tile) * ((width + tile - 1) / tile);
        float *v = nvp_scratch(0, (size_t)(a * a * point_stride(cin, n * t + VPAD))); /* shared: the caller's slot */
        if (v == NULL) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: no memory for the Winograd tiles", fn);
#pragma omp parallel num_threads(split)
        forward_split(tf, y, r, x, act, w, v, b, n, cin, cout, h, width, tile, &failed, &gemm_st);
    } else {
        float *u = nvp_scratch(2, (size_t)(a * a * cout * cin)); /* the calling thread's slot, shared by the team */
        if (u == NULL) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: no memory for the Winograd filters", fn);
#pragma omp parallel num_threads(team) if (team > 1)
        {
            transform_filters(tf, u, w, cout, cin, tile, 0);
            forward_share(tf, y, r, x, act, u, b, n, cin, cout, h, width, tile, &failed, &gemm_st);
        }
    }
    if (failed) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: no memory for the Winograd tiles", fn);
    return gemm_st;
}

nvp_status nvp_winograd_backward_with(const nvp_winograd_transforms *tf, const char *fn, float *dx, float *dw,
                                      float *db, const float *dy, const float *x, const nvp_bn_relu *act,
                                      const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width,
                                      int tile, int accumulate_dx) {
    nvp_status st = check_tile(fn, tile);
    if (st == NVP_OK)
        st = nvp_conv2d_check_args(fn, 1, dy, x, w, dw != NULL, dx != NULL, n, cin, cout, h, width, 3);
    if (st == NVP_OK && dw != NULL) st = nvp_conv2d_check_act(fn, act, n, cin, h * width);
    if (st != NVP_OK) return st;
    int64_t p = h * width;
    if (n * cout * p == 0) {
        if (dx != NULL && !accumulate_dx) memset(dx, 0, (size_t)(n * cin * p) * sizeof(float));
        return NVP_OK;
    }
    if (cin == 0) {
        if (db != NULL) bias_grad(db, dy, n, cout, p, 0, cout);
        return NVP_OK;
    }
    int team = team_for(n, n * cout * cin * 9 * p), failed = 0, team_size = 1, a = tile + 2;
    float *part[MAX_TEAM] = {NULL};
    nvp_status gemm_st = NVP_OK;
    float *u = NULL; /* dx's transformed filters: the calling thread's slot, shared by the team */
    if (dx != NULL && (u = nvp_scratch(2, (size_t)(a * a * cin * cout))) == NULL)
        return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: no memory for the Winograd filters", fn);
#pragma omp parallel num_threads(team) if (team > 1)
    {
        int th = nvp_team_thread(), nt = nvp_team_size();
        if (th == 0) team_size = nt;
        if (db != NULL) bias_grad(db, dy, n, cout, p, cout * th / nt, cout * (th + 1) / nt);
        /* dx (+)= the "full" correlation of dy with the rotated, transposed filters */
        if (dx != NULL) {
            transform_filters(tf, u, w, cin, cout, tile, 1);
            forward_share(tf, dx, accumulate_dx ? dx : NULL, dy, NULL, u, NULL, n, cout, cin, h, width, tile, &failed,
                          &gemm_st);
        }
        if (dw != NULL) {
            part[th] = filter_grad_share(tf, dy, x, act, n, cin, cout, h, width, tile, &failed, &gemm_st);
#pragma omp barrier
            if (!failed) { /* dw += G^T (sum of the partials, in thread order) G; the region's end syncs */
#pragma omp for schedule(static) nowait
                for (int64_t o = 0; o < cout; o++) tf->filter_grad(dw, part, team_size, o, cout, cin, tile);
            }
        }
    }
    if (failed) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: no memory for the Winograd tiles", fn);
    return gemm_st;
}

nvp_status nvp_winograd_forward_add_with(const nvp_winograd_transforms *tf, float *y, const float *r, const float *x,
                                         const float *w, const float *b, int64_t n, int64_t cin, int64_t cout,
                                         int64_t h, int64_t width, int tile) {
    if (r == NULL)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_winograd_forward_add: r (%lld,%lld,%lld,%lld) is NULL", (long long)n,
                        (long long)cout, (long long)h, (long long)width);
    return nvp_winograd_forward_with(tf, "nvp_winograd_forward_add", y, r, x, NULL, w, b, n, cin, cout, h, width,
                                     tile);
}

/* ---- the op table (nvp_winograd_select) and the entries that go through it ---- */

typedef struct winograd_ops {
    __typeof__(nvp_winograd_forward_ref) *forward;
    __typeof__(nvp_winograd_forward_add_ref) *forward_add;
    __typeof__(nvp_winograd_forward_act_ref) *forward_act;
    __typeof__(nvp_winograd_backward_ref) *backward;
    __typeof__(nvp_winograd_backward_act_ref) *backward_act;
} winograd_ops;
static const winograd_ops ref_ops = {
    .forward = nvp_winograd_forward_ref,
    .forward_add = nvp_winograd_forward_add_ref,
    .forward_act = nvp_winograd_forward_act_ref,
    .backward = nvp_winograd_backward_ref,
    .backward_act = nvp_winograd_backward_act_ref,
};
static const winograd_ops avx2_ops = {
    .forward = nvp_winograd_forward_avx2,
    .forward_add = nvp_winograd_forward_add_avx2,
    .forward_act = nvp_winograd_forward_act_avx2,
    .backward = nvp_winograd_backward_avx2,
    .backward_act = nvp_winograd_backward_act_avx2,
};
static const winograd_ops avx512_ops = {
    .forward = nvp_winograd_forward_avx512,
    .forward_add = nvp_winograd_forward_add_avx512,
    .forward_act = nvp_winograd_forward_act_avx512,
    .backward = nvp_winograd_backward_avx512,
    .backward_act = nvp_winograd_backward_act_avx512,
};
static const winograd_ops *ops = &ref_ops; /* the scalar path until nvp_init or nvp_set_cpu_path */

void nvp_winograd_select(nvp_isa isa) {
    ops = isa == NVP_ISA_AVX512 ? &avx512_ops : isa == NVP_ISA_AVX2 ? &avx2_ops : &ref_ops;
}

nvp_status nvp_winograd_forward_add(float *y, const float *r, const float *x, const float *w, const float *b,
                                    int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile) {
    return ops->forward_add(y, r, x, w, b, n, cin, cout, h, width, tile);
}

nvp_status nvp_winograd_forward(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                int64_t cout, int64_t h, int64_t width, int tile, int accumulate) {
    return ops->forward(y, x, w, b, n, cin, cout, h, width, tile, accumulate);
}

nvp_status nvp_winograd_forward_act(float *y, const float *r, const float *x, const nvp_bn_relu *act, const float *w,
                                    const float *b, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width,
                                    int tile) {
    return ops->forward_act(y, r, x, act, w, b, n, cin, cout, h, width, tile);
}

nvp_status nvp_winograd_backward_act(float *dx, float *dw, float *db, const float *dy, const float *x,
                                     const nvp_bn_relu *act, const float *w, int64_t n, int64_t cin, int64_t cout,
                                     int64_t h, int64_t width, int tile, int accumulate_dx) {
    return ops->backward_act(dx, dw, db, dy, x, act, w, n, cin, cout, h, width, tile, accumulate_dx);
}

nvp_status nvp_winograd_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                 int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile,
                                 int accumulate_dx) {
    return ops->backward(dx, dw, db, dy, x, w, n, cin, cout, h, width, tile, accumulate_dx);
}
