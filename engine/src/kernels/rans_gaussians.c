/*
 * rans_gaussians.c -- grid values (integers k, the value k delta) under windowed Gaussians, the local
 * bits-back codec's workhorse (nvp_rans_push_gaussians / nvp_rans_pop_gaussians): a window of coarse
 * buckets around the mean coded by the bucket grid (rans_buckets.c), the fine point inside a bucket as
 * uniform bits, and points beyond the window as unbounded escapes.
 */
#include "rans_internal.h"

#include <math.h>

/* ---- grid values under windowed Gaussians (the local bits-back codec) --------------------- */

/* value: `bits` uniform bits, in chunks of 16 (the low chunk pushed first, so popped last). */
static nvp_status push_bits(nvp_rans *r, uint64_t value, int bits, const char *fn) {
    for (int at = 0; at < bits; at += 16) {
        int k = bits - at < 16 ? bits - at : 16;
        uint64_t chunk = (value >> at) & ((1ull << k) - 1);
        nvp_status st = nvp_rans_push_sym_(r, chunk << (RANS_UNIFORM_PRECISION - k), 1ull << (RANS_UNIFORM_PRECISION - k),
                                 RANS_UNIFORM_PRECISION, fn);
        if (st) return st;
    }
    return NVP_OK;
}

static nvp_status pop_bits(nvp_rans *r, uint64_t *value, int bits, const char *fn) {
    uint64_t v = 0;
    int top = bits == 0 ? 0 : ((bits - 1) / 16) * 16;
    for (int at = top; at >= 0 && bits > 0; at -= 16) {
        int k = bits - at < 16 ? bits - at : 16;
        uint64_t chunk = (r->x & ((1ull << RANS_UNIFORM_PRECISION) - 1)) >> (RANS_UNIFORM_PRECISION - k);
        nvp_status st = nvp_rans_pop_sym_(r, chunk << (RANS_UNIFORM_PRECISION - k), 1ull << (RANS_UNIFORM_PRECISION - k),
                                RANS_UNIFORM_PRECISION, fn);
        if (st) return st;
        v |= chunk << at;
    }
    *value = v;
    return NVP_OK;
}

/* An escape e >= 0 (a point's distance past its window's edge): a length class L, then bits. L = 0: e in
 * [0, 2^ebits), ebits bits (one more window); L = l >= 1: e in [2^(ebits+l-1), 2^(ebits+l)), ebits+l-1
 * bits of e - 2^(ebits+l-1). L is coded at 24 bits with freq 1 for each l >= 1 and the rest for L = 0: so
 * a pop from arbitrary bits (the encoder's bits back) lands beyond one window only with probability
 * (63 - ebits) 2^-24 given the end bucket, while a push of any distance below 2^62 is possible. Every
 * (L, bits) decodes to one e and back (the bits-back identity). */
static nvp_status push_escape(nvp_rans *r, uint64_t e, int ebits, const char *fn) {
    uint64_t lmax = (uint64_t)(63 - ebits), l = 0;
    nvp_status st;
    if (e >= (1ull << ebits)) {
        int len = 0;
        while (len < 63 && (e >> len) > 1) len++;  /* e in [2^len, 2^(len+1)) */
        l = (uint64_t)(len + 1 - ebits);
        st = push_bits(r, e - (1ull << len), len, fn);
    } else {
        st = push_bits(r, e, ebits, fn);
    }
    if (st) return st;
    uint64_t total = 1ull << RANS_UNIFORM_PRECISION, f0 = total - lmax;
    return l == 0 ? nvp_rans_push_sym_(r, 0, f0, RANS_UNIFORM_PRECISION, fn)
                  : nvp_rans_push_sym_(r, f0 + l - 1, 1, RANS_UNIFORM_PRECISION, fn);
}

static nvp_status pop_escape(nvp_rans *r, uint64_t *e, int ebits, const char *fn) {
    uint64_t lmax = (uint64_t)(63 - ebits), total = 1ull << RANS_UNIFORM_PRECISION, f0 = total - lmax;
    uint64_t slot = r->x & (total - 1);
    uint64_t l = slot < f0 ? 0 : slot - f0 + 1;
    nvp_status st = l == 0 ? nvp_rans_pop_sym_(r, 0, f0, RANS_UNIFORM_PRECISION, fn) : nvp_rans_pop_sym_(r, slot, 1,
                                                                                      RANS_UNIFORM_PRECISION, fn);
    if (st) return st;
    uint64_t bits = 0;
    int len = l == 0 ? ebits : ebits + (int)l - 1;
    st = pop_bits(r, &bits, len, fn);
    if (st) return st;
    *e = l == 0 ? bits : (1ull << len) + bits;
    return NVP_OK;
}

/* One element's window: m = 2^j fine points per coarse bucket, the window's first fine index k0,
 * and the bucket grid over it. */
typedef struct gauss_window {
    int j;                           /* log2 of the fine points per coarse bucket */
    int ebits;                       /* bits of an escape: j + log2(nbuckets) */
    int64_t k0;                      /* fine index of the window's first point */
    bucket_grid g;
} gauss_window;

