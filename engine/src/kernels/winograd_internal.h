/*
 * winograd_internal.h -- what winograd.c (the drivers), winograd_ref.c (the scalar tile and filter
 * transforms), winograd_avx2.c and winograd_avx512.c (the vector ones) share, and the entries the conv
 * router (conv2d_router.c) calls. Not part of nvp.h, never exported.
 *
 * Winograd F(m x m, 3 x 3) (Lavin & Gray 2016), m = 2, 4, 7 or 8, alpha = m + 2, tiles of one plane at
 * stride m: tile (ty, tx) covers output rows m*ty .. m*ty+m-1 and reads input rows m*ty-1 ..
 * m*ty+m (pad 1). TH = ceil(H/m), TW = ceil(W/m) tiles, T = TH*TW per plane, tile t = ty*TW + tx.
 * A transformed plane is alpha^2 rows: element xi = k*alpha + l of tile t sits at v[xi*xs + t].
 *
 *   forward:         y = A^T [ (G g G^T) . (B^T d B) ] A                  (per tile, . = elementwise)
 *   backward-data:   the forward with g'[c][o] = rot180(g[o][c]) (a "full" correlation of dy)
 *   backward-filter: dg = G^T [ sum_tiles (A dy_t A^T) . (B^T d_t B) ] G  (the transpose of the
 *                    forward's bilinear form: sum y.dy = sum_xi (G g)(B^T d)(A dy), differentiated
 *                    in g), so x goes through the SAME input transform as in the forward.
 */
#ifndef NVP_WINOGRAD_H
#define NVP_WINOGRAD_H

#include "internal.h"

/* The tile transforms of `planes` planes (H,W) at once, plane j at x + j*stride, its T tiles at
 * columns j*T .. j*T + T - 1 of V / M (the drivers pass one plane, or for F(7x7), whose 14x14 planes
 * have 4 tiles, the chunk's images of one channel: a vector of 16 tiles spans planes); `work` holds
 * nvp_winograd_work_floats(m, h, width) floats. */
typedef struct nvp_winograd_transforms {
    /* v[xi*xs + j*T + t] = (B^T d_t B)[xi] for every tile t of the zero-padded plane j of x. */
    void (*input)(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h, int64_t width,
                  int m, float *work);
    /* v[xi*xs + j*T + t] = (A dy_t A^T)[xi], dy_t = the m x m block t of plane j of dy (zeros past
     * the edge). */
    void (*grad)(float *v, int64_t xs, const float *dy, int64_t stride, int64_t planes, int64_t h, int64_t width,
                 int m, float *work);
    /* plane j of y = (add ? plane j of add : 0) + bias + A^T M_t A for the tile rows inside the plane
     * (M_t at column j*T + t); add (same stride) may be y itself (accumulate) or another tensor (a
     * residual sum). */
    void (*output)(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h, int64_t width,
                   int m, float bias, const float *add, float *work);
    /* U[xi][r][col] = (G g G^T)[xi] for every col < cols of row r, U (alpha^2, rows, cols); g = w[r][col]
     * (w (rows, cols, 3, 3)), or with flip = rot180(w[col][r]) (w (cols, rows, 3, 3)): backward-data. */
    void (*filter)(float *u, const float *w, int64_t r, int64_t rows, int64_t cols, int m, int flip);
    /* dst[0..p) = max(0, (x - mean) * scale + beta): one input plane through a batch norm + ReLU
     * (nvp_bn_relu), as nvp_batchnorm_forward_eval computes it on the same path. */
    void (*activate)(float *dst, const float *x, int64_t p, float mean, float scale, float beta);
    /* dw[r][col] += G^T Mw[.][r][col] G for every col < cols, Mw = the sum of the nparts partials
     * part[p] (alpha^2, rows, cols) in order (NULL ones skipped): the backward-filter pass's end. */
    void (*filter_grad)(float *dw, float *const *part, int nparts, int64_t r, int64_t rows, int64_t cols, int m);
} nvp_winograd_transforms;

