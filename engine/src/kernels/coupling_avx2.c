/*
 * coupling_avx2.c -- AVX2 twins of the coupling kernels in coupling.c (same formulas, same argument
 * checks). Compiled with -mavx2 -mfma (this file only); reached only through the op table on the avx2 and
 * avx512 CPU paths.
 *
 * Each (sample, changing channel) plane is one flat loop of 8 lanes plus a scalar tail. The checkerboard
 * is a per-position lane mask (built once per call, shared by all planes): every lane computes the affine
 * map and the mask blends the conditioning positions back to the copy, so exp/tanh of masked lanes are
 * computed and discarded (inf or NaN there never leak: sums AND the mask, stores blend). exp and tanh are
 * float polynomials (vecmath_avx2.h), within ~2 ulp of libm.
 */
#include "coupling_internal.h"
#include "vecmath_avx2.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>

#define OMP_MIN 16384

/* The checkerboard lane mask of one (H,W) plane: all bits set where (i + j + parity) is even
 * (the position changes). NULL (and *mask_out NULL) for channel-wise couplings. */
static nvp_status changing_mask(int32_t **mask_out, const char *fn, int64_t h, int64_t w, int mask_kind,
                                int parity) {
    *mask_out = NULL;
    if (mask_kind != 0 || h * w == 0) return NVP_OK;
    int32_t *m = malloc((size_t)(h * w) * sizeof *m);
    if (m == NULL) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: no memory for a %lldx%lld mask", fn, (long long)h,
                                   (long long)w);
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) m[i * w + j] = ((i + j + parity) & 1) ? 0 : -1;
    *mask_out = m;
    return NVP_OK;
}

static inline __m256 load_mask(const int32_t *m, int64_t p) {
    return m ? _mm256_castsi256_ps(_mm256_loadu_si256((const __m256i *)(m + p)))
             : _mm256_castsi256_ps(_mm256_set1_epi32(-1));
}

/* Is x channel xc one that changes (channel-wise), and its s/t channel. */
static inline int channel_changes(int64_t xc, int64_t c, int mask_kind, int parity) {
    return mask_kind == 0 || (parity == 0 ? xc < c / 2 : xc >= c / 2);
}
static inline int64_t st_channel(int64_t xc, int64_t c, int mask_kind) {
    return mask_kind == 0 ? xc : xc % (c / 2);
}

// y, x: (N,C,H,W); st: (N,Cst,H,W); lam: (Ct); logdet: (N)
nvp_status nvp_coupling_forward_avx2(float *y, float *logdet, const float *x, const float *st,
                                     const float *lam, int64_t n, int64_t c, int64_t h, int64_t w,
                                     int mask_kind, int parity) {
    int64_t ct, cst;
    nvp_status e = nvp_coupling_check_("nvp_coupling_forward", y, x, st, lam, n, c, h, w, mask_kind, parity, &ct,
                                       &cst);
    if (e) return e;
    if (n > 0 && logdet == NULL) return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_coupling_forward: logdet is NULL");
    int32_t *mask;
    if ((e = changing_mask(&mask, "nvp_coupling_forward", h, w, mask_kind, parity))) return e;
    const int64_t hw = h * w, nv = hw & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        double sum = 0.0;
        for (int64_t xc = 0; xc < c; xc++) {
            const float *xp = x + (b * c + xc) * hw;
            float *yp = y + (b * c + xc) * hw;
            if (!channel_changes(xc, c, mask_kind, parity)) {
                for (int64_t p = 0; p < hw; p++) yp[p] = xp[p];
                continue;
            }
            int64_t k = st_channel(xc, c, mask_kind);
            const float *rp = st + (b * cst + k) * hw, *tp = st + (b * cst + ct + k) * hw;
            const __m256 vlam = _mm256_set1_ps(lam[k]);
            __m256d slo = _mm256_setzero_pd(), shi = _mm256_setzero_pd();
            for (int64_t p = 0; p < nv; p += 8) {
                __m256 m = load_mask(mask, p);
                __m256 vx = _mm256_loadu_ps(xp + p);
                __m256 s = _mm256_mul_ps(vlam, tanh256(_mm256_loadu_ps(rp + p)));
                __m256 vy = _mm256_mul_ps(_mm256_add_ps(vx, _mm256_loadu_ps(tp + p)), exp256(s));
                _mm256_storeu_ps(yp + p, _mm256_blendv_ps(vx, vy, m));
                acc_pd(&slo, &shi, _mm256_and_ps(m, s));
            }
            sum += hsum_pd(slo, shi);
            for (int64_t p = nv; p < hw; p++) {
                if (mask && !mask[p]) {
                    yp[p] = xp[p];
                    continue;
                }
                float s = lam[k] * tanhf(rp[p]);
                yp[p] = (xp[p] + tp[p]) * expf(s);
                sum += s;
            }
        }
        logdet[b] += (float)sum;
    }
    free(mask);
    return NVP_OK;
}