static nvp_status window_of(const char *fn, gauss_window *w, double mean, double scale, double delta, int32_t res,
                            int32_t nbuckets, int32_t p) {
    if (!isfinite(mean) || !isfinite(scale) || !(scale > 0.0))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: mean = %g, scale = %g: need finite values and scale > 0", fn, mean,
                        scale);
    int e = 0;
    frexp(scale / delta, &e);        /* scale / delta in [2^(e-1), 2^e): exact, the same everywhere */
    int j = e - 1 - res;
    if (j < 0) j = 0;
    int wbits = 0;
    while ((1 << wbits) < nbuckets) wbits++;
    if (j + wbits > 62)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: scale %g is too wide for the grid delta %g", fn, scale, delta);
    double centre = floor(mean / delta / ldexp(1.0, j));
    if (!(fabs(centre) < 0x1p52) || !(fabs(centre) * ldexp(1.0, j) < 0x1p60))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: mean %g is beyond the grid of delta %g", fn, mean, delta);
    w->j = j;
    w->ebits = j + wbits;
    w->k0 = ((int64_t)centre - nbuckets / 2) * ((int64_t)1 << j);
    return nvp_rans_check_grid_(fn, &w->g, NVP_RANS_GAUSSIAN, mean, scale, ((double)w->k0 - 0.5) * delta,
                      ldexp(delta, j), nbuckets, p);
}

static nvp_status check_gaussians(const char *fn, const nvp_rans *r, const void *k, const double *mean,
                                  const double *scale, int64_t n, double delta, int32_t res, int32_t nbuckets,
                                  int32_t p) {
    NVP_CHECK_PTR(fn, r);
    NVP_CHECK_SIZE(fn, n);
    if (n > 0) {
        NVP_CHECK_PTR(fn, k);
        NVP_CHECK_PTR(fn, mean);
        NVP_CHECK_PTR(fn, scale);
    }
    if (!(delta > 0.0) || !isfinite(delta) || frexp(delta, &(int){0}) != 0.5)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: delta = %g is not a power of two", fn, delta);
    if (res < 0 || res > 20) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: res = %d is outside [0, 20]", fn, (int)res);
    if (nbuckets < 4 || nbuckets > (1 << 20) || (nbuckets & (nbuckets - 1)) || (int64_t)nbuckets * 16 > (1ll << p))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: nbuckets = %d is not a power of two in [4, 2^20] at most 2^%d / 16",
                        fn, (int)nbuckets, (int)p);
    return NVP_OK;
}

nvp_status nvp_rans_push_gaussians(nvp_rans *rans, const int64_t *k, const double *mean, const double *scale,
                                   int64_t n, double delta, int32_t res, int32_t nbuckets, int32_t precision) {
    const char *fn = "nvp_rans_push_gaussians";
    nvp_status st = check_gaussians(fn, rans, k, mean, scale, n, delta, res, nbuckets, precision);
    if (st) return st;
    for (int64_t i = 0; i < n; i++) {
        gauss_window w;
        st = window_of(fn, &w, mean[i], scale[i], delta, res, nbuckets, precision);
        if (st) return nvp_rans_batch_fail_(st, i, n);
        int64_t m = (int64_t)1 << w.j, W = nbuckets;
        int64_t off = k[i] - w.k0;   /* floor division by m: the coarse bucket */
        int64_t b = off >= 0 ? off / m : -((-off + m - 1) / m);
        int32_t bucket;
        uint64_t rest;
        int bits;
        if (b > 0 && b < W - 1) {
            bucket = (int32_t)b, rest = (uint64_t)(off - b * m), bits = w.j;
        } else {
            /* |k| < 2^61 keeps the distance below 2^62 (the window's start is within 2^60) */
            if (k[i] >= ((int64_t)1 << 61) || k[i] <= -((int64_t)1 << 61))
                return nvp_rans_batch_fail_(nvp_fail(NVP_STATUS_UNSUPPORTED, "%s: value %lld * delta is beyond 2^61 points",
                                           fn, (long long)k[i]), i, n);
            int64_t e = b <= 0 ? (w.k0 + m - 1) - k[i] : k[i] - (w.k0 + (W - 1) * m);
            bucket = b <= 0 ? 0 : (int32_t)(W - 1), rest = (uint64_t)e, bits = -1;
        }
        st = bits < 0 ? push_escape(rans, rest, w.ebits, fn) : push_bits(rans, rest, bits, fn);
        if (!st) st = nvp_rans_push_bucket_(rans, &w.g, bucket, fn);
        if (st) return nvp_rans_batch_fail_(st, i, n);
    }
    return NVP_OK;
}

nvp_status nvp_rans_pop_gaussians(nvp_rans *rans, int64_t *k, const double *mean, const double *scale, int64_t n,
                                  double delta, int32_t res, int32_t nbuckets, int32_t precision) {
    const char *fn = "nvp_rans_pop_gaussians";
    nvp_status st = check_gaussians(fn, rans, k, mean, scale, n, delta, res, nbuckets, precision);
    if (st) return st;
    for (int64_t i = n - 1; i >= 0; i--) {
        gauss_window w;
        st = window_of(fn, &w, mean[i], scale[i], delta, res, nbuckets, precision);
        if (st) return nvp_rans_batch_fail_(st, i, n);
        int64_t m = (int64_t)1 << w.j, W = nbuckets;
        int32_t bucket = 0;
        uint64_t rest = 0;
        st = nvp_rans_pop_bucket_(rans, &w.g, &bucket, fn);
        int inside = bucket > 0 && bucket < W - 1;
        if (!st) st = inside ? pop_bits(rans, &rest, w.j, fn) : pop_escape(rans, &rest, w.ebits, fn);
        if (st) return nvp_rans_batch_fail_(st, i, n);
        if (rest >= (1ull << 62))
            return nvp_rans_batch_fail_(nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: an escape of 2^62 points or more", fn), i, n);
        if (bucket > 0 && bucket < W - 1) k[i] = w.k0 + bucket * m + (int64_t)rest;
        else if (bucket == 0) k[i] = w.k0 + m - 1 - (int64_t)rest;
        else k[i] = w.k0 + (W - 1) * m + (int64_t)rest;
    }
    return NVP_OK;
}