/* winograd_ref.c's scalar transforms: the scalar path's, and F(7x7)'s on the AVX2 path. */
extern const nvp_winograd_transforms nvp_winograd_transforms_ref;

/* The scalar filter transform of columns [col0, cols) of row r (the AVX2 one's tail). */
void nvp_winograd_filter_row_ref(float *u, const float *w, int64_t r, int64_t rows, int64_t cols, int64_t col0,
                                 int m, int flip);

/* winograd_avx2.c's filter transform (8 filters per vector), shared by the AVX-512 transforms. */
void nvp_winograd_filter_avx2(float *u, const float *w, int64_t r, int64_t rows, int64_t cols, int m, int flip);

/* winograd_narrow_avx2.c: the AVX2 tile transforms of F(2x2) on planes 9-14 wide, rows in registers
 * (winograd_avx2.c calls them where nvp_winograd_narrow_fits). */
static inline int nvp_winograd_narrow_fits(int64_t width, int m) { return m == 2 && width >= 9 && width <= 14; }
void nvp_winograd_narrow_input_avx2(float *v, int64_t xs, const float *x, int64_t h, int64_t width);
void nvp_winograd_narrow_grad_avx2(float *v, int64_t xs, const float *dy, int64_t h, int64_t width);
void nvp_winograd_narrow_output_avx2(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, float bias,
                                     const float *add);
/* winograd_f4_pairs_avx2.c: F(4x4)'s AVX2 tile transforms on planes 13-16 wide, two tile rows a ymm */
static inline int nvp_winograd_pairs_fit(int64_t width, int m) { return m == 4 && width >= 13 && width <= 16; }
void nvp_winograd_pairs_input_avx2(float *v, int64_t xs, const float *x, int64_t h, int64_t width);
void nvp_winograd_pairs_grad_avx2(float *v, int64_t xs, const float *dy, int64_t h, int64_t width);
void nvp_winograd_pairs_output_avx2(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, float bias,
                                    const float *add);
/* and F(4x4)'s gradient and output transforms on planes 25-32 wide */
static inline int nvp_winograd_wide_fits(int64_t width, int m) { return m == 4 && width >= 25 && width <= 32; }
void nvp_winograd_wide_grad_avx2(float *v, int64_t xs, const float *dy, int64_t h, int64_t width);
void nvp_winograd_wide_output_avx2(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, float bias,
                                   const float *add);

/* winograd_f7_avx512.c and winograd_f7_avx2.c: F(7x7)'s vector tile transforms (16 or 8 tiles a
 * vector across the call's planes, in-register transposes), for planes of 2 x 2 or 4 x 4 tiles of 7
 * (the only ones the router gives F(7x7)); other planes take the scalar transforms. grad = 0: the
 * input transform, 1: the gradient transform (the contract of nvp_winograd_transforms). */
static inline int nvp_winograd_f7_fast(int64_t h, int64_t width) {
    return (h >= 8 && h <= 14 && width >= 8 && width <= 14) || (h >= 22 && h <= 28 && width >= 22 && width <= 28);
}
void nvp_winograd_f7_input_avx512(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                                  int64_t width, int grad, float *work);
void nvp_winograd_f7_output_avx512(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h,
                                   int64_t width, float bias, const float *add, float *work);
void nvp_winograd_f7_input_avx2(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                                int64_t width, int grad, float *work);
void nvp_winograd_f7_output_avx2(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h,
                                 int64_t width, float bias, const float *add, float *work);

/* winograd_f8_avx512.c and winograd_f8_avx2.c: F(8x8)'s, for planes of 2 x 2 or 4 x 4 tiles of 8
 * (9-16 and 25-32 on both sides: cifar-ref's 16x16 and 32x32), the same contract. */
