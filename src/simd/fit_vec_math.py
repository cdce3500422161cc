#!/usr/bin/env python3
"""Coefficients of the polynomials in vec_math.h.

Each polynomial is a weighted minimax fit (Remez exchange, in mpmath at 60
digits) whose weight turns the fitted quantity's error into the relative
error of the final result, with the leading coefficients that must be exact
held fixed. The coefficients are then rounded to double and the error of
the rounded polynomial is measured again on a dense grid, so the printed
bound is the one the C code gets before its own rounding errors.

    python3 src/simd/fit_vec_math.py      (Debian: python3-mpmath)

Output: C initialisers to paste into vec_math.h, with the measured bound.
"""
import mpmath as mp

mp.mp.dps = 60


def horner(c, x):
    p = mp.mpf(0)
    for ck in reversed(c):
        p = p * x + ck
    return p


def remez(g, w, lo, hi, deg, iters=40, grid=2000):
    """Polynomial c[0..deg] minimising max |w(x) (P(x) - g(x))| on [lo, hi]."""
    n = deg + 2
    xs = [(lo + hi) / 2 - (hi - lo) / 2 * mp.cos(mp.pi * i / (n - 1)) for i in range(n)]
    # A reference point where the weight vanishes makes the system singular.
    xs = [x if abs(w(x)) > mp.mpf("1e-8") else x + (hi - lo) * mp.mpf("1e-3") for x in xs]
    for _ in range(iters):
        A = mp.matrix(n, n)
        b = mp.matrix(n, 1)
        for i, x in enumerate(xs):
            for k in range(deg + 1):
                A[i, k] = x ** k
            A[i, deg + 1] = (-1) ** i / w(x)
            b[i] = g(x)
        sol = mp.lu_solve(A, b)
        c = [sol[k] for k in range(deg + 1)]
        level = abs(sol[deg + 1])

        def err(x):
            return w(x) * (horner(c, x) - g(x))

        pts = [lo + (hi - lo) * mp.mpf(i) / grid for i in range(grid + 1)]
        vals = [err(x) for x in pts]
        ext = []
        for i, v in enumerate(vals):
            left = vals[i - 1] if i > 0 else None
            right = vals[i + 1] if i < grid else None
            if v == 0 or (left is not None and abs(left) > abs(v)) or (right is not None and abs(right) > abs(v)):
                continue
            a, bb = pts[max(i - 1, 0)], pts[min(i + 1, grid)]
            for _ in range(80):   # golden section on |err|
                m1 = a + (bb - a) * mp.mpf("0.381966011250105")
                m2 = a + (bb - a) * mp.mpf("0.618033988749895")
                if abs(err(m1)) > abs(err(m2)):
                    bb = m2
                else:
                    a = m1
            xm = (a + bb) / 2
            if abs(err(xm)) < abs(v):
                xm = pts[i]
            ext.append((xm, err(xm)))
        alt = []
        for x, v in ext:   # one extremum per run of equal sign
            if alt and mp.sign(alt[-1][1]) == mp.sign(v):
                if abs(v) > abs(alt[-1][1]):
                    alt[-1] = (x, v)
            else:
                alt.append((x, v))
        while len(alt) > n:
            alt.pop(0 if abs(alt[0][1]) < abs(alt[-1][1]) else -1)
        worst = max(abs(v) for _, v in alt)
        if len(alt) < n or worst <= level * (1 + mp.mpf("1e-9")):
            break
        xs = [x for x, _ in alt]
    return c


def measured(c, g, w, lo, hi, grid=20000):
    return max(abs(w(x) * (horner(c, x) - g(x)))
               for x in (lo + (hi - lo) * mp.mpf(i) / grid for i in range(grid + 1)))


def emit(name, fixed, fitted, bound, what):
    print(f"/* {name}: {what}; relative error of the rounded polynomial "
          f"2^{float(mp.log(bound, 2)):.1f} */")
    coeffs = [float(v) for v in fixed + fitted]
    for k, v in enumerate(coeffs):
        print(f"    c{k} = {v.hex()}  /* {v:.17g} */")
    print()


# exp: e^r for |r| <= ln2 / 2 (with a margin for the rounding of n), as
# 1 + r + r^2 Q(r); Q fitted to (e^r - 1 - r) / r^2 with the weight
# r^2 / e^r, which is the relative error of e^r.
A = mp.mpf("0.3466")


def exp_q(r):
    return mp.mpf(1) / 2 + r / 6 if abs(r) < mp.mpf("1e-25") else (mp.expm1(r) - r) / r ** 2


def exp_w(r):
    return r * r / mp.exp(r)


for label, deg in (("exp", 11), ("exp_lo", 7)):
    q = remez(exp_q, exp_w, -A, A, deg - 2)
    q = [mp.mpf(float(v)) for v in q]
    emit(label, [mp.mpf(1), mp.mpf(1)], q, measured(q, exp_q, exp_w, -A, A),
         f"e^r = sum c_k r^k, |r| <= {A}, degree {deg}")

# log: log(1 + f) = 2 atanh(s), s = f / (2 + f), f + 1 in [sqrt(1/2),
# sqrt(2)), so z = s^2 <= (3 - 2 sqrt 2)^2. 2 atanh(s) = 2s + s R(z) with
# R(z) = z T(z); T fitted to R / z with the weight z / (2 + R), which is the
# relative error of 2 atanh(s).
ZMAX = (3 - 2 * mp.sqrt(2)) ** 2


def log_t(z):
    if z < mp.mpf("1e-30"):
        return mp.mpf(2) / 3 + 2 * z / 5
    s = mp.sqrt(z)
    return (2 * mp.atanh(s) / s - 2) / z


def log_w(z):
    return z / (2 + z * log_t(z))


for label, deg in (("log", 6), ("log_lo", 3)):
    t = remez(log_t, log_w, mp.mpf(0), ZMAX, deg)
    t = [mp.mpf(float(v)) for v in t]
    emit(label, [], t, measured(t, log_t, log_w, mp.mpf(0), ZMAX),
         f"T(z) = sum c_k z^k, 0 <= z <= {float(ZMAX):.7f}, degree {deg}")
