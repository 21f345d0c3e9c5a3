/*
 * conv2d_router.c -- the convolution's public entries (nvp_conv2d_forward, nvp_conv2d_backward), their
 * argument checks, and the one place that decides which algorithm runs a conv of a given shape on the
 * current CPU path, with the reasons. No vector code here: the algorithms live in files named for
 * them, all behind conv2d_internal.h / winograd_internal.h:
 *
 *   conv2d_direct.c          direct loops in scalar C: the reference (the definition of correct), and
 *                            the only algorithm of the scalar path unless Winograd is asked for
 *   conv2d_direct_avx512.c   direct forward 3x3 with few input channels, in registers (AVX-512)
 *   conv2d_im2col_avx2.c     im2col + GEMM (a 1x1 conv is the GEMM alone), per image on a team of
 *                            threads or batched with threaded GEMMs (AVX2 data movement)
 *   winograd.c, winograd_ref.c, winograd_avx2.c, winograd_avx512.c
 *                            Winograd F(2x2,3x3), F(4x4,3x3), F(7x7,3x3) and F(8x8,3x3), the tile
 *                            transforms per CPU path
 *
 * nvp_set_conv_algorithm (nvp.h) overrides the rules for benchmarks and specs; an algorithm that cannot
 * run a shape or the current path (Winograd on a 1x1 conv, im2col on the scalar path, the AVX-512
 * direct loops on the backward) leaves that call to the rules / the reference. How the rules were
 * measured, with dates and figures: experiments/results/conv_tuning.md.
 */
#include "conv2d_internal.h"
#include "winograd_internal.h"

#include <string.h>

/* ---- argument checks (every conv entry, whatever algorithm runs) ---- */

nvp_status nvp_conv2d_check_args(const char *fn, int backward, const float *y_or_dy, const float *x,
                                 const float *w, int need_x, int need_w, int64_t n, int64_t cin,
                                 int64_t cout, int64_t h, int64_t width, int64_t k) {
    if (k != 1 && k != 3)
        return nvp_fail(NVP_STATUS_UNSUPPORTED, "%s: k = %lld is not supported (k must be 1 or 3)", fn, (long long)k);
    NVP_CHECK_SIZE(fn, n);
    NVP_CHECK_SIZE(fn, cin);
    NVP_CHECK_SIZE(fn, cout);
    NVP_CHECK_SIZE(fn, h);
    NVP_CHECK_SIZE(fn, width);
    int64_t p = h * width;
    if (n * cout * p > 0) {
        if (y_or_dy == NULL)
            return nvp_fail(NVP_STATUS_BAD_ARG, "%s: %s (%lld,%lld,%lld,%lld) is NULL", fn, backward ? "dy" : "y",
                            (long long)n, (long long)cout, (long long)h, (long long)width);
    }
    if (need_x && n * cin * p > 0 && x == NULL)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: x (%lld,%lld,%lld,%lld) is NULL", fn, (long long)n, (long long)cin,
                        (long long)h, (long long)width);
    if (need_w && n * p * cout * cin > 0 && w == NULL)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: w (%lld,%lld,%lld,%lld) is NULL", fn, (long long)cout,
                        (long long)cin, (long long)k, (long long)k);
    return NVP_OK;
}

nvp_status nvp_conv2d_check_act(const char *fn, const nvp_bn_relu *act, int64_t n, int64_t cin, int64_t p) {
    if (act == NULL || n * cin * p == 0) return NVP_OK;
    const float *arrays[4] = {act->mean, act->invstd, act->gamma, act->beta};
    static const char *names[4] = {"mean", "invstd", "gamma", "beta"};
    for (int i = 0; i < 4; i++)
        if (arrays[i] == NULL)
            return nvp_fail(NVP_STATUS_BAD_ARG, "%s: act->%s (%lld) is NULL", fn, names[i], (long long)cin);
    return NVP_OK;
}

/* *xa = act(x) (N,Cin,H,W) in the calling thread's scratch slot 4, by the batch norm of the current CPU
 * path (nvp_batchnorm_forward_eval, the arithmetic Winograd's in-L1 act repeats). For the algorithms that
 * cannot apply act on the fly (the direct loops, im2col, 1x1 GEMMs). */
