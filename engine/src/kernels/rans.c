/*
 * rans.c -- the rANS entropy coder under `nvp compress` (issue 22): a message stack with push
 * (encode) and pop (decode) in LIFO order, as bits-back coding needs, after ryg_rans's rans64.h
 * (as hojonathanho/localbitsback's ans.h and j-towns/craystack's rans.py use it).
 *
 * What it is:
 *   - 64-bit state x kept in [L, 2^32 L) with L = 2^31; renormalisation moves one 32-bit word to
 *     or from a growable stack. Push of [start, start + freq) of 2^p:
 *       if x >= 2^(63-p) freq: push the low word, x >>= 32;  x = (x / freq) << p | ... + x % freq + start
 *     and pop is its exact inverse (so pop-then-push and push-then-pop leave the message unchanged,
 *     bit for bit: the bits-back identity). The precision p (1..24) is per call.
 *   - the discretised Gaussian and logistic buckets: their CDF is computed here in double with
 *     +, -, *, / only (an own exp with Cody-Waite reduction and a degree-13 Taylor polynomial, and
 *     Numerical Recipes' erfcc Chebyshev fit, |relative error| < 1.2e-7, normalised so that
 *     F(mean) = 1/2 exactly), no libm, and this file is compiled with -ffp-contract=off (CMakeLists)
 *     so no FMA contraction can change a rounding: encoder and decoder agree bit for bit on any
 *     IEEE-754 double machine, whatever the CPU path or thread count.
 *
 * What it is not: a vector or threaded kernel. A single rANS stream is serial (every step needs
 * the previous state), so there is no _avx2 pair and no dispatch; interleaved streams would be the
 * way to vectorise and are not needed at the speeds a flow's forward pass allows (the network
 * dominates by orders of magnitude).
 *
 * Errors: every public entry checks its arguments and the message, returns a status with a
 * one-line nvp_fail message, and leaves the message unchanged on failure (batch calls excepted).
 */
#include "internal.h"

#include <math.h>
#include <string.h>
#include <zlib.h>

#define RANS_L (1ull << 31)          /* lower bound of the state */
#define RANS_MAX_PRECISION 24
#define RANS_HEADER 24               /* "nvprans1", u64 words, u64 state */
#define RANS_UNIFORM_PRECISION 24

struct nvp_rans {
    uint64_t x;                      /* state in [RANS_L, 2^63) */
    uint32_t *words;                 /* the stack: words[n - 1] is the top */
    size_t n, cap;
    size_t low;                      /* the fewest words held since creation or nvp_rans_reset_low */
};

/* ---- the message ------------------------------------------------------------------------ */

nvp_status nvp_rans_create(nvp_rans **rans) {
    NVP_CHECK_PTR("nvp_rans_create", rans);
    *rans = NULL;
    nvp_rans *r = calloc(1, sizeof *r);
    if (!r) return nvp_fail(NVP_STATUS_NO_MEMORY, "nvp_rans_create: out of memory");
    r->x = RANS_L;
    *rans = r;
    return NVP_OK;
}

void nvp_rans_free(nvp_rans *rans) {
    if (!rans) return;
    free(rans->words);
    free(rans);
}

/* Make room for `extra` more words; the message is unchanged on failure. */
static nvp_status reserve(nvp_rans *r, size_t extra, const char *fn) {
    if (r->cap - r->n >= extra) return NVP_OK;
    size_t want = r->n + extra;
    if (want < r->n || want > SIZE_MAX / 8) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: message too large", fn);
    size_t cap = r->cap ? r->cap : 256;
    while (cap < want) cap *= 2;
    uint32_t *w = realloc(r->words, cap * sizeof *w);
    if (!w) return nvp_fail(NVP_STATUS_NO_MEMORY, "%s: out of memory growing the stack to %zu words", fn, cap);
    r->words = w;
    r->cap = cap;
    return NVP_OK;
}