static inline int nvp_winograd_f8_fast(int64_t h, int64_t width) {
    return (h >= 9 && h <= 16 && width >= 9 && width <= 16) || (h >= 25 && h <= 32 && width >= 25 && width <= 32);
}
void nvp_winograd_f8_input_avx512(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                                  int64_t width, int grad, float *work);
void nvp_winograd_f8_output_avx512(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h,
                                   int64_t width, float bias, const float *add, float *work);
void nvp_winograd_f8_input_avx2(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h,
                                int64_t width, int grad, float *work);
void nvp_winograd_f8_output_avx2(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h,
                                 int64_t width, float bias, const float *add, float *work);

/* A vector path's transforms of the large tiles (F(7x7), F(8x8)), whole calls of several planes. */
typedef struct nvp_winograd_big_tiles {
    __typeof__(nvp_winograd_f7_input_avx512) *f7_input, *f8_input;
    __typeof__(nvp_winograd_f7_output_avx512) *f7_output, *f8_output;
} nvp_winograd_big_tiles;

/* The vector paths' transforms of a call's planes (winograd_avx2.c, winograd_avx512.c): F(2x2) and
 * F(4x4) one plane at a time by the path's per-plane ones, F(7x7) and F(8x8) by the big-tile ones
 * where nvp_winograd_f7_fast / _f8_fast, else by the scalar transforms. Input (grad = 0) or gradient
 * (grad = 1): */
typedef void nvp_winograd_plane_fn(float *v, int64_t xs, const float *x, int64_t h, int64_t width, int m, float *work);
static inline void nvp_winograd_planes_in(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes,
                                          int64_t h, int64_t width, int m, float *work, int grad,
                                          nvp_winograd_plane_fn *plane, const nvp_winograd_big_tiles *big) {
    int64_t t = ((h + m - 1) / m) * ((width + m - 1) / m);
    if (m == 7 && nvp_winograd_f7_fast(h, width))
        big->f7_input(v, xs, x, stride, planes, h, width, grad, work);
    else if (m == 8 && nvp_winograd_f8_fast(h, width))
        big->f8_input(v, xs, x, stride, planes, h, width, grad, work);
    else if (m >= 7)
        (grad ? nvp_winograd_transforms_ref.grad : nvp_winograd_transforms_ref.input)(v, xs, x, stride, planes, h,
                                                                                      width, m, work);
    else
        for (int64_t j = 0; j < planes; j++) plane(v + j * t, xs, x + j * stride, h, width, m, work);
}
/* ... and output (plane: the path's per-plane output transform, its work unused) */
typedef void nvp_winograd_plane_out_fn(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, int m,
                                       float bias, const float *add, float *work);
static inline void nvp_winograd_planes_out(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs,
                                           int64_t h, int64_t width, int m, float bias, const float *add, float *work,
                                           nvp_winograd_plane_out_fn *plane, const nvp_winograd_big_tiles *big) {
    int64_t t = ((h + m - 1) / m) * ((width + m - 1) / m);
    if (m == 7 && nvp_winograd_f7_fast(h, width))
        big->f7_output(y, stride, planes, mt, xs, h, width, bias, add, work);
    else if (m == 8 && nvp_winograd_f8_fast(h, width))
        big->f8_output(y, stride, planes, mt, xs, h, width, bias, add, work);
    else if (m >= 7)
        nvp_winograd_transforms_ref.output(y, stride, planes, mt, xs, h, width, m, bias, add, work);
    else
        for (int64_t j = 0; j < planes; j++)
            plane(y + j * stride, mt + j * t, xs, h, width, m, bias, add ? add + j * stride : NULL, work);
}