// x, y: (N,C,H,W); st: (N,Cst,H,W); lam: (Ct)
nvp_status nvp_coupling_inverse_avx2(float *x, const float *y, const float *st, const float *lam, int64_t n,
                                     int64_t c, int64_t h, int64_t w, int mask_kind, int parity) {
    int64_t ct, cst;
    nvp_status e = nvp_coupling_check_("nvp_coupling_inverse", x, y, st, lam, n, c, h, w, mask_kind, parity, &ct,
                                       &cst);
    if (e) return e;
    int32_t *mask;
    if ((e = changing_mask(&mask, "nvp_coupling_inverse", h, w, mask_kind, parity))) return e;
    const int64_t hw = h * w, nv = hw & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        for (int64_t xc = 0; xc < c; xc++) {
            const float *yp = y + (b * c + xc) * hw;
            float *xp = x + (b * c + xc) * hw;
            if (!channel_changes(xc, c, mask_kind, parity)) {
                for (int64_t p = 0; p < hw; p++) xp[p] = yp[p];
                continue;
            }
            int64_t k = st_channel(xc, c, mask_kind);
            const float *rp = st + (b * cst + k) * hw, *tp = st + (b * cst + ct + k) * hw;
            const __m256 vnlam = _mm256_set1_ps(-lam[k]);
            for (int64_t p = 0; p < nv; p += 8) {
                __m256 m = load_mask(mask, p);
                __m256 vy = _mm256_loadu_ps(yp + p);
                __m256 ns = _mm256_mul_ps(vnlam, tanh256(_mm256_loadu_ps(rp + p)));
                __m256 vx = _mm256_fmsub_ps(vy, exp256(ns), _mm256_loadu_ps(tp + p));
                _mm256_storeu_ps(xp + p, _mm256_blendv_ps(vy, vx, m));
            }
            for (int64_t p = nv; p < hw; p++) {
                if (mask && !mask[p]) {
                    xp[p] = yp[p];
                    continue;
                }
                float s = lam[k] * tanhf(rp[p]);
                xp[p] = yp[p] * expf(-s) - tp[p];
            }
        }
    }
    free(mask);
    return NVP_OK;
}

/* Formulas as in nvp_coupling_backward_ref (coupling.c). */
// dx, dy, x: (N,C,H,W); dst, st: (N,Cst,H,W); dlam, lam: (Ct); dlogdet: (N)
nvp_status nvp_coupling_backward_avx2(float *dx, float *dst, float *dlam, const float *dy,
                                      const float *dlogdet, const float *x, const float *st, const float *lam,
                                      int64_t n, int64_t c, int64_t h, int64_t w, int mask_kind, int parity) {
    int64_t ct, cst;
    nvp_status e = nvp_coupling_backward_check_(dx, dst, dlam, dy, dlogdet, x, st, lam, n, c, h, w, mask_kind,
                                                parity, &ct, &cst);
    if (e) return e;
    if (n * c * h * w == 0) return NVP_OK;
    int32_t *mask;
    if ((e = changing_mask(&mask, "nvp_coupling_backward", h, w, mask_kind, parity))) return e;
    double *part = malloc((size_t)(n * ct) * sizeof *part); /* dlam per (sample, channel) */
    if (part == NULL) {
        free(mask);
        return nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_coupling_backward: no memory for %lld sums",
                        (long long)(n * ct));
    }
    const int64_t hw = h * w, nv = hw & ~(int64_t)7;
