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
 * Files: rans.c the message, the symbols, uniform integers and the byte form; rans_buckets.c the
 * discretised Gaussian and logistic buckets; rans_gaussians.c grid values under windowed Gaussians.
 *
 * Errors: every public entry checks its arguments and the message, returns a status with a
 * one-line nvp_fail message, and leaves the message unchanged on failure (batch calls excepted).
 */
#include "rans_internal.h"

#include <math.h>
#include <string.h>
#include <zlib.h>

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
nvp_status nvp_rans_push_sym_(nvp_rans *r, uint64_t start, uint64_t freq, int p, const char *fn) {
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

nvp_status nvp_rans_pop_sym_(nvp_rans *r, uint64_t start, uint64_t freq, int p, const char *fn) {
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
    return st ? st : nvp_rans_push_sym_(rans, start, freq, precision, "nvp_rans_push");
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
    return st ? st : nvp_rans_pop_sym_(rans, start, freq, precision, "nvp_rans_pop");
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
    return nvp_rans_push_sym_(rans, cdf[symbol], cdf[symbol + 1] - cdf[symbol], precision, fn);
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
    st = nvp_rans_pop_sym_(rans, cdf[lo], cdf[lo + 1] - cdf[lo], precision, fn);
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
    return nvp_rans_push_sym_(rans, s0, s1 - s0, RANS_UNIFORM_PRECISION, fn);
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
    nvp_status st = nvp_rans_pop_sym_(rans, s0, s1 - s0, RANS_UNIFORM_PRECISION, fn);
    if (st == NVP_OK) *value = (uint32_t)v;
    return st;
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