nvp_status nvp_rans_clone(nvp_rans **rans, const nvp_rans *src) {
    NVP_CHECK_PTR("nvp_rans_clone", rans);
    NVP_CHECK_PTR("nvp_rans_clone", src);
    nvp_status st = nvp_rans_create(rans);
    if (st) return st;
    st = reserve(*rans, src->n, "nvp_rans_clone");
    if (st) {
        nvp_rans_free(*rans);
        *rans = NULL;
        return st;
    }
    if (src->n) memcpy((*rans)->words, src->words, src->n * sizeof *src->words);
    (*rans)->n = src->n;
    (*rans)->x = src->x;
    (*rans)->low = src->low;
    return NVP_OK;
}

double nvp_rans_bits(const nvp_rans *rans) {
    if (!rans) return 0.0;
    return 32.0 * (double)rans->n + log2((double)rans->x) - 31.0;
}

int64_t nvp_rans_words(const nvp_rans *rans) { return rans ? (int64_t)rans->n : 0; }

int64_t nvp_rans_low_words(const nvp_rans *rans) { return rans ? (int64_t)rans->low : 0; }

void nvp_rans_reset_low(nvp_rans *rans) {
    if (rans) rans->low = rans->n;
}

nvp_status nvp_rans_word(uint32_t *word, const nvp_rans *rans, int64_t i) {
    NVP_CHECK_PTR("nvp_rans_word", word);
    NVP_CHECK_PTR("nvp_rans_word", rans);
    if (i < 0 || (uint64_t)i >= rans->n)
        return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_rans_word: word %lld is outside [0, %zu)", (long long)i, rans->n);
    *word = rans->words[i];
    return NVP_OK;
}

int nvp_rans_equal(const nvp_rans *a, const nvp_rans *b) {
    if (!a || !b) return a == b;
    return a->x == b->x && a->n == b->n && (a->n == 0 || memcmp(a->words, b->words, a->n * sizeof *a->words) == 0);
}

/* ---- symbols ---------------------------------------------------------------------------- */

static nvp_status check_symbol(const char *fn, const nvp_rans *r, uint64_t start, uint64_t freq, int32_t p) {
    if (!r) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: rans is NULL", fn);
    if (p < 1 || p > RANS_MAX_PRECISION)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: precision %d is outside [1, %d]", fn, (int)p, RANS_MAX_PRECISION);
    if (freq < 1 || start + freq > (1ull << p))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: symbol [start %llu, +freq %llu) is empty or outside [0, 2^%d)", fn,
                        (unsigned long long)start, (unsigned long long)freq, (int)p);
    return NVP_OK;
}

/* The coder proper, arguments already checked. */
static nvp_status push_sym(nvp_rans *r, uint64_t start, uint64_t freq, int p, const char *fn) {
    uint64_t x = r->x;
    if (x >= ((RANS_L >> p) << 32) * freq) {
        nvp_status st = reserve(r, 1, fn);
        if (st) return st;
        r->words[r->n++] = (uint32_t)x;
        x >>= 32;
    }
    r->x = ((x / freq) << p) + x % freq + start;
    return NVP_OK;
}

static nvp_status pop_sym(nvp_rans *r, uint64_t start, uint64_t freq, int p, const char *fn) {
    uint64_t slot = r->x & ((1ull << p) - 1);
    if (slot < start || slot - start >= freq)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: symbol [start %llu, +freq %llu) does not hold the peeked slot %llu",
                        fn, (unsigned long long)start, (unsigned long long)freq, (unsigned long long)slot);
    uint64_t x = freq * (r->x >> p) + slot - start;
    if (x < RANS_L) {
        if (r->n == 0)
            return nvp_fail(NVP_STATUS_BAD_FORMAT,
                            "%s: the message is exhausted (popping needs a word and the stack is empty)", fn);
        x = (x << 32) | r->words[--r->n];
        if (r->n < r->low) r->low = r->n;
    }
    r->x = x;
    return NVP_OK;
}

nvp_status nvp_rans_push(nvp_rans *rans, uint32_t start, uint32_t freq, int32_t precision) {
    nvp_status st = check_symbol("nvp_rans_push", rans, start, freq, precision);
    return st ? st : push_sym(rans, start, freq, precision, "nvp_rans_push");
}

