/* v_exp, v_log, v_log1p and their _lo variants, written once for every
 * vector table. Included at the end of each simd/vec_<isa>.h (never on its
 * own, and not by the portable table, which keeps the C library's), after
 * the vocabulary and these primitives, with exactly these meanings:
 *
 *   VMATH_SCALE_IS_CHEAP   1 when vmath_scale costs no more than
 *                          vmath_scale_normal (one instruction), so exp
 *                          clamps its argument instead of testing for the
 *                          rare lanes that need the full range
 *   vmath_scale_normal(p, n, t)   p 2^n where p is in [1/2, 2], n an
 *                          integer in [-1020, 1020] and t = n + 0x1.8p52
 *                          (the low bits of t hold n), so the result is a
 *                          normal double
 *   vmath_scale(p, n)      p 2^n for p in [1/2, 2] and an integer n in
 *                          [-1100, 1100], rounded once: overflow gives inf,
 *                          underflow 0 or the correctly rounded subnormal;
 *                          a NaN p gives NaN
 *   vmath_scale_down(c, e) c 2^-e for an integer e in [-1022, 1024], exact
 *                          (the result is never subnormal in use), where
 *                          c = 0 whenever e > 1000
 *   vmath_frexp(x, &e)     m with x = m 2^e, m in [sqrt(1/2), sqrt(2)), for
 *                          a normal positive x (anything else: any value)
 *   vmath_pos_normal(x)    the lanes where x is positive, normal and finite
 *
 * Accuracy over the whole double range, as tests/simd/test_vec_math.c
 * measures it (AVX2 and AVX-512 alike): exp 0.90 ulp (subnormal results
 * too, in ulps of the subnormal), log 0.83 ulp, log1p 0.88 ulp; the _lo
 * variants 2^-33 relative. The coefficients come from
 * src/simd/fit_vec_math.py.
 *
 * The special lanes (log of a non-normal or non-positive x, log1p at or
 * below -1, infinities, NaN, exp beyond +-707 on tables without a cheap
 * vmath_scale) are handled behind one branch per call that is not taken
 * while every lane is ordinary, so hot loops pay one compare for them. */
#ifndef FOCAL_VEC_MATH_H
#define FOCAL_VEC_MATH_H

#define VMATH_LOG2E 0x1.71547652b82fep+0
/* ln 2 = LN2_HI + LN2_LO to 106 bits. With fma, n LN2_HI needs no trailing
 * zeros: x - n LN2_HI is exact for every |n| <= 1100 because the
 * difference is below 1/2 and a multiple of 2^-54. */
#define VMATH_LN2_HI 0x1.62e42fefa39efp-1
#define VMATH_LN2_LO 0x1.abc9e3b39803fp-56
/* Adding 1.5 * 2^52 rounds a double below 2^51 in magnitude to an integer
 * and leaves that integer in the low mantissa bits. */
#define VMATH_SHIFT 0x1.8p52
#define VMATH_DBL_MIN 0x1p-1022

/* e^r for |r| <= 0.3466, relative error 2^-56.6 (degree 11) or 2^-33.2
 * (degree 7, the _lo variant). Horner's scheme: in a throughput-bound loop
 * the out-of-order core overlaps the chain with other elements', and it
 * takes the fewest instructions. Rounding: half an ulp in the last fma,
 * and the step before's half ulp of 1 + r/2 + ... scaled by |r| <= 0.35. */
V_INLINE vd vmath_exp_poly(vd r)
{
    vd p = v_fma(v_set(0x1.af631d70a0ff7p-26), r, v_set(0x1.28b40da842fc1p-22));
    p = v_fma(p, r, v_set(0x1.71ddf6bba10dep-19));
    p = v_fma(p, r, v_set(0x1.a01993b6ee058p-16));
    p = v_fma(p, r, v_set(0x1.a01a01b009251p-13));
    p = v_fma(p, r, v_set(0x1.6c16c18600a67p-10));
    p = v_fma(p, r, v_set(0x1.111111110f80bp-7));
    p = v_fma(p, r, v_set(0x1.55555555503e9p-5));
    p = v_fma(p, r, v_set(0x1.5555555555558p-3));
    p = v_fma(p, r, v_set(0x1.0000000000009p-1));
    p = v_fma(p, r, v_set(1.0));
    return v_fma(p, r, v_set(1.0));
}