static nvp_status activated_input(const char *fn, const float **xa, const float *x, const nvp_bn_relu *act,
                                  int64_t n, int64_t cin, int64_t p) {
    float *buf = nvp_scratch(4, (size_t)(n * cin * p > 0 ? n * cin * p : 1));
    if (buf == NULL)
        return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: no memory for act(x) (%lld,%lld,%lld)", fn, (long long)n,
                        (long long)cin, (long long)p);
    *xa = buf;
    nvp_status st = nvp_conv2d_check_act(fn, act, n, cin, p);
    if (st != NVP_OK || n * cin * p == 0) return st;
    return nvp_batchnorm_forward_eval(buf, x, act->gamma, act->beta, act->mean, act->invstd, n, cin, p, 1);
}


/* ---- the override ---- */

static nvp_conv_algorithm forced = NVP_CONV_AUTO;

nvp_status nvp_set_conv_algorithm(nvp_conv_algorithm algorithm) {
    if ((int)algorithm < NVP_CONV_AUTO || (int)algorithm > NVP_CONV_WINOGRAD_F8)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_set_conv_algorithm: algorithm = %d is not an nvp_conv_algorithm",
                        (int)algorithm);
    forced = algorithm;
    return NVP_OK;
}

nvp_conv_algorithm nvp_get_conv_algorithm(void) { return forced; }

/* ---- the rules ---- */

/* The Winograd tile (2, 4, 7 or 8) for a 3x3 conv pass (0 forward, 1 backward-data, 2 backward-filter), or 0.
 *   - Winograd when Cin >= 16: it won every pass of every such reference shape (1.3-1.9x over im2col),
 *     including the last convs with 6-12 output channels; with 2-12 input channels (the first convs)
 *     the transforms cost more than the multiplies they save and im2col won the backward passes by up
 *     to 2x.
 *   - AVX2 transforms: F(4x4) on planes 14-16 wide (two tile rows a ymm: winograd_f4_pairs_avx2.c;
 *     1.1-1.2x F(2x2) at 64->64 @14x14, 1.5-1.6x at 128->128 @16x16) and >= 28x28 (1.1-1.4x), F(2x2)
 *     on 17-27 wide planes, where F(4x4)'s transforms run along half-empty vectors.
 *   - AVX-512 transforms (rows in registers up to 32 columns): F(4x4) on planes of >= 14x14, where it
 *     wins (27 % fewer products than F(2x2) per 14x14 plane, 44 % at 16x16).
 *   - Both vector paths: F(7x7) on the planes of 2 x 2 or 4 x 4 tiles of 7 (8-14 and 22-28 wide) where
 *     it does at most 0.8x F(4x4)'s products (14x14: 0.56x, 28x28: 0.73x). Batch 64, fwd / data /
 *     filter, F(7x7) / F(4x4): AVX-512 64->64 @14x14 0.70-0.94 / 0.74-0.95 / 0.74-0.96, 32->32 @28x28
 *     0.83-0.91 / 0.82-0.98 / 1.04-1.07; AVX2 0.81 / 0.85 / 1.03 and 0.82 / 0.83 / 0.85
 *     (experiments/results/bench.md, section I).
 *   - F(8x8) likewise on the planes of 2 x 2 or 4 x 4 tiles of 8 (9-16 and 25-32 wide) where it does
 *     the fewest products (16x16 and 32x32: 0.69x F(4x4)'s; 14x14 and 28x28 stay F(7x7)). F(8x8) /
 *     F(4x4), batch 64, fwd / data / filter: AVX-512 64->64 @32x32 0.88 / 0.87 / 0.89, 128->128 @16x16
 *     0.82 / 0.83 / 0.97 (winograd_bench; bench.md section J); AVX2 0.88-0.90 / 0.91-0.93 / 0.94-0.97
 *     and 0.92-0.94 / 0.97-1.00 / 1.12 (its F(4x4) pairs transforms hold 16-wide planes well), so on
 *     AVX2 only the 4 x 4-tile planes.
 *   - F(7x7) and F(8x8) only from BIG_TILE_MIN_IMAGES images: below, their filter transforms (81 or
 *     100 points a filter) and groups of 4 images with 1-2 filled cost more than they save (64->64
 *     @14x14, one image: 0.265 / 0.339 / 0.413 ms vs F(4x4)'s 0.129 / 0.101 / 0.247; 8 images: even).
 *   - The scalar path runs the direct reference, the definition of correct, unless Winograd is forced.
 * The rule is the same for the three passes (the measured winners agreed but for near-ties). */
#define BIG_TILE_MIN_IMAGES 32