nvp_status nvp_rans_peek(const nvp_rans *rans, int32_t precision, uint32_t *slot) {
    NVP_CHECK_PTR("nvp_rans_peek", slot);
    nvp_status st = check_symbol("nvp_rans_peek", rans, 0, 1, precision);
    if (st) return st;
    *slot = (uint32_t)(rans->x & ((1ull << precision) - 1));
    return NVP_OK;
}

nvp_status nvp_rans_pop(nvp_rans *rans, uint32_t start, uint32_t freq, int32_t precision) {
    nvp_status st = check_symbol("nvp_rans_pop", rans, start, freq, precision);
    return st ? st : pop_sym(rans, start, freq, precision, "nvp_rans_pop");
}

static nvp_status check_cdf(const char *fn, const uint32_t *cdf, int32_t nsym, int32_t p) {
    NVP_CHECK_PTR(fn, cdf);
    if (p < 1 || p > RANS_MAX_PRECISION)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: precision %d is outside [1, %d]", fn, (int)p, RANS_MAX_PRECISION);
    if (nsym < 1) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: nsym = %d, need >= 1", fn, (int)nsym);
    if (cdf[0] != 0 || cdf[nsym] != (1u << p))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: cdf[0] = %u and cdf[%d] = %u, need 0 and 2^%d", fn, cdf[0],
                        (int)nsym, cdf[nsym], (int)p);
    return NVP_OK;
}

nvp_status nvp_rans_push_cdf(nvp_rans *rans, int32_t symbol, const uint32_t *cdf, int32_t nsym, int32_t precision) {
    const char *fn = "nvp_rans_push_cdf";
    NVP_CHECK_PTR(fn, rans);
    nvp_status st = check_cdf(fn, cdf, nsym, precision);
    if (st) return st;
    if (symbol < 0 || symbol >= nsym)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: symbol %d is outside [0, %d)", fn, (int)symbol, (int)nsym);
    if (cdf[symbol + 1] <= cdf[symbol] || cdf[symbol + 1] > (1u << precision))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: symbol %d has freq cdf[%d] - cdf[%d] = %lld, need >= 1 within 2^%d",
                        fn, (int)symbol, (int)symbol + 1, (int)symbol, (long long)cdf[symbol + 1] - cdf[symbol],
                        (int)precision);
    return push_sym(rans, cdf[symbol], cdf[symbol + 1] - cdf[symbol], precision, fn);
}

nvp_status nvp_rans_pop_cdf(nvp_rans *rans, int32_t *symbol, const uint32_t *cdf, int32_t nsym, int32_t precision) {
    const char *fn = "nvp_rans_pop_cdf";
    NVP_CHECK_PTR(fn, rans);
    NVP_CHECK_PTR(fn, symbol);
    nvp_status st = check_cdf(fn, cdf, nsym, precision);
    if (st) return st;
    uint32_t slot = (uint32_t)(rans->x & ((1ull << precision) - 1));
    int32_t lo = 0, hi = nsym;       /* largest s with cdf[s] <= slot */
    while (hi - lo > 1) {
        int32_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] <= slot) lo = mid;
        else hi = mid;
    }
    if (cdf[lo + 1] <= cdf[lo] || cdf[lo + 1] > (1u << precision))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: cdf is not increasing within [0, 2^%d] at symbol %d", fn,
                        (int)precision, (int)lo);
    st = pop_sym(rans, cdf[lo], cdf[lo + 1] - cdf[lo], precision, fn);
    if (st == NVP_OK) *symbol = lo;
    return st;
}

/* ---- uniform integers -------------------------------------------------------------------- */
/* value v of n owns [floor(v 2^24 / n), floor((v + 1) 2^24 / n)): freq >= floor(2^24 / n) >= 1. */

static uint64_t uniform_start(uint64_t v, uint64_t n) { return (v << RANS_UNIFORM_PRECISION) / n; }