V_INLINE vd vmath_exp_poly_lo(vd r)
{
    vd p = v_fma(v_set(0x1.a17dfba391058p-13), r, v_set(0x1.6da765f8c541ep-10));
    p = v_fma(p, r, v_set(0x1.1110ab775fb4fp-7));
    p = v_fma(p, r, v_set(0x1.5554709639567p-5));
    p = v_fma(p, r, v_set(0x1.555555742abb4p-3));
    p = v_fma(p, r, v_set(0x1.000000456f71cp-1));
    p = v_fma(p, r, v_set(1.0));
    return v_fma(p, r, v_set(1.0));
}

/* x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2; returns e^r.
 * r's one rounding (in the second fma) costs at most 1/4 ulp of e^r. The
 * _lo variant leaves out n LN2_LO, at most 1100 * 2.4e-17 = 2^-45 of r,
 * far below its polynomial's error. */
V_INLINE vd vmath_exp_reduce(vd x, vd *n, vd *t, const int lo)
{
    *t = v_fma(x, v_set(VMATH_LOG2E), v_set(VMATH_SHIFT));
    *n = v_sub(*t, v_set(VMATH_SHIFT));
    vd r = v_fnma(*n, v_set(VMATH_LN2_HI), x);
    if (!lo)
        r = v_fnma(*n, v_set(VMATH_LN2_LO), r);
    return lo ? vmath_exp_poly_lo(r) : vmath_exp_poly(r);
}

/* Outside [-746, 710] the result is 0 or inf whatever x is, and inside it
 * n stays within vmath_scale's range; the clamp passes NaN through
 * (v_max and v_min return their second operand for a NaN). */
V_INLINE vd vmath_exp_clamped(vd x, const int lo)
{
    const vd xc = v_min(v_set(710.0), v_max(v_set(-746.0), x));
    vd n, t;
    const vd p = vmath_exp_reduce(xc, &n, &t, lo);
    return vmath_scale(p, n);
}

V_INLINE vd vmath_exp_impl(vd x, const int lo)
{
#if VMATH_SCALE_IS_CHEAP
    return vmath_exp_clamped(x, lo);
#else
    /* |x| <= 707: 2^n is a normal number and the result too. NaN fails
     * the test and takes the other way. */
    if (__builtin_expect(m_all(v_le(v_abs(x), v_set(707.0))), 1)) {
        vd n, t;
        const vd p = vmath_exp_reduce(x, &n, &t, lo);
        return vmath_scale_normal(p, n, t);
    }
    return vmath_exp_clamped(x, lo);
#endif
}

/* log(1 + f) = 2 atanh(s), s = f / (2 + f), = 2s + s z T(z), z = s^2,
 * |s| <= 0.1716, T of degree 6 (relative error 2^-59.3) or 3 (2^-37.6).
 *
 * The one division costs one instruction, but the divider takes about 8
 * (AVX2) or 16 (AVX-512) cycles per vector while the rest of log is about
 * 30 instructions, 10 to 15 cycles: the out-of-order core overlaps the two,
 * and more so in a loop that does other work as well. Measured on
 * Sapphire Rapids with bench/vec_math_bench.c, the division-free form on
 * AVX-512 (vrcp14pd, a Newton step and a corrected quotient: 6
 * instructions) made v_log 10% and v_log1p 25% slower; v_log_lo alone 15%
 * faster, but exp_lo(g log_lo(q)) 20% slower. The division stays. */
V_INLINE vd vmath_log_poly(vd z)
{
    vd p = v_fma(v_set(0x1.2f02e5a4c4bbap-3), z, v_set(0x1.39a1fb9d939f3p-3));
    p = v_fma(p, z, v_set(0x1.74663c53763f6p-3));
    p = v_fma(p, z, v_set(0x1.c71c52164caacp-3));
    p = v_fma(p, z, v_set(0x1.24924941e0c27p-2));
    p = v_fma(p, z, v_set(0x1.999999997fee9p-2));
    return v_fma(p, z, v_set(0x1.5555555555592p-1));
}

V_INLINE vd vmath_log_poly_lo(vd z)
{
    vd p = v_fma(v_set(0x1.e2f2d422e5f30p-3), z, v_set(0x1.2438f15e31941p-2));
    p = v_fma(p, z, v_set(0x1.999a7a1a2e5cdp-2));
    return v_fma(p, z, v_set(0x1.555554fde2d51p-1));
}

