/*
 * rans_buckets.c -- discretised Gaussian and logistic buckets on the rANS message (rans.c's header comment:
 * their CDF in double with +, -, *, / only, so encoder and decoder agree bit for bit), single and batched.
 */
#include "rans_internal.h"

#include <math.h>
#include <stdio.h>

/* ---- deterministic CDFs (+, -, *, / only; see the header comment) ------------------------ */

/* exp(x) for x <= 0 (the only use): Cody-Waite reduction x = k ln2 + r, |r| <= ln2 / 2, Taylor to
 * degree 13 (truncation < 2e-17 relative), times 2^k built from its bits. 0 below -745. */
static double det_exp(double x) {
    if (!(x >= -745.0)) return 0.0;  /* also NaN: never converted to int below */
    if (x > 0.0) x = 0.0;
    const double log2e = 1.44269504088896338700e+00;
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    int k = (int)(x * log2e - 0.5);  /* x <= 0: truncation toward 0 of a value <= -0.5 rounds */
    double r = (x - k * ln2_hi) - k * ln2_lo;
    double p = 1.0 / 6227020800.0;   /* 1/13! ... Horner down to 1 */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    union { uint64_t u; double d; } s;
    if (k < -1020) {                 /* subnormal result: two exact-power steps */
        s.u = (uint64_t)(k + 600 + 1023) << 52;
        p *= s.d;
        s.u = (uint64_t)(-600 + 1023) << 52;
        return p * s.d;
    }
    s.u = (uint64_t)(k + 1023) << 52;
    return p * s.d;
}

/* Numerical Recipes' erfcc(a) for a >= 0 (Chebyshev fit, relative error < 1.2e-7). */
static double erfcc(double a) {
    double t = 1.0 / (1.0 + 0.5 * a);
    double q = t * (-0.82215223 + t * 0.17087277);
    q = t * (1.48851587 + q);
    q = t * (-1.13520398 + q);
    q = t * (0.27886807 + q);
    q = t * (-0.18628806 + q);
    q = t * (0.09678418 + q);
    q = t * (0.37409196 + q);
    q = t * (1.00002368 + q);
    return t * det_exp(-a * a - 1.26551223 + q);
}

/* The distribution's CDF at standardised z, in [0, 1]. erfc0 = erfcc(0): dividing by it makes the
 * two halves of the Gaussian meet at exactly 1/2. (The fit's exponent at 0 is +3e-8, which det_exp
 * clamps to 0, so erfc0 is 1 today; without clamp and division the CDF would step down by 3e-8 at
 * the mean, which rans_spec's 1e-9-wide grid catches.) */
static double dist_cdf(nvp_rans_dist dist, double z, double erfc0) {
    if (z > 1e4) z = 1e4;
    if (z < -1e4) z = -1e4;
    if (dist == NVP_RANS_LOGISTIC) {
        if (z >= 0.0) return 1.0 / (1.0 + det_exp(-z));
        double e = det_exp(z);
        return e / (1.0 + e);
    }
    double u = z * 0.70710678118654752440;
    if (u >= 0.0) return 1.0 - 0.5 * (erfcc(u) / erfc0);
    return 0.5 * (erfcc(-u) / erfc0);
}


nvp_status nvp_rans_check_grid_(const char *fn, bucket_grid *g, nvp_rans_dist dist, double mean, double scale, double lo,
                             double width, int32_t nbuckets, int32_t p) {
    if (dist != NVP_RANS_GAUSSIAN && dist != NVP_RANS_LOGISTIC)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: dist %d is neither NVP_RANS_GAUSSIAN (0) nor NVP_RANS_LOGISTIC (1)",
                        fn, (int)dist);
    if (p < 1 || p > RANS_MAX_PRECISION)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: precision %d is outside [1, %d]", fn, (int)p, RANS_MAX_PRECISION);
    if (nbuckets < 2 || (uint64_t)nbuckets >= (1ull << p))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: nbuckets = %d is outside [2, 2^%d)", fn, (int)nbuckets, (int)p);
    if (!isfinite(lo) || !isfinite(width) || !(width > 0.0) || !isfinite(lo + width * (double)nbuckets))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: grid lo = %g, width = %g, nbuckets = %d is not finite and increasing",
                        fn, lo, width, (int)nbuckets);
    if (!isfinite(mean) || !isfinite(scale) || !(scale > 0.0))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: mean = %g, scale = %g: need finite values and scale > 0", fn, mean,
                        scale);
    *g = (bucket_grid){dist, mean, scale, lo, width, nbuckets, p, (1ull << p) - (uint64_t)nbuckets, erfcc(0.0)};
    return NVP_OK;
}

