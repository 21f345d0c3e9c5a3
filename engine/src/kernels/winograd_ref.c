/*
 * winograd_ref.c -- the scalar tile and filter transforms of winograd.c's drivers (the layouts are
 * there and in winograd_internal.h) and the scalar path's entries. Compiled without FMA
 * contraction; the specs compare them, like every path, with conv2d_direct.c's direct loop.
 */
#include "winograd_internal.h"

/* ---- the scalar tile transforms ---- */

/* Phase-split rows: q row yy (hp = m*TH + 2 rows of rw = m*(TW+1) floats) holds the zero-padded
 * input row yy-1, its column xx-1 at q[yy*rw + (xx % m)*(TW+1) + xx/m]: so element i of tile tx's
 * row is phase i % m at index tx + i/m, and a transform over tiles runs along contiguous memory. */
static void input_plane(float *v, int64_t xs, const float *x, int64_t h, int64_t width, int m, float *work) {
    const float *bt = nvp_winograd_bt[NVP_WINOGRAD_INDEX(m)];
    int a = m + 2;
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m, sw = tw + 1, rw = m * sw, hp = m * th + 2;
    float *q = work, *u = work + hp * rw;
    for (int64_t yy = 0; yy < hp; yy++) {
        for (int64_t xx = 0; xx < rw; xx++) {
            int64_t iy = yy - 1, ix = xx - 1;
            int inside = iy >= 0 && iy < h && ix >= 0 && ix < width;
            q[yy * rw + (xx % m) * sw + xx / m] = inside ? x[iy * width + ix] : 0.0f;
        }
    }
    for (int64_t ty = 0; ty < th; ty++) {
        /* u[k] = sum_i BT[k][i] * (input row m*ty + i - 1): B^T along y, for every column */
        for (int k = 0; k < a; k++) {
            for (int64_t e = 0; e < rw; e++) {
                float s = 0.0f;
                for (int i = 0; i < a; i++) s += bt[k * a + i] * q[(m * ty + i) * rw + e];
                u[k * rw + e] = s;
            }
        }
        /* v[k*a + l][tile] = sum_i BT[l][i] * u[k][column m*tx + i - 1]: B along x */
        for (int k = 0; k < a; k++) {
            for (int l = 0; l < a; l++) {
                float *vo = v + (k * a + l) * xs + ty * tw;
                for (int64_t tx = 0; tx < tw; tx++) {
                    float s = 0.0f;
                    for (int i = 0; i < a; i++) s += bt[l * a + i] * u[k * rw + (i % m) * sw + tx + i / m];
                    vo[tx] = s;
                }
            }
        }
    }
}

/* dy's m x m blocks (no padding): qd row yy (m*TH rows of m*TW floats) holds dy row yy, column
 * m*j + r at qd[yy*m*TW + r*TW + j] (zeros past the edges). */
static void grad_plane(float *v, int64_t xs, const float *dy, int64_t h, int64_t width, int m, float *work) {
    const float *at = nvp_winograd_at[NVP_WINOGRAD_INDEX(m)]; /* A[k][i] = at[i*a + k] */
    int a = m + 2;
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m, rw = m * tw;
    float *q = work, *u = work + m * th * rw;
    for (int64_t yy = 0; yy < m * th; yy++) {
        for (int64_t xx = 0; xx < rw; xx++) {
            int inside = yy < h && xx < width;
            q[yy * rw + (xx % m) * tw + xx / m] = inside ? dy[yy * width + xx] : 0.0f;
        }
    }
    for (int64_t ty = 0; ty < th; ty++) {
        for (int k = 0; k < a; k++) { /* u[k] = sum_i A[k][i] * (dy row m*ty + i) */
            for (int64_t e = 0; e < rw; e++) {
                float s = 0.0f;
                for (int i = 0; i < m; i++) s += at[i * a + k] * q[(m * ty + i) * rw + e];
                u[k * rw + e] = s;
            }
        }
        for (int k = 0; k < a; k++) { /* v[k*a + l][tile] = sum_i A[l][i] * u[k][column m*tx + i] */
            for (int l = 0; l < a; l++) {
                float *vo = v + (k * a + l) * xs + ty * tw;
                for (int64_t tx = 0; tx < tw; tx++) {
                    float s = 0.0f;
                    for (int i = 0; i < m; i++) s += at[i * a + l] * u[k * rw + i * tw + tx];
                    vo[tx] = s;
                }
            }
        }
    }
}