/* e ln2 + log(1 + f + flo) for f = m - 1 (exact), m in [sqrt(1/2),
 * sqrt(2)), and a correction flo below an ulp of m (0 for log).
 *
 * Full: fdlibm's arrangement, f - (f^2/2 - s (f^2/2 + z T)), in which the
 * large terms f and e ln2 are added last and the polynomial only
 * corrects; flo enters as flo / (1 + f) = flo (1 - s) / (1 + s)
 * = flo (1 - 2s + 2s^2 - ...), cut after 2s^2: the error, 2 s^3 flo, is
 * below 2^-58 of the result.
 * _lo: s (2 + z T) + e ln2, flo simply added to f first: every rounding is
 * near 2^-53 of the result, far below the 2^-32 bound. */
/* The same from s = f / (2 + f) at hand (for _lo, f and s already hold
 * flo). */
V_INLINE vd vmath_log_with_s(vd f, vd s, vd flo, vd e, const int lo, const int has_flo)
{
    if (lo) {
        const vd z = v_mul(s, s);
        const vd u = v_fma(vmath_log_poly_lo(z), z, v_set(2.0));
        return v_fma(e, v_set(VMATH_LN2_HI), v_mul(s, u));
    }
    const vd z = v_mul(s, s);
    const vd hfsq = v_mul(v_mul(f, v_set(0.5)), f);
    const vd a = v_fma(z, vmath_log_poly(z), hfsq);
    vd low = v_mul(e, v_set(VMATH_LN2_LO));
    if (has_flo) {
        /* 1 - 2s + 2s^2 = 1 + s (2s - 2) */
        const vd w = v_fma(s, v_fma(s, v_set(2.0), v_set(-2.0)), v_set(1.0));
        low = v_fma(flo, w, low);
    }
    const vd b = v_fma(s, a, low);
    return v_fma(e, v_set(VMATH_LN2_HI), v_sub(f, v_sub(hfsq, b)));
}

V_INLINE vd vmath_log_reduced(vd f, vd flo, vd e, const int lo, const int has_flo)
{
    if (lo && has_flo)
        f = v_add(f, flo);
    const vd s = v_div(f, v_add(f, v_set(2.0)));
    return vmath_log_with_s(f, s, flo, e, lo, has_flo);
}

/* log of a normal positive x, e_adj added to its exponent. */
V_INLINE vd vmath_log_normal(vd x, vd e_adj, const int lo, const int has_adj)
{
    vd e;
    const vd m = vmath_frexp(x, &e);
    if (has_adj)
        e = v_add(e, e_adj);
    return vmath_log_reduced(v_sub(m, v_set(1.0)), v_zero(), e, lo, 0);
}

/* Subnormal x are scaled into the normal range first; then log(0) = -inf,
 * log(x < 0) = NaN, log(+inf) = +inf, NaN gives x. */
V_INLINE vd vmath_log_special(vd x, const int lo)
{
    const vm sub = v_lt(x, v_set(VMATH_DBL_MIN));
    const vd xs = v_sel(sub, v_mul(x, v_set(0x1p54)), x);
    vd y = vmath_log_normal(xs, v_keep(sub, v_set(-54.0)), lo, 1);
    y = v_sel(v_eq(x, v_zero()), v_set(-__builtin_inf()), y);
    y = v_sel(v_eq(x, v_set(__builtin_inf())), x, y);
    y = v_sel(v_lt(x, v_zero()), v_set(__builtin_nan("")), y);
    return v_sel(v_isnan(x), x, y);
}

V_INLINE vd vmath_log_impl(vd x, const int lo)
{
    if (__builtin_expect(m_all(vmath_pos_normal(x)), 1))
        return vmath_log_normal(x, v_zero(), lo, 0);
    return vmath_log_special(x, lo);
}

/* log1p(x) = log(u + c) with u = 1 + x rounded and c = x - (u - 1) its
 * rounding error (exact for x in [-1, 2^53]; beyond, c is off by at most 1
 * where it no longer matters, 2^-53 of log1p's last bit). u = m 2^e, and
 * c 2^-e is the correction to f = m - 1.
 *
 * log1p(x) <= x for every x > -1, so min(y, x) only ever moves y closer
 * to the exact result, and it gives log1p(-0) = -0, which the arithmetic
 * above would make +0. */