/* The transform matrices, row-major: BT (alpha, alpha), G (alpha, 3), AT (m, alpha); index
 * NVP_WINOGRAD_INDEX(m): 0 = F(2x2), 1 = F(4x4), 2 = F(7x7), 3 = F(8x8). Static in the header so the vector
 * transforms see constants (zero terms fold away).
 * F(2x2,3x3): interpolation points 0, 1, -1, inf.
 * F(4x4,3x3): points 0, 1, -1, 2, -2, inf (the matrices of Lavin & Gray, section 4.2).
 * F(7x7,3x3): points 0, 1, -1, 1/2, -1/2, 3, 3/2, -3/2, inf, the Toom-Cook construction of Lavin &
 * Gray (B^T rows = the coefficients of M(x) / (x - p), M = prod (x - p); G rows = p^j / M'(p)). The
 * set was the best float32 one of 364 with 0, +-1, +-1/2 and three of +-2, +-3, +-1/3, +-3/2, +-2/3,
 * +-4, +-1/4 (docs/winograd_f7.md): against a float64 direct conv over 64 channels, relative RMS
 * error 1.6e-5 (F(4x4) 1.8e-6), max 4.3e-5 (4.5e-6).
 * F(8x8,3x3): points 0, 1, -1, 1/2, -1/2, 3, -3, 3/2, -2/3, inf, the same construction; the best
 * float32 set of 1001 with 0, +-1, +-1/2 and four of the same pool (docs/winograd_f8.md): relative
 * RMS error 5.1e-5, max 1.3e-4 (64 channels). */
