/* Log-softmax over the class axis, in the forms that keep 1 - p accurate
 * (docs/math.md, "The stable forms").
 *
 * The kernels first take e_j = exp(x_j) directly, without a pass for the
 * maximum: in double that is exact to rounding for every logit in a range
 * far wider than any float holds. A position whose target's e_t is below
 * ST_SOFTMAX_TINY, whose total exceeds ST_SOFTMAX_HUGE, or that holds a
 * NaN is redone relative to its own maximum, e_j = exp(x_j - max); the
 * formulas below take either scale. */
#ifndef FOCAL_STAGE_LOG_SOFTMAX_H
#define FOCAL_STAGE_LOG_SOFTMAX_H

#include "stages/stage.h"

#define ST_SOFTMAX_TINY 0x1p-900
#define ST_SOFTMAX_HUGE 0x1p1000

/* Lanes whose direct exponentials can be used: e_t >= TINY and the total
 * at most HUGE (false for NaN). */
ST_INLINE vm st_softmax_direct_ok(vd et, vd total)
{
    return m_and(v_ge(et, v_set(ST_SOFTMAX_TINY)), v_le(total, v_set(ST_SOFTMAX_HUGE)));
}

/* log p_t, p_t and 1 - p_t from the target's e_t (a normal number) and
 * the other classes' mass R, summed directly (never as a total minus
 * e_t): l = -log1p(R / e_t), with no cancellation whichever class is
 * largest. */
ST_INLINE void st_softmax_ratio(vd et, vd R, int lo, vd *l, vd *p, vd *q)
{
    const vd u = v_div(R, et);
    *p = v_div(v_set(1.0), v_add(v_set(1.0), u));
    *q = v_mul(u, *p);
    *l = v_neg(ST_LOG1P(u, lo));
}

/* The same on the scale of the maximum, where e_t may be tiny or 0 (a
 * target logit far below the others, or -inf): there l = xs_t - log S
 * with xs_t = x_t - max and S = e_t + R >= 1. Lanes whose e_t is not tiny
 * take the ratio form. */
ST_INLINE void st_softmax_scaled(vd et, vd R, vd xst, int lo, vd *l, vd *p, vd *q)
{
    const vd S = v_add(et, R);
    const vd inv = v_div(v_set(1.0), S);
    vd lr, pr, qr;
    st_softmax_ratio(et, R, lo, &lr, &pr, &qr);
    const vm ratio = v_ge(et, v_set(ST_SOFTMAX_TINY));
    *l = v_sel(ratio, lr, v_sub(xst, ST_LOG(S, lo)));
    *p = v_sel(ratio, pr, v_mul(et, inv));
    *q = v_sel(ratio, qr, v_mul(R, inv));
}

/* One class j of a target distribution with e_j, the total S (1 / S in
 * inv_s, log S in log_s) and xs_j = x_j - shift on the exponentials'
 * scale; j is not the position's largest class, so e_j <= S / 2 and
 * S - e_j is exact to a few ulps: p_j, q_j = 1 - p_j and
 * l_j = xs_j - log S, |l_j| >= log 2. */
ST_INLINE void st_softmax_other(vd ej, vd S, vd inv_s, vd log_s, vd xsj, vd *l, vd *p, vd *q, vd *others)
{
    *others = v_sub(S, ej);
    *p = v_mul(ej, inv_s);
    *q = v_mul(*others, inv_s);
    *l = v_sub(xsj, log_s);
}

/* The backward through log-softmax of an index target: with G the
 * derivative of the loss with respect to -x_t and R the other classes'
 * mass, class j != t receives rho e_j, rho = G / R (0 where R = 0: every
 * other class has probability 0, and so has its gradient). */
ST_INLINE vd st_softmax_rho(vd G, vd R)
{
    return v_keep(v_ne(R, v_zero()), v_div(G, R));
}

#endif /* FOCAL_STAGE_LOG_SOFTMAX_H */