/* Per tile row: wv[k][c][tx] = sum_l AT[c][l] M[k*a + l] (A along x), then output row m*ty + r,
 * column m*tx + c = sum_k AT[r][k] wv[k][c][tx] (A^T along y), clipped to the plane. */
static void output_plane(float *y, const float *mt, int64_t xs, int64_t h, int64_t width, int m, float bias,
                         const float *add, float *work) {
    const float *at = nvp_winograd_at[NVP_WINOGRAD_INDEX(m)];
    int a = m + 2;
    int64_t th = (h + m - 1) / m, tw = (width + m - 1) / m;
    float *wv = work;
    for (int64_t ty = 0; ty < th; ty++) {
        for (int k = 0; k < a; k++) {
            for (int c = 0; c < m; c++) {
                for (int64_t tx = 0; tx < tw; tx++) {
                    float s = 0.0f;
                    for (int l = 0; l < a; l++) s += at[c * a + l] * mt[(k * a + l) * xs + ty * tw + tx];
                    wv[(k * m + c) * tw + tx] = s;
                }
            }
        }
        for (int r = 0; r < m && m * ty + r < h; r++) {
            float *yr = y + (m * ty + r) * width;
            for (int64_t ox = 0; ox < width; ox++) {
                int64_t tx = ox / m, c = ox % m;
                float s = 0.0f;
                for (int k = 0; k < a; k++) s += at[r * a + k] * wv[(k * m + c) * tw + tx];
                yr[ox] = (add ? add[(m * ty + r) * width + ox] : 0.0f) + bias + s;
            }
        }
    }
}

/* ---- several planes: one at a time ---- */

static int64_t plane_tiles(int64_t h, int64_t width, int m) { return ((h + m - 1) / m) * ((width + m - 1) / m); }

static void input_ref(float *v, int64_t xs, const float *x, int64_t stride, int64_t planes, int64_t h, int64_t width,
                      int m, float *work) {
    for (int64_t j = 0; j < planes; j++) input_plane(v + j * plane_tiles(h, width, m), xs, x + j * stride, h, width, m, work);
}

static void grad_ref(float *v, int64_t xs, const float *dy, int64_t stride, int64_t planes, int64_t h, int64_t width,
                     int m, float *work) {
    for (int64_t j = 0; j < planes; j++) grad_plane(v + j * plane_tiles(h, width, m), xs, dy + j * stride, h, width, m, work);
}

static void output_ref(float *y, int64_t stride, int64_t planes, const float *mt, int64_t xs, int64_t h, int64_t width,
                       int m, float bias, const float *add, float *work) {
    for (int64_t j = 0; j < planes; j++)
        output_plane(y + j * stride, mt + j * plane_tiles(h, width, m), xs, h, width, m, bias,
                     add ? add + j * stride : NULL, work);
}

/* ---- filter transforms ---- */

/* U[xi][r][col] = (G g G^T)[xi] for col0 <= col < cols of row r (see nvp_winograd_transforms.filter). */
void nvp_winograd_filter_row_ref(float *u, const float *w, int64_t r, int64_t rows, int64_t cols, int64_t col0,
                                 int m, int flip) {
    const float *g = nvp_winograd_g[NVP_WINOGRAD_INDEX(m)];
    int a = m + 2;
    for (int64_t col = col0; col < cols; col++) {
        const float *wk = flip ? w + (col * rows + r) * 9 : w + (r * cols + col) * 9;
        float gg[9], t[NVP_WINOGRAD_ALPHA_MAX * 3];
        for (int e = 0; e < 9; e++) gg[e] = flip ? wk[8 - e] : wk[e];
        for (int k = 0; k < a; k++)
            for (int j = 0; j < 3; j++)
                t[k * 3 + j] = g[k * 3] * gg[j] + g[k * 3 + 1] * gg[3 + j] + g[k * 3 + 2] * gg[6 + j];
        for (int k = 0; k < a; k++)
            for (int l = 0; l < a; l++)
                u[((k * a + l) * rows + r) * cols + col] =
                    t[k * 3] * g[l * 3] + t[k * 3 + 1] * g[l * 3 + 1] + t[k * 3 + 2] * g[l * 3 + 2];
    }
}