#define NVP_WINOGRAD_INDEX(m) ((m) == 8 ? 3 : (m) == 7 ? 2 : (m) == 4 ? 1 : 0)
enum { NVP_WINOGRAD_ALPHA_MAX = 10 };
static const float nvp_winograd_bt[4][100] = {
    {1, 0, -1, 0,
     0, 1, 1, 0,
     0, -1, 1, 0,
     0, 1, 0, -1},
    {4, 0, -5, 0, 1, 0,
     0, -4, -4, 1, 1, 0,
     0, 4, -4, -1, 1, 0,
     0, -2, -1, 2, 1, 0,
     0, 2, -1, -2, 1, 0,
     0, 4, 0, -5, 0, 1},
    {27.0f / 16, -9.0f / 16, -147.0f / 16, 49.0f / 16, 21.0f / 2, -7.0f / 2, -3, 1, 0,
     0, -27.0f / 16, -9.0f / 8, 129.0f / 16, 5, -11.0f / 2, -2, 1, 0,
     0, 27.0f / 16, -9.0f / 4, -111.0f / 16, 10, 1.0f / 2, -4, 1, 0,
     0, -27.0f / 8, -45.0f / 8, 57.0f / 8, 65.0f / 8, -19.0f / 4, -5.0f / 2, 1, 0,
     0, 27.0f / 8, -63.0f / 8, -21.0f / 8, 91.0f / 8, -7.0f / 4, -7.0f / 2, 1, 0,
     0, -9.0f / 16, 0, 49.0f / 16, 0, -7.0f / 2, 0, 1, 0,
     0, -9.0f / 8, -3.0f / 8, 47.0f / 8, 15.0f / 8, -23.0f / 4, -3.0f / 2, 1, 0,
     0, 9.0f / 8, -9.0f / 8, -43.0f / 8, 45.0f / 8, 13.0f / 4, -9.0f / 2, 1, 0,
     0, 27.0f / 16, -9.0f / 16, -147.0f / 16, 49.0f / 16, 21.0f / 2, -7.0f / 2, -3, 1},
    {
     9.0f / 4, 15.0f / 8, -55.0f / 4, -115.0f / 12, 87.0f / 4, 205.0f / 24, -45.0f / 4, -5.0f / 6, 1, 0,
     0, -9.0f / 4, -33.0f / 8, 77.0f / 8, 461.0f / 24, -61.0f / 24, -133.0f / 12, 1.0f / 6, 1, 0,
     0, 9.0f / 4, -3.0f / 8, -107.0f / 8, 91.0f / 24, 431.0f / 24, -113.0f / 12, -11.0f / 6, 1, 0,
     0, -9.0f / 2, -51.0f / 4, 2, 139.0f / 6, 17.0f / 6, -137.0f / 12, -1.0f / 3, 1, 0,
     0, 9.0f / 2, -21.0f / 4, -17, 89.0f / 6, 83.0f / 6, -127.0f / 12, -4.0f / 3, 1, 0,
     0, -3.0f / 4, -7.0f / 8, 103.0f / 24, 37.0f / 8, -137.0f / 24, -19.0f / 4, 13.0f / 6, 1, 0,
     0, 3.0f / 4, 3.0f / 8, -113.0f / 24, -13.0f / 8, 187.0f / 24, 1.0f / 4, -23.0f / 6, 1, 0,
     0, -3.0f / 2, -9.0f / 4, 23.0f / 3, 23.0f / 2, -41.0f / 6, -41.0f / 4, 2.0f / 3, 1, 0,
     0, 27.0f / 8, -9.0f / 4, -69.0f / 4, 23.0f / 2, 123.0f / 8, -41.0f / 4, -3.0f / 2, 1, 0,
     0, 9.0f / 4, 15.0f / 8, -55.0f / 4, -115.0f / 12, 87.0f / 4, 205.0f / 24, -45.0f / 4, -5.0f / 6, 1},
};
static const float nvp_winograd_g[4][30] = {
    {1, 0, 0,
     0.5f, 0.5f, 0.5f,
     0.5f, -0.5f, 0.5f,
     0, 0, 1},
    {1.0f / 4, 0, 0,
     -1.0f / 6, -1.0f / 6, -1.0f / 6,
     -1.0f / 6, 1.0f / 6, -1.0f / 6,
     1.0f / 24, 1.0f / 12, 1.0f / 6,
     1.0f / 24, -1.0f / 12, 1.0f / 6,
     0, 0, 1},
    {16.0f / 27, 0, 0,
     4.0f / 15, 4.0f / 15, 4.0f / 15,
     2.0f / 15, -2.0f / 15, 2.0f / 15,
     -8.0f / 15, -4.0f / 15, -2.0f / 15,
     -8.0f / 21, 4.0f / 21, -2.0f / 21,
     2.0f / 2835, 2.0f / 945, 2.0f / 315,
     -8.0f / 135, -4.0f / 45, -2.0f / 15,
     -8.0f / 405, 4.0f / 135, -2.0f / 45,
     0, 0, 1},
    {
     4.0f / 9, 0, 0,
     1.0f / 10, 1.0f / 10, 1.0f / 10,
     -1.0f / 10, 1.0f / 10, -1.0f / 10,
     -64.0f / 245, -32.0f / 245, -16.0f / 245,
     -32.0f / 35, 16.0f / 35, -8.0f / 35,
     1.0f / 6930, 1.0f / 2310, 1.0f / 770,
     1.0f / 13230, -1.0f / 4410, 1.0f / 1470,
     -32.0f / 1755, -16.0f / 585, -8.0f / 195,
     26244.0f / 35035, -17496.0f / 35035, 11664.0f / 35035,
     0, 0, 1},
};
static const float nvp_winograd_at[4][80] = {
    {1, 1, 1, 0,
     0, 1, -1, -1},
    {1, 1, 1, 1, 1, 0,
     0, 1, -1, 2, -2, 0,
     0, 1, 1, 4, 4, 0,
     0, 1, -1, 8, -8, 1},
    {1, 1, 1, 1, 1, 1, 1, 1, 0,
     0, 1, -1, 1.0f / 2, -1.0f / 2, 3, 3.0f / 2, -3.0f / 2, 0,
     0, 1, 1, 1.0f / 4, 1.0f / 4, 9, 9.0f / 4, 9.0f / 4, 0,
     0, 1, -1, 1.0f / 8, -1.0f / 8, 27, 27.0f / 8, -27.0f / 8, 0,
     0, 1, 1, 1.0f / 16, 1.0f / 16, 81, 81.0f / 16, 81.0f / 16, 0,
     0, 1, -1, 1.0f / 32, -1.0f / 32, 243, 243.0f / 32, -243.0f / 32, 0,
     0, 1, 1, 1.0f / 64, 1.0f / 64, 729, 729.0f / 64, 729.0f / 64, 1},
    {
     1, 1, 1, 1, 1, 1, 1, 1, 1, 0,
     0, 1, -1, 1.0f / 2, -1.0f / 2, 3, -3, 3.0f / 2, -2.0f / 3, 0,
     0, 1, 1, 1.0f / 4, 1.0f / 4, 9, 9, 9.0f / 4, 4.0f / 9, 0,
     0, 1, -1, 1.0f / 8, -1.0f / 8, 27, -27, 27.0f / 8, -8.0f / 27, 0,
     0, 1, 1, 1.0f / 16, 1.0f / 16, 81, 81, 81.0f / 16, 16.0f / 81, 0,
     0, 1, -1, 1.0f / 32, -1.0f / 32, 243, -243, 243.0f / 32, -32.0f / 243, 0,
     0, 1, 1, 1.0f / 64, 1.0f / 64, 729, 729, 729.0f / 64, 64.0f / 729, 0,
     0, 1, -1, 1.0f / 128, -1.0f / 128, 2187, -2187, 2187.0f / 128, -128.0f / 2187, 1},
};