/* Products of F(m x m) over an H x W plane: alpha^2 per tile */
static int64_t winograd_products(int m, int64_t h, int64_t width) {
    return (int64_t)(m + 2) * (m + 2) * ((h + m - 1) / m) * ((width + m - 1) / m);
}

static int winograd_tile(int pass, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k) {
    (void)pass, (void)cout;
    if (k != 3) return 0;
    if (forced == NVP_CONV_WINOGRAD_F2) return 2;
    if (forced == NVP_CONV_WINOGRAD_F4) return 4;
    if (forced == NVP_CONV_WINOGRAD_F7) return 7;
    if (forced == NVP_CONV_WINOGRAD_F8) return 8;
    nvp_isa isa = nvp_current_isa();
    if (forced != NVP_CONV_AUTO && forced != NVP_CONV_WINOGRAD) return 0;
    if (isa == NVP_ISA_SCALAR && forced != NVP_CONV_WINOGRAD) return 0;
    int f4 = isa == NVP_ISA_AVX512 ? h >= 14 && width >= 14
                                   : (h >= 14 && width >= 14 && width <= 16) || (h >= 28 && width >= 28);
    int tile = f4 ? 4 : 2;
    if (isa != NVP_ISA_SCALAR && n >= BIG_TILE_MIN_IMAGES) {
        int64_t best = 4 * winograd_products(4, h, width) / 5; /* at most 0.8x F(4x4)'s */
        if (nvp_winograd_f7_fast(h, width) && winograd_products(7, h, width) <= best)
            tile = 7, best = winograd_products(7, h, width);
        if (nvp_winograd_f8_fast(h, width) && (isa == NVP_ISA_AVX512 || h >= 25) &&
            winograd_products(8, h, width) < best)
            tile = 8;
    }
    return cin >= 16 || forced == NVP_CONV_WINOGRAD ? tile : 0;
}

/* The direct reference loops: the scalar path (it has no im2col), or asked for. */
static int use_direct_ref(void) { return nvp_current_isa() == NVP_ISA_SCALAR || forced == NVP_CONV_DIRECT; }

/* The AVX-512 direct forward 3x3 (conv2d_direct_avx512.c): the shapes Winograd leaves (Cin < 16) up to
 * DIRECT_MAX_CIN, where im2col's GEMM is short in K (9*Cin = 18-36) and ran at sgemm's speed; or any
 * Cin when the direct algorithm is forced. */
#define DIRECT_MAX_CIN 12
static int use_direct_avx512(int64_t cin, int64_t k) {
    if (nvp_current_isa() != NVP_ISA_AVX512 || k != 3) return 0;
    return forced == NVP_CONV_DIRECT || (forced == NVP_CONV_AUTO && cin <= DIRECT_MAX_CIN);
}

/* Below this many multiply-adds a call runs on the calling thread alone (team 1): waking the team costs
 * more, and far more when the host is oversubscribed and the worker is descheduled. */
#define PAR_MIN_MACS ((int64_t)1 << 20)
/* Largest team of the per-image im2col (it keeps one partial dW pointer per thread). */
#define MAX_TEAM 64

/* im2col's team for the per-image variant, or 0 for the batched one:
 *   - small calls (< PAR_MIN_MACS): per image, calling thread only;
 *   - fewer images than threads: batched, where OpenBLAS splits each GEMM over the threads;
 *   - otherwise (every thread gets >= 1 image; all the batch-64 training shapes): per image, which won
 *     on every reference shape (1.4-4.5x: the batched variant's serial data movement kept one core
 *     spinning). */
static int im2col_team(int64_t n, int64_t macs) {
    int team = nvp_get_threads();
    if (team > MAX_TEAM) team = MAX_TEAM;
    if (forced == NVP_CONV_IM2COL_BATCHED) return 0;
    if (macs < PAR_MIN_MACS) return 1;
    if (forced == NVP_CONV_IM2COL) return team;
    return n >= team ? team : 0;
}

/* A 1x1 forward that im2col would batch (fewer images than threads): split over the output channels
 * instead, unless batched was asked for. OpenBLAS packed both operands for these small products and
 * left a thread idle: 7 % of sampling one cifar-ref image. */
static int split_1x1(int64_t k) { return k == 1 && forced != NVP_CONV_IM2COL_BATCHED; }

