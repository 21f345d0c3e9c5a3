/*
 * winograd_f7_stages.h -- F(7x7,3x3)'s transform stages (winograd_internal.h's matrices, index 2)
 * factored, on any vector width: a template by inclusion like winograd_stages.h. The including file
 * defines F7_VEC, F7_ADD(a, b), F7_SUB(a, b), F7_MUL(c, a) = c * a and F7_FMA(c, a, b) = c * a + b
 * (c a float constant), F7_NAME(name), and M = 7 (the tile), then includes this file once
 * (winograd_f7_avx512.c: zmm, winograd_f7_avx2.c: ymm).
 */

/* The stages, factored (term by term: 62, 45 and 56 FMAs; here 35, 29 and 29 operations). Points
 * p = 0, 1, -1, 1/2, -1/2, 3, 3/2, -3/2, inf; M(x) = (x^2 - 3x) P(x^2), P(y) = (y - 1)(y - 1/4)
 * (y - 9/4) = y^3 + P2 y^2 + P1 y + P0. B^T's row k holds the coefficients of M(x) / (x - p_k):
 *   p = 0:   (x - 3) P(x^2)              -> sum_i P_i a_i,  a_i = d[2i+1] - 3 d[2i]  (P3 = 1)
 *   p = 3:   x P(x^2)                    -> sum_i P_i d[2i+1]
 *   inf:     M(x)                        -> sum_i P_i b_i,  b_i = d[2i+2] - 3 d[2i+1]
 *   p, -p:   (x +- p)(x^2 - 3x) Q(x^2),  Q = P / (y - p^2) = y^2 + Q1 y + Q0
 *            -> E +- p F,  E = Q0 a_1 + Q1 a_2 + a_3,  F = Q0 b_0 + Q1 b_1 + b_2
 * A's row k is p_k^i (gradient), A^T's (output) the same by columns: the pairs +-p share their even
 * and odd parts. (Checked against the matrices in exact arithmetic; the specs bound the rounding.) */

/* t[0..9) = B^T d (input: 9 taps) or A d (gradient: 7 taps) */
static inline __attribute__((always_inline)) void F7_NAME(stage_in)(F7_VEC *t, const F7_VEC *d, const int grad) {
    if (grad) { /* t[k] = sum_i p_k^i d[i] */
        F7_VEC ev1 = F7_ADD(F7_ADD(d[0], d[2]), F7_ADD(d[4], d[6]));
        F7_VEC od1 = F7_ADD(F7_ADD(d[1], d[3]), d[5]);
        F7_VEC evh = F7_FMA(1.0f / 4, d[2], F7_FMA(1.0f / 16, d[4], F7_FMA(1.0f / 64, d[6], d[0])));
        F7_VEC odh = F7_FMA(1.0f / 2, d[1], F7_FMA(1.0f / 8, d[3], F7_MUL(1.0f / 32, d[5])));
        F7_VEC ev3 = F7_FMA(9.0f / 4, d[2], F7_FMA(81.0f / 16, d[4], F7_FMA(729.0f / 64, d[6], d[0])));
        F7_VEC od3 = F7_FMA(3.0f / 2, d[1], F7_FMA(27.0f / 8, d[3], F7_MUL(243.0f / 32, d[5])));
        t[0] = d[0];
        t[1] = F7_ADD(ev1, od1);
        t[2] = F7_SUB(ev1, od1);
        t[3] = F7_ADD(evh, odh);
        t[4] = F7_SUB(evh, odh);
        t[5] = F7_FMA(3.0f, F7_FMA(3.0f, F7_FMA(3.0f, F7_FMA(3.0f, F7_FMA(3.0f, F7_FMA(3.0f, d[6], d[5]), d[4]), d[3]),
                                                  d[2]), d[1]), d[0]);
        t[6] = F7_ADD(ev3, od3);
        t[7] = F7_SUB(ev3, od3);
        t[8] = d[6];
        return;
    }
    const float p0 = -9.0f / 16, p1 = 49.0f / 16, p2 = -7.0f / 2;
    F7_VEC a[4], b[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        a[i] = F7_FMA(-3.0f, d[2 * i], d[2 * i + 1]);
        b[i] = F7_FMA(-3.0f, d[2 * i + 1], d[2 * i + 2]);
    }
    t[0] = F7_FMA(p0, a[0], F7_FMA(p1, a[1], F7_FMA(p2, a[2], a[3])));
    t[5] = F7_FMA(p0, d[1], F7_FMA(p1, d[3], F7_FMA(p2, d[5], d[7])));
    t[8] = F7_FMA(p0, b[0], F7_FMA(p1, b[1], F7_FMA(p2, b[2], b[3])));
    /* the pairs (k, k + 1) = +-p: Q0, Q1 of P / (y - p^2) */
    const float pp[3] = {1.0f, 1.0f / 2, 3.0f / 2}, q0[3] = {9.0f / 16, 9.0f / 4, 1.0f / 4},
                q1[3] = {-5.0f / 2, -13.0f / 4, -5.0f / 4};
    const int kp[3] = {1, 3, 6};
#pragma GCC unroll 3
    for (int n = 0; n < 3; n++) {
        F7_VEC e = F7_FMA(q0[n], a[1], F7_FMA(q1[n], a[2], a[3]));
        F7_VEC f = F7_FMA(q0[n], b[0], F7_FMA(q1[n], b[1], b[2]));
        t[kp[n]] = F7_FMA(pp[n], f, e);
        t[kp[n] + 1] = F7_FMA(-pp[n], f, e);
    }
}

/* y[0..7) = A^T d (output: 9 values): y_r = sum_k p_k^r d[k] + [r = 6] d[8] */
static inline __attribute__((always_inline)) void F7_NAME(stage_out)(F7_VEC *y, const F7_VEC *d) {
    F7_VEC s1 = F7_ADD(d[1], d[2]), e1 = F7_SUB(d[1], d[2]);
    F7_VEC s3 = F7_ADD(d[3], d[4]), e3 = F7_SUB(d[3], d[4]);
    F7_VEC s6 = F7_ADD(d[6], d[7]), e6 = F7_SUB(d[6], d[7]);
    y[0] = F7_ADD(F7_ADD(d[0], s1), F7_ADD(F7_ADD(s3, d[5]), s6));
    float h = 1.0f, three = 1.0f, th = 1.0f; /* (1/2)^r, 3^r, (3/2)^r: exact in float */
#pragma GCC unroll 6
    for (int r = 1; r < M; r++) {
        h *= 0.5f, three *= 3.0f, th *= 1.5f;
        int even = r % 2 == 0;
        F7_VEC v = F7_FMA(h, even ? s3 : e3, F7_FMA(three, d[5], F7_FMA(th, even ? s6 : e6, even ? s1 : e1)));
        y[r] = r == 6 ? F7_ADD(v, d[8]) : v;
    }
}