/* Floats of `work` one plane's transforms need. */
int64_t nvp_winograd_work_floats(int m, int64_t h, int64_t width);

/* The drivers (winograd.c), run with the given transforms; argument checks included. */
/* r: NULL (y written), y (accumulate) or another (N,Cout,H,W) tensor: y = r + conv(x) + b. The _add
 * one refuses a NULL r by name (the public nvp_winograd_forward_add*). */
nvp_status nvp_winograd_forward_add_with(const nvp_winograd_transforms *tf, float *y, const float *r, const float *x,
                                         const float *w, const float *b, int64_t n, int64_t cin, int64_t cout,
                                         int64_t h, int64_t width, int tile);
/* act: NULL, or the batch norm + ReLU every input plane goes through (forward; backward-filter). */
nvp_status nvp_winograd_forward_with(const nvp_winograd_transforms *tf, const char *fn, float *y, const float *r,
                                     const float *x, const nvp_bn_relu *act, const float *w, const float *b,
                                     int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile);
nvp_status nvp_winograd_backward_with(const nvp_winograd_transforms *tf, const char *fn, float *dx, float *dw,
                                      float *db, const float *dy, const float *x, const nvp_bn_relu *act,
                                      const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width,
                                      int tile, int accumulate_dx);

/* Winograd F(tile x tile, 3x3) convolutions (3x3, pad 1, stride 1 only; tile = 2, 4, 7 or 8), the contract of
 * nvp_conv2d_forward / nvp_conv2d_backward (dw, db accumulate, dx as accumulate_dx says; dx, dw, db may be
 * NULL). The conv router picks them for the 3x3 shapes where they win. The unsuffixed entries go through
 * winograd.c's op table (nvp_winograd_select): _ref has the scalar tile transforms, _avx2 the AVX2 ones,
 * _avx512 the AVX-512 ones (NVP_STATUS_UNSUPPORTED on a CPU without AVX-512); all multiply with
 * nvp_gemm_small. F(8x8) does 5.8x fewer multiplies than the direct conv, F(7x7) 5.4x, F(4x4) 4x and
 * F(2x2) 2.25x, the larger tiles at a larger float32 error (winograd.c, docs/winograd_f7.md,
 * docs/winograd_f8.md).
 *   forward:      y = (accumulate ? y : 0) + conv3x3(x) + b
 *   forward_add:  y = r + conv3x3(x) + b, r given: y itself or a tensor disjoint from it (the residual
 *                 sum of a ResNet block in one pass over y)
 *   forward_act / backward_act: with an input batch norm + ReLU (nvp_bn_relu; NULL = none): forward
 *                 y = (r ? r : 0) + conv3x3(act(x)) + b; backward dw, db of that, dx = dL/d act(x). Each
 *                 input plane goes through act in L1 on its way into the input transform. */
