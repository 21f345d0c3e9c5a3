/*
 * rans_internal.h -- what the rANS coder's three files share (not public): the state and its stack
 * (rans.c), the coder proper on checked arguments, the bucket grid of a discretised distribution
 * (rans_buckets.c) that the windowed Gaussians (rans_gaussians.c) code their coarse buckets with.
 * All three are compiled with -ffp-contract=off (CMakeLists.txt): see rans.c's header comment.
 */
#ifndef NVP_RANS_INTERNAL_H
#define NVP_RANS_INTERNAL_H

#include "internal.h"

#define NVP_HIDDEN __attribute__((visibility("hidden")))

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

/* Push / pop the symbol [start, start + freq) of 2^p, arguments already checked (rans.c). */
NVP_HIDDEN nvp_status nvp_rans_push_sym_(nvp_rans *r, uint64_t start, uint64_t freq, int p, const char *fn);
NVP_HIDDEN nvp_status nvp_rans_pop_sym_(nvp_rans *r, uint64_t start, uint64_t freq, int p, const char *fn);

/* Append "(element i of n)" to the message just set, for the batch calls. */
NVP_HIDDEN nvp_status nvp_rans_batch_fail_(nvp_status st, int64_t i, int64_t n);

/* n buckets of width `width` from lo over a Gaussian or logistic (mean, scale), each with frequency >= 1
 * of 2^p (rans_buckets.c). */
typedef struct bucket_grid {
    nvp_rans_dist dist;
    double mean, scale, lo, width;
    int32_t n, p;
    uint64_t s;                      /* 2^p - n: the mass spread by the CDF */
    double erfc0;
} bucket_grid;

NVP_HIDDEN nvp_status nvp_rans_check_grid_(const char *fn, bucket_grid *g, nvp_rans_dist dist, double mean,
                                           double scale, double lo, double width, int32_t nbuckets, int32_t p);
NVP_HIDDEN nvp_status nvp_rans_push_bucket_(nvp_rans *r, const bucket_grid *g, int32_t b, const char *fn);
NVP_HIDDEN nvp_status nvp_rans_pop_bucket_(nvp_rans *r, const bucket_grid *g, int32_t *b, const char *fn);

#endif
