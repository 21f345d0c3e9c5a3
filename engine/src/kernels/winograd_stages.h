/*
 * winograd_stages.h -- Lavin & Gray's transform matrices (winograd_internal.h) applied to vectors of
 * tiles, factored. A matrix-vector product term by term costs one FMA per non-zero: B^T (F(4x4)) has
 * 22, A 18, A^T 18; shared sums and differences bring them to 14, 9 and 10 operations (F(2x2): 4, 2
 * and 3 instead of 8, 6 and 6). Every stage of the vector tile transforms runs through these, so they
 * are most of the transforms' arithmetic. The rounding differs from the term-by-term sums by an ulp
 * or so (winograd_spec's bounds; experiments/results/bench.md section G).
 *
 * A template by inclusion: the including file defines WS_VEC (the vector type), WS_ZERO, WS_ADD(a, b),
 * WS_SUB(a, b), WS_FMA(c, a, b) = c * a + b (c a float constant) and WS_NAME(name) (the functions'
 * names, one per vector width), then includes this file once.
 */

/* t[0..a) = B^T d (input: d = a taps) or A d (gradient: d = m taps), one vector of tiles per element. */
static inline __attribute__((always_inline)) void WS_NAME(stage_in)(WS_VEC *t, const WS_VEC *d, const int m,
                                                                    const int grad) {
    if (m == 4 && !grad) {
        WS_VEC d12 = WS_ADD(d[1], d[2]), d34 = WS_ADD(d[3], d[4]);
        WS_VEC e12 = WS_SUB(d[1], d[2]), e43 = WS_SUB(d[4], d[3]);
        WS_VEC f31 = WS_SUB(d[3], d[1]), f42 = WS_SUB(d[4], d[2]);
        t[0] = WS_FMA(4.0f, d[0], WS_FMA(-5.0f, d[2], d[4]));
        t[1] = WS_FMA(-4.0f, d12, d34);
        t[2] = WS_FMA(4.0f, e12, e43);
        t[3] = WS_FMA(2.0f, f31, f42);
        t[4] = WS_FMA(-2.0f, f31, f42);
        t[5] = WS_FMA(4.0f, d[1], WS_FMA(-5.0f, d[3], d[5]));
    } else if (m == 4) {
        WS_VEC e = WS_ADD(d[0], d[2]), o = WS_ADD(d[1], d[3]);
        WS_VEC e4 = WS_FMA(4.0f, d[2], d[0]), o8 = WS_FMA(8.0f, d[3], WS_ADD(d[1], d[1]));
        t[0] = d[0];
        t[1] = WS_ADD(e, o);
        t[2] = WS_SUB(e, o);
        t[3] = WS_ADD(e4, o8);
        t[4] = WS_SUB(e4, o8);
        t[5] = d[3];
    } else if (!grad) {
        t[0] = WS_SUB(d[0], d[2]);
        t[1] = WS_ADD(d[1], d[2]);
        t[2] = WS_SUB(d[2], d[1]);
        t[3] = WS_SUB(d[1], d[3]);
    } else {
        t[0] = d[0];
        t[1] = WS_ADD(d[0], d[1]);
        t[2] = WS_SUB(d[0], d[1]);
        t[3] = WS_SUB(WS_ZERO, d[1]); /* as the term-by-term 0 + (-1) d[1] */
    }
}

/* y[0..m) = A^T d (the output transform's stages), d = a values. A's column 1 is all ones, so a bias
 * added to d[1] reaches every output once. */
static inline __attribute__((always_inline)) void WS_NAME(stage_out)(WS_VEC *y, const WS_VEC *d, const int m) {
    if (m == 4) {
        WS_VEC s12 = WS_ADD(d[1], d[2]), e12 = WS_SUB(d[1], d[2]);
        WS_VEC s34 = WS_ADD(d[3], d[4]), e34 = WS_SUB(d[3], d[4]);
        y[0] = WS_ADD(WS_ADD(d[0], s12), s34);
        y[1] = WS_FMA(2.0f, e34, e12);
        y[2] = WS_FMA(4.0f, s34, s12);
        y[3] = WS_ADD(WS_FMA(8.0f, e34, e12), d[5]);
    } else {
        y[0] = WS_ADD(WS_ADD(d[0], d[1]), d[2]);
        y[1] = WS_SUB(WS_SUB(d[1], d[2]), d[3]);
    }
}