/* floor(S F(edge k)) for k in [0, n]: 0 at k = 0 and S at k = n (the tails go to the end buckets). */
static uint64_t grid_cum(const bucket_grid *g, int32_t k) {
    if (k <= 0) return 0;
    if (k >= g->n) return g->s;
    double z = (g->lo + (double)k * g->width - g->mean) / g->scale;
    double v = (double)g->s * dist_cdf(g->dist, z, g->erfc0);
    if (!(v > 0.0)) return 0;
    if (v >= (double)g->s) return g->s;
    return (uint64_t)v;
}

/* Bucket b's slots [start, start + freq); fails (never miscodes) if the CDF was not monotone. */
static nvp_status grid_freq(const char *fn, const bucket_grid *g, int32_t b, uint64_t *start, uint64_t *freq) {
    uint64_t c0 = grid_cum(g, b), c1 = grid_cum(g, b + 1);
    if (c1 < c0)
        return nvp_fail(NVP_STATUS_UNSUPPORTED,
                        "%s: the CDF is not monotone at bucket %d (mean %.17g, scale %.17g, lo %.17g, width %.17g)", fn,
                        (int)b, g->mean, g->scale, g->lo, g->width);
    *start = c0 + (uint64_t)b;
    *freq = c1 - c0 + 1;
    return NVP_OK;
}

/* The decoder's search: the largest b with start(b) = cum(b) + b <= slot (binary, a fixed decision
 * tree over the grid), walked for slots s0 <= s1 at once: -1 if their paths part. */