static void filter_ref(float *u, const float *w, int64_t r, int64_t rows, int64_t cols, int m, int flip) {
    nvp_winograd_filter_row_ref(u, w, r, rows, cols, 0, m, flip);
}

/* As batchnorm.c's affine_ref computes it (no FMA contraction in this file's flags). */
static void activate_ref(float *dst, const float *x, int64_t p, float mean, float scale, float beta) {
    for (int64_t q = 0; q < p; q++) {
        float v = (x[q] - mean) * scale + beta;
        dst[q] = v > 0.0f ? v : 0.0f;
    }
}

/* the dw reduction, vectorized with this file's flags */
#define FG_NAME(name) name##_ref
#include "winograd_filter_grad.h"

const nvp_winograd_transforms nvp_winograd_transforms_ref = {input_ref,  grad_ref,     output_ref,      filter_ref,
                                                              activate_ref, filter_grad_ref};

/* ---- the scalar path's entries ---- */

// y: (N,Cout,H,W) [+]= conv3x3(x: (N,Cin,H,W), w: (Cout,Cin,3,3)) + b: (Cout) (b may be NULL); tile = 2, 4, 7 or 8
nvp_status nvp_winograd_forward_ref(float *y, const float *x, const float *w, const float *b, int64_t n, int64_t cin,
                                    int64_t cout, int64_t h, int64_t width, int tile, int accumulate) {
    return nvp_winograd_forward_with(&nvp_winograd_transforms_ref, "nvp_winograd_forward", y, accumulate ? y : NULL, x, NULL, w, b,
                                     n, cin, cout, h, width, tile);
}

// y = r + conv3x3(x) + b: r (N,Cout,H,W) is y itself or a tensor disjoint from it (a residual sum)
nvp_status nvp_winograd_forward_add_ref(float *y, const float *r, const float *x, const float *w, const float *b,
                                        int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile) {
    return nvp_winograd_forward_add_with(&nvp_winograd_transforms_ref, y, r, x, w, b, n, cin, cout, h, width, tile);
}

// dy: (N,Cout,H,W); dx (+)= (N,Cin,H,W), dw += (Cout,Cin,3,3), db += (Cout); each may be NULL.
nvp_status nvp_winograd_backward_ref(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                                     int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t width, int tile,
                                     int accumulate_dx) {
    return nvp_winograd_backward_with(&nvp_winograd_transforms_ref, "nvp_winograd_backward", dx, dw, db, dy, x, NULL, w, n, cin,
                                      cout, h, width, tile, accumulate_dx);
}

// y = (r ? r : 0) + conv3x3(act(x)) + b (nvp_bn_relu act, NULL = none)
nvp_status nvp_winograd_forward_act_ref(float *y, const float *r, const float *x, const nvp_bn_relu *act,
                                        const float *w, const float *b, int64_t n, int64_t cin, int64_t cout,
                                        int64_t h, int64_t width, int tile) {
    return nvp_winograd_forward_with(&nvp_winograd_transforms_ref, "nvp_winograd_forward_act", y, r, x, act, w, b, n, cin, cout, h,
                                     width, tile);
}

// the backward of conv3x3(act(x)): dx = dL/d act(x), dw and db with act(x) as the input
nvp_status nvp_winograd_backward_act_ref(float *dx, float *dw, float *db, const float *dy, const float *x,
                                         const nvp_bn_relu *act, const float *w, int64_t n, int64_t cin,
                                         int64_t cout, int64_t h, int64_t width, int tile, int accumulate_dx) {
    return nvp_winograd_backward_with(&nvp_winograd_transforms_ref, "nvp_winograd_backward_act", dx, dw, db, dy, x, act, w, n, cin,
                                      cout, h, width, tile, accumulate_dx);
}
