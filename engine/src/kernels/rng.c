/*
 * rng.c -- counter-based random numbers (Philox4x32-10, Salmon et al., SC'11).
 *
 * Element i of a fill is a pure function of (seed, counter + i): fills are reproducible for any
 * thread count and any split of the work, and a stream is saved as two integers. Each Philox call
 * yields four 32-bit words; element i uses block (counter + i) / 2 and words 2*((counter+i) % 2)
 * and 2*((counter+i) % 2) + 1, so every element owns 64 random bits (two for Box-Muller).
 */
#include "internal.h"

#include <math.h>

typedef struct { uint32_t v[4]; } philox_ctr;

static inline void philox_round(uint32_t ctr[4], const uint32_t key[2]) {
    const uint64_t p0 = (uint64_t)0xD2511F53u * ctr[0];
    const uint64_t p1 = (uint64_t)0xCD9E8D57u * ctr[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t c0 = hi1 ^ ctr[1] ^ key[0];
    uint32_t c2 = hi0 ^ ctr[3] ^ key[1];
    ctr[0] = c0; ctr[1] = lo1; ctr[2] = c2; ctr[3] = lo0;
}

static inline philox_ctr philox4x32_10(uint64_t block, uint64_t seed) {
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0x9E3779B9u, 0x7F4A7C15u};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    for (int r = 0; r < 10; r++) {
        philox_round(ctr, key);
        key[0] += 0x9E3779B9u;
        key[1] += 0xBB67AE85u;
    }
    philox_ctr out = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
    return out;
}

/* The two 32-bit words owned by element number `index` of the stream. */
static inline void rng_words(uint64_t seed, uint64_t index, uint32_t *a, uint32_t *b) {
    philox_ctr r = philox4x32_10(index >> 1, seed);
    int half = (int)(index & 1) * 2;
    *a = r.v[half];
    *b = r.v[half + 1];
}

/* 24 random bits -> [0, 1), exactly representable in float. */
static inline float unit_float(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }

nvp_status nvp_rng_uniform(float *out, uint64_t seed, uint64_t counter, int64_t n, float lo, float hi) {
    NVP_CHECK_SIZE("nvp_rng_uniform", n);
    if (n > 0) NVP_CHECK_PTR("nvp_rng_uniform", out);
    if (!(hi >= lo)) return nvp_fail(NVP_STATUS_BAD_ARG, "nvp_rng_uniform: hi = %g < lo = %g", hi, lo);
    const float span = hi - lo;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        uint32_t a, b;
        rng_words(seed, counter + (uint64_t)i, &a, &b);
        float u = lo + span * unit_float(a);
        out[i] = u < hi ? u : lo; /* rounding of lo + span*u can reach hi; keep [lo, hi) */
    }
    return NVP_OK;
}

nvp_status nvp_rng_normal(float *out, uint64_t seed, uint64_t counter, int64_t n, float mean, float std) {
    NVP_CHECK_SIZE("nvp_rng_normal", n);
    if (n > 0) NVP_CHECK_PTR("nvp_rng_normal", out);
#pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        uint32_t a, b;
        rng_words(seed, counter + (uint64_t)i, &a, &b);
        /* u1 in (0, 1] so log(u1) is finite; Box-Muller, cosine branch only. */
        double u1 = ((double)a + 1.0) * (1.0 / 4294967296.0);
        double u2 = (double)b * (1.0 / 4294967296.0);
        double r = sqrt(-2.0 * log(u1));
        out[i] = mean + std * (float)(r * cos(6.283185307179586 * u2));
    }
    return NVP_OK;
}