nvp_status nvp_rans_push_uniform(nvp_rans *rans, uint32_t value, uint32_t n) {
    const char *fn = "nvp_rans_push_uniform";
    NVP_CHECK_PTR(fn, rans);
    if (n < 1 || n > (1u << RANS_UNIFORM_PRECISION))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: n = %u is outside [1, 2^24]", fn, n);
    if (value >= n) return nvp_fail(NVP_STATUS_BAD_ARG, "%s: value %u is outside [0, %u)", fn, value, n);
    uint64_t s0 = uniform_start(value, n), s1 = uniform_start((uint64_t)value + 1, n);
    return push_sym(rans, s0, s1 - s0, RANS_UNIFORM_PRECISION, fn);
}

nvp_status nvp_rans_pop_uniform(nvp_rans *rans, uint32_t *value, uint32_t n) {
    const char *fn = "nvp_rans_pop_uniform";
    NVP_CHECK_PTR(fn, rans);
    NVP_CHECK_PTR(fn, value);
    if (n < 1 || n > (1u << RANS_UNIFORM_PRECISION))
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: n = %u is outside [1, 2^24]", fn, n);
    uint64_t slot = rans->x & ((1ull << RANS_UNIFORM_PRECISION) - 1);
    uint64_t v = ((slot + 1) * n - 1) >> RANS_UNIFORM_PRECISION;   /* largest v with start(v) <= slot */
    uint64_t s0 = uniform_start(v, n), s1 = uniform_start(v + 1, n);
    nvp_status st = pop_sym(rans, s0, s1 - s0, RANS_UNIFORM_PRECISION, fn);
    if (st == NVP_OK) *value = (uint32_t)v;
    return st;
}

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

typedef struct bucket_grid {
    nvp_rans_dist dist;
    double mean, scale, lo, width;
    int32_t n, p;
    uint64_t s;                      /* 2^p - n: the mass spread by the CDF */
    double erfc0;
} bucket_grid;