static int32_t grid_search(const bucket_grid *g, uint64_t s0, uint64_t s1) {
    int32_t lo = 0, hi = g->n;
    while (hi - lo > 1) {
        int32_t mid = lo + (hi - lo) / 2;
        uint64_t start = grid_cum(g, mid) + (uint64_t)mid;
        if ((start <= s0) != (start <= s1)) return -1;
        if (start <= s0) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* Push bucket b, after checking that the decoder will find it. F is monotone in exact arithmetic
 * but its rounding could, in principle, make floor(S F) step down between two edges far from b
 * and send the decoder's search elsewhere. The search is a fixed decision tree whose every
 * decision is monotone in the slot, so if the lowest and the highest slot of b both lead to b,
 * every slot between does: one search walked for both (no dearer than a pop) makes "refused, never
 * miscoded" a guarantee. */
nvp_status nvp_rans_push_bucket_(nvp_rans *r, const bucket_grid *g, int32_t b, const char *fn) {
    if (b < 0 || b >= g->n)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: bucket %d is outside [0, %d)", fn, (int)b, (int)g->n);
    uint64_t start = 0, freq = 0;
    nvp_status st = grid_freq(fn, g, b, &start, &freq);
    if (st) return st;
    if (grid_search(g, start, start + freq - 1) != b)
        return nvp_fail(NVP_STATUS_UNSUPPORTED,
                        "%s: the CDF is not monotone near bucket %d (mean %.17g, scale %.17g, lo %.17g, width %.17g)",
                        fn, (int)b, g->mean, g->scale, g->lo, g->width);
    return nvp_rans_push_sym_(r, start, freq, g->p, fn);
}

nvp_status nvp_rans_pop_bucket_(nvp_rans *r, const bucket_grid *g, int32_t *b, const char *fn) {
    uint64_t slot = r->x & ((1ull << g->p) - 1);
    int32_t lo = grid_search(g, slot, slot);
    uint64_t start = 0, freq = 0;
    nvp_status st = grid_freq(fn, g, lo, &start, &freq);
    if (st) return st;
    st = nvp_rans_pop_sym_(r, start, freq, g->p, fn);   /* checks start <= slot < start + freq */
    if (st == NVP_OK) *b = lo;
    return st;
}

nvp_status nvp_rans_push_bucket(nvp_rans *rans, int32_t bucket, nvp_rans_dist dist, double mean, double scale,
                                double lo, double width, int32_t nbuckets, int32_t precision) {
    const char *fn = "nvp_rans_push_bucket";
    NVP_CHECK_PTR(fn, rans);
    bucket_grid g = {0};
    nvp_status st = nvp_rans_check_grid_(fn, &g, dist, mean, scale, lo, width, nbuckets, precision);
    return st ? st : nvp_rans_push_bucket_(rans, &g, bucket, fn);
}

nvp_status nvp_rans_pop_bucket(nvp_rans *rans, int32_t *bucket, nvp_rans_dist dist, double mean, double scale,
                               double lo, double width, int32_t nbuckets, int32_t precision) {
    const char *fn = "nvp_rans_pop_bucket";
    NVP_CHECK_PTR(fn, rans);
    NVP_CHECK_PTR(fn, bucket);
    bucket_grid g = {0};
    nvp_status st = nvp_rans_check_grid_(fn, &g, dist, mean, scale, lo, width, nbuckets, precision);
    return st ? st : nvp_rans_pop_bucket_(rans, &g, bucket, fn);
}

nvp_status nvp_rans_bucket_freq(uint32_t *start, uint32_t *freq, int32_t bucket, nvp_rans_dist dist, double mean,
                                double scale, double lo, double width, int32_t nbuckets, int32_t precision) {
    const char *fn = "nvp_rans_bucket_freq";
    NVP_CHECK_PTR(fn, start);
    NVP_CHECK_PTR(fn, freq);
    bucket_grid g = {0};
    nvp_status st = nvp_rans_check_grid_(fn, &g, dist, mean, scale, lo, width, nbuckets, precision);
    if (st) return st;
    if (bucket < 0 || bucket >= nbuckets)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: bucket %d is outside [0, %d)", fn, (int)bucket, (int)nbuckets);
    uint64_t s, f;
    st = grid_freq(fn, &g, bucket, &s, &f);
    if (st) return st;
    *start = (uint32_t)s;
    *freq = (uint32_t)f;
    return NVP_OK;
}

/* Append "(element i of n)" to the message just set (copied first: nvp_fail writes that buffer). */
nvp_status nvp_rans_batch_fail_(nvp_status st, int64_t i, int64_t n) {
    char msg[900];
    snprintf(msg, sizeof msg, "%s", nvp_last_error());
    return nvp_fail(st, "%s (element %lld of %lld)", msg, (long long)i, (long long)n);
}

nvp_status nvp_rans_push_buckets(nvp_rans *rans, const int32_t *buckets, const float *mean, const float *scale,
                                 int64_t n, nvp_rans_dist dist, double lo, double width, int32_t nbuckets,
                                 int32_t precision) {
    const char *fn = "nvp_rans_push_buckets";
    NVP_CHECK_PTR(fn, rans);
    NVP_CHECK_SIZE(fn, n);
    if (n == 0) return NVP_OK;
    NVP_CHECK_PTR(fn, buckets);
    NVP_CHECK_PTR(fn, mean);
    NVP_CHECK_PTR(fn, scale);
    for (int64_t i = 0; i < n; i++) {
        bucket_grid g = {0};
        nvp_status st = nvp_rans_check_grid_(fn, &g, dist, mean[i], scale[i], lo, width, nbuckets, precision);
        if (!st) st = nvp_rans_push_bucket_(rans, &g, buckets[i], fn);
        if (st) return nvp_rans_batch_fail_(st, i, n);
    }
    return NVP_OK;
}

nvp_status nvp_rans_pop_buckets(nvp_rans *rans, int32_t *buckets, const float *mean, const float *scale, int64_t n,
                                nvp_rans_dist dist, double lo, double width, int32_t nbuckets, int32_t precision) {
    const char *fn = "nvp_rans_pop_buckets";
    NVP_CHECK_PTR(fn, rans);
    NVP_CHECK_SIZE(fn, n);
    if (n == 0) return NVP_OK;
    NVP_CHECK_PTR(fn, buckets);
    NVP_CHECK_PTR(fn, mean);
    NVP_CHECK_PTR(fn, scale);
    for (int64_t i = n - 1; i >= 0; i--) {
        bucket_grid g = {0};
        nvp_status st = nvp_rans_check_grid_(fn, &g, dist, mean[i], scale[i], lo, width, nbuckets, precision);
        if (!st) st = nvp_rans_pop_bucket_(rans, &g, &buckets[i], fn);
        if (st) return nvp_rans_batch_fail_(st, i, n);
    }
    return NVP_OK;
}