const char *nvp_conv2d_path_name(int pass, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k) {
    if (pass < 0 || pass > 2) return "unknown pass";
    int tile = winograd_tile(pass, n, cin, cout, h, width, k);
    if (tile == 8) return "winograd F(8x8,3x3)";
    if (tile == 7) return "winograd F(7x7,3x3)";
    if (tile == 4) return "winograd F(4x4,3x3)";
    if (tile == 2) return "winograd F(2x2,3x3)";
    if (pass == 0 && use_direct_avx512(cin, k)) return "direct AVX-512 (few input channels)";
    if (use_direct_ref()) return "direct (scalar reference)";
    if (im2col_team(n, n * cout * cin * k * k * h * width) > 0) return "im2col per image";
    return pass == 0 && split_1x1(k) ? "1x1 split over output channels" : "im2col batched";
}

/* ---- routing, arguments checked ---- */

/* y = (accumulate ? y : 0) + conv(x) + b */
static nvp_status forward_plain(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                int64_t cout, int64_t h, int64_t width, int64_t k, int accumulate) {
    int64_t p = h * width, kdim = cin * k * k;
    if (n * cout * p == 0) return NVP_OK;
    int tile = kdim > 0 ? winograd_tile(0, n, cin, cout, h, width, k) : 0;
    if (tile > 0) return nvp_winograd_forward(y, x, w, b, n, cin, cout, h, width, tile, accumulate);
    if (kdim == 0 || use_direct_ref()) /* (no input channels: y = (accumulate ? y : 0) + b) */
        return nvp_conv2d_forward_ref(y, x, w, b, n, cin, cout, h, width, k, accumulate);
    int team = im2col_team(n, n * cout * kdim * p);
    if (use_direct_avx512(cin, k))
        return nvp_conv3x3_direct_avx512(y, x, w, b, n, cin, cout, h, width, accumulate, team > 0 ? team : 1);
    if (team == 0 && split_1x1(k))
        return nvp_conv2d_1x1_forward_split(y, x, w, b, n, cin, cout, p, accumulate, nvp_get_threads());
    return nvp_conv2d_im2col_forward(y, x, w, b, n, cin, cout, h, width, k, accumulate, team);
}

/* y = r + conv(x) + b, r not NULL: the Winograd paths add r in their output transform, the others copy it
 * into y first. */
static nvp_status forward_add(float *y, const float *r, const float *x, const float *w, const float *b, int64_t n,
                              int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k) {
    int tile = winograd_tile(0, n, cin, cout, h, width, k);
    if (tile > 0) return nvp_winograd_forward_add(y, r, x, w, b, n, cin, cout, h, width, tile);
    nvp_status st;
    if (r != y && (st = nvp_copy(y, r, n * cout * h * width)) != NVP_OK) return st;
    return forward_plain(y, x, w, b, n, cin, cout, h, width, k, 1);
}

/* dy: (N,Cout,H,W); dx (+)= (N,Cin,H,W), dw += (Cout,Cin,k,k), db += (Cout); each may be NULL. */
static nvp_status backward_plain(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                 int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int64_t k,
                                 int accumulate_dx) {
    int64_t p = h * width, kdim = cin * k * k;
    if (use_direct_ref() && winograd_tile(1, n, cin, cout, h, width, k) == 0)
        return nvp_conv2d_backward_ref(dx, dw, db, dy, x, w, n, cin, cout, h, width, k, accumulate_dx);
    if (dx != NULL && !accumulate_dx && (n * cout * p == 0 || kdim == 0)) {
        memset(dx, 0, (size_t)(n * cin * p) * sizeof(float)); /* nothing flows back: a fresh dx is 0 */
        dx = NULL;
    }
    if (n * cout * p == 0) return NVP_OK;
    nvp_status st;
    /* db alone goes with the data pass under a forced Winograd algorithm, so that each gradient alone
     * gives the numbers of the joint call; the rules leave it to the sums below */
    int forced_winograd = forced >= NVP_CONV_WINOGRAD;
    int tile_data = dx != NULL || (dw == NULL && forced_winograd) ? winograd_tile(1, n, cin, cout, h, width, k) : 0;
    int tile_filter = dw != NULL ? winograd_tile(2, n, cin, cout, h, width, k) : 0;
    if (tile_data > 0 && (tile_filter == tile_data || dw == NULL))
        return nvp_winograd_backward(dx, dw, db, dy, x, w, n, cin, cout, h, width, tile_data, accumulate_dx);
    if (tile_data > 0) { /* dx (and db) by Winograd, dw by the path below */
        st = nvp_winograd_backward(dx, NULL, db, dy, x, w, n, cin, cout, h, width, tile_data, accumulate_dx);
        if (st != NVP_OK) return st;
        dx = NULL, db = NULL;
    } else if (tile_filter > 0) {
        st = nvp_winograd_backward(NULL, dw, db, dy, x, w, n, cin, cout, h, width, tile_filter, 1);
        if (st != NVP_OK || dx == NULL) return st;
        dw = NULL, db = NULL;
    }
    if (use_direct_ref())
        return nvp_conv2d_backward_ref(dx, dw, db, dy, x, w, n, cin, cout, h, width, k, accumulate_dx);
    int team = im2col_team(n, n * cout * kdim * p);
    return nvp_conv2d_im2col_backward(dx, dw, db, dy, x, w, n, cin, cout, h, width, k, accumulate_dx, team);
}