static nvp_status check_grid(const char *fn, bucket_grid *g, nvp_rans_dist dist, double mean, double scale, double lo,
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
static nvp_status push_bucket(nvp_rans *r, const bucket_grid *g, int32_t b, const char *fn) {
    if (b < 0 || b >= g->n)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: bucket %d is outside [0, %d)", fn, (int)b, (int)g->n);
    uint64_t start = 0, freq = 0;
    nvp_status st = grid_freq(fn, g, b, &start, &freq);
    if (st) return st;
    if (grid_search(g, start, start + freq - 1) != b)
        return nvp_fail(NVP_STATUS_UNSUPPORTED,
                        "%s: the CDF is not monotone near bucket %d (mean %.17g, scale %.17g, lo %.17g, width %.17g)",
                        fn, (int)b, g->mean, g->scale, g->lo, g->width);
    return push_sym(r, start, freq, g->p, fn);
}

static nvp_status pop_bucket(nvp_rans *r, const bucket_grid *g, int32_t *b, const char *fn) {
    uint64_t slot = r->x & ((1ull << g->p) - 1);
    int32_t lo = grid_search(g, slot, slot);
    uint64_t start = 0, freq = 0;
    nvp_status st = grid_freq(fn, g, lo, &start, &freq);
    if (st) return st;
    st = pop_sym(r, start, freq, g->p, fn);   /* checks start <= slot < start + freq */
    if (st == NVP_OK) *b = lo;
    return st;
}

nvp_status nvp_rans_push_bucket(nvp_rans *rans, int32_t bucket, nvp_rans_dist dist, double mean, double scale,
                                double lo, double width, int32_t nbuckets, int32_t precision) {
    const char *fn = "nvp_rans_push_bucket";
    NVP_CHECK_PTR(fn, rans);
    bucket_grid g = {0};
    nvp_status st = check_grid(fn, &g, dist, mean, scale, lo, width, nbuckets, precision);
    return st ? st : push_bucket(rans, &g, bucket, fn);
}

nvp_status nvp_rans_pop_bucket(nvp_rans *rans, int32_t *bucket, nvp_rans_dist dist, double mean, double scale,
                               double lo, double width, int32_t nbuckets, int32_t precision) {
    const char *fn = "nvp_rans_pop_bucket";
    NVP_CHECK_PTR(fn, rans);
    NVP_CHECK_PTR(fn, bucket);
    bucket_grid g = {0};
    nvp_status st = check_grid(fn, &g, dist, mean, scale, lo, width, nbuckets, precision);
    return st ? st : pop_bucket(rans, &g, bucket, fn);
}

nvp_status nvp_rans_bucket_freq(uint32_t *start, uint32_t *freq, int32_t bucket, nvp_rans_dist dist, double mean,
                                double scale, double lo, double width, int32_t nbuckets, int32_t precision) {
    const char *fn = "nvp_rans_bucket_freq";
    NVP_CHECK_PTR(fn, start);
    NVP_CHECK_PTR(fn, freq);
    bucket_grid g = {0};
    nvp_status st = check_grid(fn, &g, dist, mean, scale, lo, width, nbuckets, precision);
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
static nvp_status batch_fail(nvp_status st, int64_t i, int64_t n) {
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
        nvp_status st = check_grid(fn, &g, dist, mean[i], scale[i], lo, width, nbuckets, precision);
        if (!st) st = push_bucket(rans, &g, buckets[i], fn);
        if (st) return batch_fail(st, i, n);
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
        nvp_status st = check_grid(fn, &g, dist, mean[i], scale[i], lo, width, nbuckets, precision);
        if (!st) st = pop_bucket(rans, &g, &buckets[i], fn);
        if (st) return batch_fail(st, i, n);
    }
    return NVP_OK;
}

/* ---- grid values under windowed Gaussians (the local bits-back codec) --------------------- */

/* value: `bits` uniform bits, in chunks of 16 (the low chunk pushed first, so popped last). */
static nvp_status push_bits(nvp_rans *r, uint64_t value, int bits, const char *fn) {
    for (int at = 0; at < bits; at += 16) {
        int k = bits - at < 16 ? bits - at : 16;
        uint64_t chunk = (value >> at) & ((1ull << k) - 1);
        nvp_status st = push_sym(r, chunk << (RANS_UNIFORM_PRECISION - k), 1ull << (RANS_UNIFORM_PRECISION - k),
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
        nvp_status st = pop_sym(r, chunk << (RANS_UNIFORM_PRECISION - k), 1ull << (RANS_UNIFORM_PRECISION - k),
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
    return l == 0 ? push_sym(r, 0, f0, RANS_UNIFORM_PRECISION, fn)
                  : push_sym(r, f0 + l - 1, 1, RANS_UNIFORM_PRECISION, fn);
}

static nvp_status pop_escape(nvp_rans *r, uint64_t *e, int ebits, const char *fn) {
    uint64_t lmax = (uint64_t)(63 - ebits), total = 1ull << RANS_UNIFORM_PRECISION, f0 = total - lmax;
    uint64_t slot = r->x & (total - 1);
    uint64_t l = slot < f0 ? 0 : slot - f0 + 1;
    nvp_status st = l == 0 ? pop_sym(r, 0, f0, RANS_UNIFORM_PRECISION, fn) : pop_sym(r, slot, 1,
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
    return check_grid(fn, &w->g, NVP_RANS_GAUSSIAN, mean, scale, ((double)w->k0 - 0.5) * delta,
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
        if (st) return batch_fail(st, i, n);
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
                return batch_fail(nvp_fail(NVP_STATUS_UNSUPPORTED, "%s: value %lld * delta is beyond 2^61 points",
                                           fn, (long long)k[i]), i, n);
            int64_t e = b <= 0 ? (w.k0 + m - 1) - k[i] : k[i] - (w.k0 + (W - 1) * m);
            bucket = b <= 0 ? 0 : (int32_t)(W - 1), rest = (uint64_t)e, bits = -1;
        }
        st = bits < 0 ? push_escape(rans, rest, w.ebits, fn) : push_bits(rans, rest, bits, fn);
        if (!st) st = push_bucket(rans, &w.g, bucket, fn);
        if (st) return batch_fail(st, i, n);
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
        if (st) return batch_fail(st, i, n);
        int64_t m = (int64_t)1 << w.j, W = nbuckets;
        int32_t bucket = 0;
        uint64_t rest = 0;
        st = pop_bucket(rans, &w.g, &bucket, fn);
        int inside = bucket > 0 && bucket < W - 1;
        if (!st) st = inside ? pop_bits(rans, &rest, w.j, fn) : pop_escape(rans, &rest, w.ebits, fn);
        if (st) return batch_fail(st, i, n);
        if (rest >= (1ull << 62))
            return batch_fail(nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: an escape of 2^62 points or more", fn), i, n);
        if (bucket > 0 && bucket < W - 1) k[i] = w.k0 + bucket * m + (int64_t)rest;
        else if (bucket == 0) k[i] = w.k0 + m - 1 - (int64_t)rest;
        else k[i] = w.k0 + (W - 1) * m + (int64_t)rest;
    }
    return NVP_OK;
}

/* ---- serialisation ------------------------------------------------------------------------ */

static const char rans_magic[8] = {'n', 'v', 'p', 'r', 'a', 'n', 's', '1'};

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* zlib's crc32 takes uInt lengths: feed it in chunks. */
static uint32_t crc_bytes(const uint8_t *p, size_t n) {
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, k);
        p += k;
        n -= k;
    }
    return (uint32_t)crc;
}

size_t nvp_rans_size(const nvp_rans *rans) { return rans ? RANS_HEADER + 4 * rans->n + 4 : 0; }

nvp_status nvp_rans_to_bytes(uint8_t *out, size_t cap, size_t *size, const nvp_rans *rans) {
    const char *fn = "nvp_rans_to_bytes";
    NVP_CHECK_PTR(fn, out);
    NVP_CHECK_PTR(fn, rans);
    size_t need = nvp_rans_size(rans);
    if (size) *size = 0;
    if (cap < need)
        return nvp_fail(NVP_STATUS_BAD_ARG, "%s: out holds %zu bytes, the message needs %zu", fn, cap, need);
    memcpy(out, rans_magic, 8);
    put_u64(out + 8, (uint64_t)rans->n);
    put_u64(out + 16, rans->x);
    for (size_t i = 0; i < rans->n; i++) put_u32(out + RANS_HEADER + 4 * i, rans->words[i]);
    put_u32(out + need - 4, crc_bytes(out, need - 4));
    if (size) *size = need;
    return NVP_OK;
}

nvp_status nvp_rans_from_bytes(nvp_rans **rans, const uint8_t *data, size_t size) {
    const char *fn = "nvp_rans_from_bytes";
    NVP_CHECK_PTR(fn, rans);
    *rans = NULL;
    if (size < RANS_HEADER + 4 || !data)
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: %zu bytes, shorter than the %d-byte minimum (empty or truncated)",
                        fn, size, RANS_HEADER + 4);
    if (memcmp(data, rans_magic, 8) != 0)
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: not an rANS message (magic is not \"nvprans1\")", fn);
    uint64_t words = get_u64(data + 8);
    if (words > (SIZE_MAX - RANS_HEADER - 4) / 4 || RANS_HEADER + 4 * words + 4 != size)
        return nvp_fail(NVP_STATUS_BAD_FORMAT,
                        "%s: the header says %llu words, the data has %zu bytes (truncated or altered)", fn,
                        (unsigned long long)words, size);
    uint32_t crc = get_u32(data + size - 4), have = crc_bytes(data, size - 4);
    if (crc != have)
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: CRC-32 %08x does not match the stored %08x (altered stream)", fn,
                        have, crc);
    uint64_t x = get_u64(data + 16);
    if (x < RANS_L || x >> 63)
        return nvp_fail(NVP_STATUS_BAD_FORMAT, "%s: state %llu is outside [2^31, 2^63)", fn, (unsigned long long)x);
    nvp_rans *r;
    nvp_status st = nvp_rans_create(&r);
    if (st) return st;
    st = reserve(r, (size_t)words, fn);
    if (st) {
        nvp_rans_free(r);
        return st;
    }
    for (size_t i = 0; i < (size_t)words; i++) r->words[i] = get_u32(data + RANS_HEADER + 4 * i);
    r->n = (size_t)words;
    r->low = r->n;
    r->x = x;
    *rans = r;
    return NVP_OK;
}
