/* vecmath_avx2.h -- float math on 8 AVX2 lanes, shared by the affine couplings (coupling_avx2.c) and
 * Glow's couplings (glow_coupling_avx2.c): exp, log, log1p, tanh (Cephes polynomials, within ~2 ulp of
 * libm over their whole range, with libm's answers for 0, inf and NaN) and double-precision lane sums.
 * Include only from *_avx2.c and *_avx512.c files (compiled with -mavx2 -mfma). */
#ifndef NVP_VECMATH_AVX2_H
#define NVP_VECMATH_AVX2_H

#include <immintrin.h>

/* exp(x): x = k ln2 + r with |r| <= ln2/2 (Cody-Waite, two-part ln2), e^r by the Cephes expf
 * polynomial, then 2^k applied as two exact power-of-two factors so that results underflow to
 * denormals/0 and overflow to inf like libm. NaN in, NaN out. */
static inline __m256 exp256(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(100.0f), _mm256_max_ps(_mm256_set1_ps(-110.0f), x)); /* NaN kept */
    __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i ki = _mm256_cvtps_epi32(k); /* in [-159, 145] */
    __m256i k1 = _mm256_srai_epi32(ki, 1), k2 = _mm256_sub_epi32(ki, k1);
    __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k1, _mm256_set1_epi32(127)), 23));
    __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k2, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
}

/* log(x): x = m 2^e with m in [sqrt(1/2), sqrt(2)) (frexp, then one halving step), log(m) = log(1 + f)
 * by the Cephes logf polynomial in f = m - 1, plus e ln2 in two parts (Cody-Waite). Denormals are
 * scaled by 2^23 first. log(0) = -inf, log(inf) = inf, log(x < 0) and log(NaN) = NaN, as libm. */
static inline __m256 log256(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(1.17549435e-38f), _CMP_LT_OQ); /* denormal, 0 or < 0 */
    __m256 xs = _mm256_blendv_ps(x, _mm256_mul_ps(x, _mm256_set1_ps(8388608.0f)), tiny);
    __m256i bits = _mm256_castps_si256(xs);
    /* frexp: xs = m 2^e, m in [0.5, 1) (exponent field 126), e = biased exponent - 126 */
    __m256i ei = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(126));
    ei = _mm256_sub_epi32(ei, _mm256_and_si256(_mm256_castps_si256(tiny), _mm256_set1_epi32(23)));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                                   _mm256_set1_epi32(0x3f000000)));
    /* m < sqrt(1/2): f = 2m - 1 and e - 1, else f = m - 1, so f is in [-0.293, 0.414) */
    __m256 low = _mm256_cmp_ps(m, _mm256_set1_ps(0.707106781186547524f), _CMP_LT_OQ);
    __m256 e = _mm256_sub_ps(_mm256_cvtepi32_ps(ei), _mm256_and_ps(low, one));
    __m256 f = _mm256_sub_ps(_mm256_add_ps(m, _mm256_and_ps(low, m)), one);
    __m256 z = _mm256_mul_ps(f, f);
    __m256 p = _mm256_set1_ps(7.0376836292e-2f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.1514610310e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.1676998740e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.2420140846e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.4249322787e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-1.6668057665e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.0000714765e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-2.4999993993e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(3.3333331174e-1f));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, f), z);           /* f^3 P(f) */
    y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y); /* e ln2, low part */
    y = _mm256_fnmadd_ps(_mm256_set1_ps(0.5f), z, y);           /* - f^2 / 2 */
    y = _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), _mm256_add_ps(f, y));
    /* the special values: x = +inf or NaN gives x, x = 0 gives -inf, x < 0 gives NaN */
    y = _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, _mm256_set1_ps(3.40282347e38f), _CMP_NLE_UQ));
    y = _mm256_blendv_ps(y, _mm256_set1_ps(-__builtin_inff()), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_EQ_OQ));
    return _mm256_blendv_ps(y, _mm256_set1_ps(__builtin_nanf("")), _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
}

/* log1p(x) for finite x > -1: log(u) with u = 1 + x rounded, corrected by (x - (u - 1)) / u, the part of
 * x that rounding 1 + x lost (Goldberg 1991, Thm. 4): accurate for tiny x too (u = 1 gives x). */
static inline __m256 log1p256(__m256 x) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 u = _mm256_add_ps(one, x);
    __m256 lost = _mm256_sub_ps(x, _mm256_sub_ps(u, one));
    return _mm256_add_ps(log256(u), _mm256_div_ps(lost, u));
}

/* tanh(x): the Cephes tanhf odd polynomial for |x| < 0.625, else sign(x) (1 - e)/(1 + e) with
 * e = exp(-2|x|), which saturates to +-1 (never NaN) for large |x|. */
static inline __m256 tanh256(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 ax = _mm256_andnot_ps(sign, x);
    __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
    __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    __m256 e = exp256(_mm256_mul_ps(ax, _mm256_set1_ps(-2.0f)));
    __m256 one = _mm256_set1_ps(1.0f);
    __m256 big = _mm256_div_ps(_mm256_sub_ps(one, e), _mm256_add_ps(one, e));
    big = _mm256_or_ps(big, _mm256_and_ps(sign, x)); /* copy the sign of x */
    __m256 is_small = _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ);
    return _mm256_blendv_ps(big, small, is_small);
}

/* Sum of the 8 lanes of v into two double accumulators (4 lanes each), so that long sums of floats
 * round like the scalar references' double sums. */
static inline void acc_pd(__m256d *lo, __m256d *hi, __m256 v) {
    *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
    *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

static inline double hsum_pd(__m256d lo, __m256d hi) {
    double t[4];
    _mm256_storeu_pd(t, _mm256_add_pd(lo, hi));
    return (t[0] + t[1]) + (t[2] + t[3]);
}

#endif /* NVP_VECMATH_AVX2_H */