/* ---- the public entries ---- */

// y: (N,Cout,H,W) = (r ? r : 0) + conv(act(x): (N,Cin,H,W), w: (Cout,Cin,k,k)) + b: (Cout)
nvp_status nvp_conv2d_forward(float *y, const float *r, const float *x, const nvp_bn_relu *act, const float *w,
                              const float *b, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width,
                              int64_t k) {
    static const char fn[] = "nvp_conv2d_forward";
    nvp_status st = nvp_conv2d_check_args(fn, 0, y, x, w, 1, 1, n, cin, cout, h, width, k);
    if (st == NVP_OK) st = nvp_conv2d_check_act(fn, act, n, cin, h * width);
    if (st != NVP_OK) return st;
    if (act == NULL) {
        if (r == NULL || r == y) return forward_plain(y, x, w, b, n, cin, cout, h, width, k, r == y);
        return forward_add(y, r, x, w, b, n, cin, cout, h, width, k);
    }
    /* the Winograd paths apply act per plane in their input transform; the others read act(x) from a
     * scratch copy made by the batch norm of the same CPU path (the same arithmetic) */
    int tile = winograd_tile(0, n, cin, cout, h, width, k);
    if (tile > 0) return nvp_winograd_forward_act(y, r, x, act, w, b, n, cin, cout, h, width, tile);
    if ((st = activated_input(fn, &x, x, act, n, cin, h * width)) != NVP_OK) return st;
    if (r == NULL || r == y) return forward_plain(y, x, w, b, n, cin, cout, h, width, k, r == y);
    return forward_add(y, r, x, w, b, n, cin, cout, h, width, k);
}

// dy: (N,Cout,H,W); dx (+)= dL/d act(x) (N,Cin,H,W), dw += (Cout,Cin,k,k), db += (Cout); each may be NULL
nvp_status nvp_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                               const nvp_bn_relu *act, const float *w, int64_t n, int64_t cin, int64_t cout,
                               int64_t h, int64_t width, int64_t k, int accumulate_dx) {
    static const char fn[] = "nvp_conv2d_backward";
    nvp_status st = nvp_conv2d_check_args(fn, 1, dy, x, w, dw != NULL, dx != NULL, n, cin, cout, h, width, k);
    if (st == NVP_OK && dw != NULL) st = nvp_conv2d_check_act(fn, act, n, cin, h * width);
    if (st != NVP_OK) return st;
    if (act == NULL || dw == NULL) /* dx needs only w and dy: act does not enter */
        return backward_plain(dx, dw, db, dy, x, w, n, cin, cout, h, width, k, accumulate_dx);
    int tile_filter = winograd_tile(2, n, cin, cout, h, width, k);
    int tile_data = dx != NULL ? winograd_tile(1, n, cin, cout, h, width, k) : 0;
    if (tile_filter > 0 && (dx == NULL || tile_data == tile_filter)) /* dx, dw, db in one parallel region */
        return nvp_winograd_backward_act(dx, dw, db, dy, x, act, w, n, cin, cout, h, width, tile_filter, accumulate_dx);
    if (tile_filter > 0) { /* dw (and db) with act on the fly, then dx (no x needed) by the rules */
        st = nvp_winograd_backward_act(NULL, dw, db, dy, x, act, w, n, cin, cout, h, width, tile_filter, 1);
        if (st != NVP_OK || dx == NULL) return st;
        return backward_plain(dx, NULL, NULL, dy, x, w, n, cin, cout, h, width, k, accumulate_dx);
    }
    if ((st = activated_input(fn, &x, x, act, n, cin, h * width)) != NVP_OK) return st;
    return backward_plain(dx, dw, db, dy, x, w, n, cin, cout, h, width, k, accumulate_dx);
}