#pragma omp parallel for schedule(static) if (n * c * hw > OMP_MIN)
    for (int64_t b = 0; b < n; b++) {
        for (int64_t k = 0; k < ct; k++) part[b * ct + k] = 0.0;
        for (int64_t xc = 0; xc < c; xc++) {
            const float *xp = x + (b * c + xc) * hw, *dyp = dy + (b * c + xc) * hw;
            float *dxp = dx + (b * c + xc) * hw;
            if (!channel_changes(xc, c, mask_kind, parity)) {
                for (int64_t p = 0; p < hw; p++) dxp[p] += dyp[p];
                continue;
            }
            int64_t k = st_channel(xc, c, mask_kind);
            const float *rp = st + (b * cst + k) * hw, *tp = st + (b * cst + ct + k) * hw;
            float *drp = dst + (b * cst + k) * hw, *dtp = dst + (b * cst + ct + k) * hw;
            const float lk = lam[k], dl = dlogdet[b];
            const __m256 vlam = _mm256_set1_ps(lk), vdl = _mm256_set1_ps(dl), one = _mm256_set1_ps(1.0f);
            __m256d alo = _mm256_setzero_pd(), ahi = _mm256_setzero_pd();
            for (int64_t p = 0; p < nv; p += 8) {
                __m256 m = load_mask(mask, p);
                __m256 vdy = _mm256_loadu_ps(dyp + p), vdx = _mm256_loadu_ps(dxp + p);
                __m256 th = tanh256(_mm256_loadu_ps(rp + p));
                __m256 g = _mm256_mul_ps(vdy, exp256(_mm256_mul_ps(vlam, th)));
                __m256 ds = _mm256_fmadd_ps(g, _mm256_add_ps(_mm256_loadu_ps(xp + p), _mm256_loadu_ps(tp + p)), vdl);
                _mm256_storeu_ps(dxp + p, _mm256_add_ps(vdx, _mm256_blendv_ps(vdy, g, m)));
                __m256 vdt = _mm256_loadu_ps(dtp + p), vdr = _mm256_loadu_ps(drp + p);
                _mm256_storeu_ps(dtp + p, _mm256_blendv_ps(vdt, _mm256_add_ps(vdt, g), m));
                __m256 dr = _mm256_mul_ps(_mm256_mul_ps(ds, vlam), _mm256_fnmadd_ps(th, th, one));
                _mm256_storeu_ps(drp + p, _mm256_blendv_ps(vdr, _mm256_add_ps(vdr, dr), m));
                acc_pd(&alo, &ahi, _mm256_and_ps(m, _mm256_mul_ps(ds, th)));
            }
            double acc = hsum_pd(alo, ahi);
            for (int64_t p = nv; p < hw; p++) {
                if (mask && !mask[p]) {
                    dxp[p] += dyp[p];
                    continue;
                }
                float th = tanhf(rp[p]);
                float g = dyp[p] * expf(lk * th);
                float ds = g * (xp[p] + tp[p]) + dl;
                dxp[p] += g;
                dtp[p] += g;
                drp[p] += ds * lk * (1.0f - th * th);
                acc += (double)ds * th;
            }
            part[b * ct + k] += acc;
        }
    }
    for (int64_t k = 0; k < ct; k++) {
        double s = 0.0;
        for (int64_t b = 0; b < n; b++) s += part[b * ct + k];
        dlam[k] += (float)s;
    }
    free(mask);
    free(part);
    return NVP_OK;
}