V_INLINE vd vmath_log1p_impl(vd x, const int lo)
{
    const vd u = v_add(x, v_set(1.0));
    const vd c = v_sub(x, v_sub(u, v_set(1.0)));
    vd e;
    const vd m = vmath_frexp(u, &e);
    const vd flo = vmath_scale_down(c, e);
    vd y = v_min(vmath_log_reduced(v_sub(m, v_set(1.0)), flo, e, lo, 1), x);
    /* u is positive and normal exactly for x > -1 (u >= 2^-53 there) up
     * to DBL_MAX: only x <= -1, +inf and NaN need fixing. */
    if (__builtin_expect(!m_all(vmath_pos_normal(u)), 0)) {
        y = v_sel(v_eq(x, v_set(-1.0)), v_set(-__builtin_inf()), y);
        y = v_sel(v_lt(x, v_set(-1.0)), v_set(__builtin_nan("")), y);
        y = v_sel(m_or(v_eq(x, v_set(__builtin_inf())), v_isnan(x)), x, y);
    }
    return y;
}

/* log1p(u) and 1 / (1 + u) for u in [0, 1] (as log1p(exp(-|x|)) and the
 * sigmoid beside it), with one reciprocal for both: 1 / ((1 + u)(2 + f))
 * gives 1 / (1 + u) and, times f (1 + u), log's s = f / (2 + f). Each is
 * within a few ulp more than its own division would give. The reciprocal
 * (of a number in [2, 6]) avoids the divider, which sigmoid mode would
 * otherwise wait on for every vector. NaN passes. Without want_log only
 * the reciprocal is formed (the same bits). */
V_INLINE vd vmath_log1p_unit_impl(vd u, vd *recip, const int lo, const int want_log)
{
    const vd w = v_add(u, v_set(1.0));
    const vd c = v_sub(u, v_sub(w, v_set(1.0)));
    const vm big = v_ge(w, v_set(0x1.6a09e667f3bcdp+0));
    const vd m = v_sel(big, v_mul(w, v_set(0.5)), w);
    const vd e = v_keep(big, v_set(1.0));
    const vd flo = v_sel(big, v_mul(c, v_set(0.5)), c);
    vd f = v_sub(m, v_set(1.0));
    if (lo)
        f = v_add(f, flo);
    const vd d = v_add(f, v_set(2.0));
    const vd wd = v_mul(w, d);
    const vd inv = lo ? v_recip_lo(wd) : v_recip(wd);
    *recip = v_mul(d, inv);
    if (!want_log)
        return v_zero();
    return vmath_log_with_s(f, v_mul(v_mul(f, w), inv), flo, e, lo, 1);
}

/* exp: below 1 ulp: the polynomial's last roundings, r's (1/4 ulp) and the
 * fit's (1/16 ulp); results below DBL_MIN are rounded once more, by the
 * scaling, to the subnormal's precision. */
V_INLINE vd v_exp(vd x) { return vmath_exp_impl(x, 0); }
V_INLINE vd v_exp_lo(vd x) { return vmath_exp_impl(x, 1); }
V_INLINE vd v_log(vd x) { return vmath_log_impl(x, 0); }
V_INLINE vd v_log_lo(vd x) { return vmath_log_impl(x, 1); }
V_INLINE vd v_log1p(vd x) { return vmath_log1p_impl(x, 0); }
V_INLINE vd v_log1p_lo(vd x) { return vmath_log1p_impl(x, 1); }
V_INLINE vd v_log1p_unit(vd u, vd *recip) { return vmath_log1p_unit_impl(u, recip, 0, 1); }
V_INLINE vd v_log1p_unit_lo(vd u, vd *recip) { return vmath_log1p_unit_impl(u, recip, 1, 1); }
V_INLINE vd v_recip1p_unit(vd u)
{
    vd r;
    (void)vmath_log1p_unit_impl(u, &r, 0, 0);
    return r;
}
V_INLINE vd v_recip1p_unit_lo(vd u)
{
    vd r;
    (void)vmath_log1p_unit_impl(u, &r, 1, 0);
    return r;
}

#endif /* FOCAL_VEC_MATH_H */
