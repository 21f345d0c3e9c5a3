#!/usr/bin/python3
"""Winograd F(m x m, 3 x 3) interpolation points by float32 error (docs/winograd_f7.md).

Builds the Toom-Cook matrices (Lavin & Gray 2016: B^T rows = coefficients of M(x)/(x - p), G rows =
p^j / M'(p), A^T = Vandermonde, plus the point at infinity) in exact fractions, then measures the
float32 error of the 2D transform against a float64 direct conv summed over C channels. Prints F(4x4)
and F(6x6) for scale, then the best point sets for F(7x7): 0, +-1, +-1/2 and three of a pool; with
the argument f8, those for F(8x8): four of the pool (docs/winograd_f8.md; a few minutes).
Needs numpy (Debian: python3-numpy). Usage: /usr/bin/python3 experiments/winograd_points.py [f8]
"""
import itertools

import numpy as np
from fractions import Fraction as F
def toom(m, r, pts):
    # pts: finite points (len m+r-2), plus infinity
    n = m + r - 1
    assert len(pts) == n - 1
    # Standard construction (Lavin / wincnn style)
    def poly_mul(a, b):
        out=[F(0)]*(len(a)+len(b)-1)
        for i,x in enumerate(a):
            for j,y in enumerate(b): out[i+j]+=x*y
        return out
    # Lagrange basis over finite pts
    AT=[[F(0)]*n for _ in range(m)]
    for j,p in enumerate(pts):
        for i in range(m): AT[i][j]=p**i
    AT[m-1][n-1]=F(1)
    G=[[F(0)]*r for _ in range(n)]
    for j,p in enumerate(pts):
        den=F(1)
        for k,q in enumerate(pts):
            if k!=j: den*= (p-q)
        for i in range(r): G[j][i]=p**i/den
    G[n-1][r-1]=F(1)
    # BT: coefficients of M(x)/(x-p_j) where M = prod (x - p)
    BT=[[F(0)]*n for _ in range(n)]
    for j,p in enumerate(pts):
        poly=[F(1)]
        for k,q in enumerate(pts):
            if k!=j: poly=poly_mul(poly,[-q,F(1)])
        for i in range(n-1): BT[j][i]=poly[i]
    M=[F(1)]
    for q in pts: M=poly_mul(M,[-q,F(1)])
    for i in range(n): BT[n-1][i]=M[i]
    return np.array(AT,dtype=object),np.array(G,dtype=object),np.array(BT,dtype=object)
def check(m,r,pts):
    AT,G,BT=toom(m,r,pts)
    AT64=np.array(AT,dtype=np.float64);G64=np.array(G,dtype=np.float64);BT64=np.array(BT,dtype=np.float64)
    # 1D correctness
    n=m+r-1
    d=np.random.randn(n); g=np.random.randn(r)
    y=AT64@((G64@g)*(BT64@d))
    yref=np.array([sum(d[i+k]*g[k] for k in range(r)) for i in range(m)])
    assert np.allclose(y,yref), (y,yref)
    return AT64,G64,BT64
def err2d(m,r,pts,C=64,T=200,seed=0):
    AT,G,BT=check(m,r,pts)
    n=m+r-1
    rng=np.random.default_rng(seed)
    d=rng.standard_normal((T,C,n,n)).astype(np.float32)
    g=(rng.standard_normal((C,r,r))/np.sqrt(9*C)).astype(np.float32)
    f=np.float32
    A32,G32,B32=AT.astype(f),G.astype(f),BT.astype(f)
    U=np.einsum('ij,cjk,lk->cil',G32,g,G32).astype(f)
    V=np.einsum('ij,tcjk,lk->tcil',B32,d,B32).astype(f)
    Mx=np.einsum('tcil,cil->til',V,U).astype(f)
    Y=np.einsum('ij,tjk,lk->til',A32,Mx,A32).astype(f)
    d64=d.astype(np.float64); g64=g.astype(np.float64)
    ref=np.zeros((T,m,m))
    for a in range(r):
        for b in range(r):
            ref+=np.einsum('tcij,c->tij',d64[:,:,a:a+m,b:b+m],g64[:,a,b])
    e=np.abs(Y-ref)
    return e.max()/np.abs(ref).max(), np.sqrt((e**2).mean()/(ref**2).mean())

def best_sets(m, extra, C, T, show):
    """Every set of 0, +-1, +-1/2 (and inf) with `extra` points of POOL for F(m x m), by RMS error."""
    H = F(1, 2)
    res = []
    for c in itertools.combinations(POOL, extra):
        mx, rms = err2d(m, 3, [F(0), F(1), F(-1), H, -H] + list(c), C=C, T=T, seed=1)
        res.append((rms, mx, " ".join(str(p) for p in c)))
    res.sort()
    print("F(%dx%d), 0 +-1 +-1/2 inf and (%d channels, %d tiles): RMS, max/max" % (m, m, C, T))
    for rms, mx, pts in res[:show]:
        print("  %-18s %.3g %.3g" % (pts, rms, mx))


POOL = [F(2), F(-2), F(3), F(-3), F(1, 3), F(-1, 3), F(3, 2), F(-3, 2), F(2, 3), F(-2, 3), F(4), F(-4), F(1, 4),
        F(-1, 4)]

if __name__ == "__main__":
    import sys
    H = F(1, 2)
    if sys.argv[1:] == ["f8"]:
        best_sets(8, 4, C=32, T=40, show=8)
        best = [F(0), F(1), F(-1), H, -H, F(3), F(-3), F(3, 2), F(-2, 3)]
        for ch in (64, 128):
            print("F(8x8) chosen, %d channels, 200 tiles: max/max, RMS" % ch, err2d(8, 3, best, C=ch))
        sys.exit(0)
    print("F(4x4) 0 +-1 +-2 inf: max/max, RMS", err2d(4, 3, [F(0), F(1), F(-1), F(2), F(-2)]))
    print("F(6x6) 0 +-1 +-2 +-1/2 inf:", err2d(6, 3, [F(0), F(1), F(-1), F(2), F(-2), H, -H]))
    best_sets(7, 3, C=32, T=60, show=6)
    best = [F(0), F(1), F(-1), H, -H, F(3), F(3, 2), F(-3, 2)]
    print("F(7x7) chosen, 64 channels, 200 tiles: max/max, RMS", err2d(7, 3, best))