nvp_status nvp_winograd_forward(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                int64_t cout, int64_t h, int64_t width, int tile, int accumulate);
nvp_status nvp_winograd_forward_ref(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                    int64_t cout, int64_t h, int64_t width, int tile, int accumulate);
nvp_status nvp_winograd_forward_avx2(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                     int64_t cout, int64_t h, int64_t width, int tile, int accumulate);
nvp_status nvp_winograd_forward_avx512(float *y, const float *x, const float *w, const float *b, int64_t n,
                                       int64_t cin, int64_t cout, int64_t h, int64_t width, int tile, int accumulate);
nvp_status nvp_winograd_forward_add(float *y, const float *r, const float *x, const float *w, const float *b,
                                    int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile);
nvp_status nvp_winograd_forward_add_ref(float *y, const float *r, const float *x, const float *w, const float *b,
                                        int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile);
nvp_status nvp_winograd_forward_add_avx2(float *y, const float *r, const float *x, const float *w, const float *b,
                                         int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile);
nvp_status nvp_winograd_forward_add_avx512(float *y, const float *r, const float *x, const float *w, const float *b,
                                           int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile);
nvp_status nvp_winograd_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                 int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile,
                                 int accumulate_dx);
nvp_status nvp_winograd_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                     int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile,
                                     int accumulate_dx);
nvp_status nvp_winograd_backward_avx2(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                      int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile,
                                      int accumulate_dx);
nvp_status nvp_winograd_backward_avx512(float *dx, float *dw, float *db, const float *dy, const float *x,
                                        const float *w, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width,
                                        int tile, int accumulate_dx);
nvp_status nvp_winograd_forward_act(float *y, const float *r, const float *x, const nvp_bn_relu *act, const float *w,
                                    const float *b, int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width,
                                    int tile);
nvp_status nvp_winograd_forward_act_ref(float *y, const float *r, const float *x, const nvp_bn_relu *act,
                                        const float *w, const float *b, int64_t n, int64_t cin, int64_t cout,
                                        int64_t h, int64_t width, int tile);
nvp_status nvp_winograd_forward_act_avx2(float *y, const float *r, const float *x, const nvp_bn_relu *act,
                                         const float *w, const float *b, int64_t n, int64_t cin, int64_t cout,
                                         int64_t h, int64_t width, int tile);
nvp_status nvp_winograd_forward_act_avx512(float *y, const float *r, const float *x, const nvp_bn_relu *act,
                                           const float *w, const float *b, int64_t n, int64_t cin, int64_t cout,
                                           int64_t h, int64_t width, int tile);
nvp_status nvp_winograd_backward_act(float *dx, float *dw, float *db, const float *dy, const float *x,
                                     const nvp_bn_relu *act, const float *w, int64_t n, int64_t cin, int64_t cout,
                                     int64_t h, int64_t width, int tile, int accumulate_dx);
nvp_status nvp_winograd_backward_act_ref(float *dx, float *dw, float *db, const float *dy, const float *x,
                                         const nvp_bn_relu *act, const float *w, int64_t n, int64_t cin,
                                         int64_t cout, int64_t h, int64_t width, int tile, int accumulate_dx);
nvp_status nvp_winograd_backward_act_avx2(float *dx, float *dw, float *db, const float *dy, const float *x,
                                          const nvp_bn_relu *act, const float *w, int64_t n, int64_t cin,
                                          int64_t cout, int64_t h, int64_t width, int tile, int accumulate_dx);
nvp_status nvp_winograd_backward_act_avx512(float *dx, float *dw, float *db, const float *dy, const float *x,
                                            const nvp_bn_relu *act, const float *w, int64_t n, int64_t cin,
                                            int64_t cout, int64_t h, int64_t width, int tile, int accumulate_dx);

#endif /* NVP_WINOGRAD_H */
