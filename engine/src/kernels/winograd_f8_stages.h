/*
 * winograd_f8_stages.h -- F(8x8,3x3)'s transform stages (winograd_internal.h's matrices, index 3)
 * factored, on any vector width: a template by inclusion like winograd_f7_stages.h. The including file
 * defines F8_VEC, F8_ADD(a, b), F8_SUB(a, b), F8_FMA(c, a, b) = c * a + b (c a float constant) and
 * F8_NAME(name), then includes this file once.
 */

/* Points p = 0, 1, -1, 1/2, -1/2, 3, -3, 3/2, -2/3, inf. M(x) = S(x) L(x) with the odd part
 * S(x) = x P(x^2), P(y) = (y - 1)(y - 1/4)(y - 9) = y^3 + P2 y^2 + P1 y + P0, and L(x) = (x - 3/2)
 * (x + 2/3) = x^2 - 5/6 x - 1. B^T's row k holds the coefficients of M(x) / (x - p_k); with
 * e[i] = sum_j L_j d[i + j] (the taps through L) and phi(f) = sum_i f_i d[i]:
 *   p = 0:      P(x^2) L            -> P0 e0 + P1 e2 + P2 e4 + e6
 *   p, -p:      x (x +- p) Q(x^2) L, Q = P / (y - p^2) = y^2 + Q1 y + Q0
 *               -> E +- p F,  E = Q0 e2 + Q1 e4 + e6,  F = Q0 e1 + Q1 e3 + e5   (p = 1, 1/2, 3)
 *   3/2, -2/3:  S(x) (x + 2/3), S(x) (x - 3/2) -> phi(x S) + 2/3 phi(S), phi(x S) - 3/2 phi(S)
 *   inf:        S L                 -> P0 e1 + P1 e3 + P2 e5 + e7
 * 48 operations instead of 80 term by term. A's row k is p_k^i (gradient), A^T's (output) the same
 * by columns: the pairs +-p share their even and odd parts (38 and 40 operations instead of 64 and
 * 65). The powers are the table's floats. Checked against the matrices by winograd_spec (every path
 * against the direct conv) and, in exact arithmetic, by the derivation above. */

#define F8_AT(r, k) nvp_winograd_at[3][(r) * 10 + (k)] /* p_k^r */

/* t[0..10) = B^T d (input: 10 taps) or A d (gradient: 8 taps) */
static inline __attribute__((always_inline)) void F8_NAME(stage_in)(F8_VEC *t, const F8_VEC *d, const int grad) {
    if (grad) { /* t[k] = sum_i p_k^i d[i]; pairs by even and odd parts */
        const int kp[3] = {1, 3, 5};
#pragma GCC unroll 3
        for (int n = 0; n < 3; n++) {
            const int k = kp[n];
            F8_VEC ev, od;
            if (n == 0) {
                ev = F8_ADD(F8_ADD(d[0], d[2]), F8_ADD(d[4], d[6]));
                od = F8_ADD(F8_ADD(d[1], d[3]), F8_ADD(d[5], d[7]));
            } else {
                ev = F8_FMA(F8_AT(2, k), d[2], F8_FMA(F8_AT(4, k), d[4], F8_FMA(F8_AT(6, k), d[6], d[0])));
                od = F8_FMA(F8_AT(2, k), d[3], F8_FMA(F8_AT(4, k), d[5], F8_FMA(F8_AT(6, k), d[7], d[1])));
            }
            t[k] = F8_FMA(F8_AT(1, k), od, ev);
            t[k + 1] = F8_FMA(F8_AT(1, k + 1), od, ev);
        }
#pragma GCC unroll 2
        for (int k = 7; k < 9; k++) { /* Horner in p */
            F8_VEC s = d[7];
#pragma GCC unroll 7
            for (int i = 6; i >= 0; i--) s = F8_FMA(F8_AT(1, k), s, d[i]);
            t[k] = s;
        }
        t[0] = d[0];
        t[9] = d[7];
        return;
    }
    const float p0 = -9.0f / 4, p1 = 23.0f / 2, p2 = -41.0f / 4;
    F8_VEC e[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) e[i] = F8_FMA(-5.0f / 6, d[i + 1], F8_SUB(d[i + 2], d[i]));
    t[0] = F8_FMA(p0, e[0], F8_FMA(p1, e[2], F8_FMA(p2, e[4], e[6])));
    t[9] = F8_FMA(p0, e[1], F8_FMA(p1, e[3], F8_FMA(p2, e[5], e[7])));
    const float pp[3] = {1.0f, 1.0f / 2, 3.0f}, q0[3] = {9.0f / 4, 9.0f, 1.0f / 4}, q1[3] = {-37.0f / 4, -10.0f, -5.0f / 4};
    const int kp[3] = {1, 3, 5};
#pragma GCC unroll 3
    for (int n = 0; n < 3; n++) {
        F8_VEC ev = F8_FMA(q0[n], e[2], F8_FMA(q1[n], e[4], e[6]));
        F8_VEC od = F8_FMA(q0[n], e[1], F8_FMA(q1[n], e[3], e[5]));
        t[kp[n]] = F8_FMA(pp[n], od, ev);
        t[kp[n] + 1] = F8_FMA(-pp[n], od, ev);
    }
    F8_VEC s = F8_FMA(p0, d[1], F8_FMA(p1, d[3], F8_FMA(p2, d[5], d[7])));
    F8_VEC xs = F8_FMA(p0, d[2], F8_FMA(p1, d[4], F8_FMA(p2, d[6], d[8])));
    t[7] = F8_FMA(2.0f / 3, s, xs);
    t[8] = F8_FMA(-3.0f / 2, s, xs);
}

/* y[0..8) = A^T d (output: 10 values): y_r = sum_k p_k^r d[k] + [r = 7] d[9] */
static inline __attribute__((always_inline)) void F8_NAME(stage_out)(F8_VEC *y, const F8_VEC *d) {
    F8_VEC s1 = F8_ADD(d[1], d[2]), e1 = F8_SUB(d[1], d[2]);
    F8_VEC sh = F8_ADD(d[3], d[4]), eh = F8_SUB(d[3], d[4]);
    F8_VEC s3 = F8_ADD(d[5], d[6]), e3 = F8_SUB(d[5], d[6]);
    y[0] = F8_ADD(F8_ADD(F8_ADD(d[0], s1), F8_ADD(sh, s3)), F8_ADD(d[7], d[8]));
#pragma GCC unroll 7
    for (int r = 1; r < 8; r++) {
        const int even = r % 2 == 0;
        F8_VEC v = F8_FMA(F8_AT(r, 3), even ? sh : eh,
                          F8_FMA(F8_AT(r, 5), even ? s3 : e3,
                                 F8_FMA(F8_AT(r, 7), d[7], F8_FMA(F8_AT(r, 8), d[8], even ? s1 : e1))));
        y[r] = r == 7 ? F8_ADD(v, d[9]) : v;
    }
}

#undef F8_AT
