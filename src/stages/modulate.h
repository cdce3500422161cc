/* The modulating factor (1 - p)^gamma, the focal term and its gradient
 * coefficient, in forms with no (1 - p)^(gamma - 1) that could overflow
 * (docs/math.md). */
#ifndef FOCAL_STAGE_MODULATE_H
#define FOCAL_STAGE_MODULATE_H

#include "stages/stage.h"

/* q^gamma for q in [0, 1]. The kernels call it with gamma a constant
 * where they specialise, so the common exponents become products; any
 * other gamma is exp(gamma log q), with q = 0 giving 0 (gamma > 0).
 * gamma = 0 gives 1 for every q. */
ST_INLINE vd st_pow(vd q, double gamma, int lo)
{
    if (gamma == 0.0)
        return v_set(1.0);
    if (gamma == 1.0)
        return q;
    if (gamma == 2.0)
        return v_mul(q, q);
    if (gamma == 3.0)
        return v_mul(v_mul(q, q), q);
    if (gamma == 4.0) {
        const vd q2 = v_mul(q, q);
        return v_mul(q2, q2);
    }
    return ST_EXP(v_mul(v_set(gamma), ST_LOG(q, lo)), lo);
}

/* Whether st_pow(q, gamma) is a product (no exponential). */
ST_INLINE int st_pow_is_product(double gamma)
{
    return gamma == 0.0 || gamma == 1.0 || gamma == 2.0 || gamma == 3.0 || gamma == 4.0;
}

/* The same from log q, when the caller has it at hand. */
ST_INLINE vd st_pow_log(vd q, vd lq, double gamma, int lo)
{
    if (st_pow_is_product(gamma))
        return st_pow(q, gamma, lo);
    return ST_EXP(v_mul(v_set(gamma), lq), lo);
}

/* One class with probability p, q = 1 - p (computed without subtracting
 * from 1) and l = log p:
 *   term = q^gamma (-l)                 the focal term
 *   k    = q^gamma (q - gamma p l)      the coefficient of the backward
 *                                       through log-softmax
 * finite for every gamma >= 0. p l is taken as 0 where p = 0, its limit,
 * also where l = -inf (a -inf logit). */
/* p l, 0 where p = 0 (its limit, also where l = -inf). */
ST_INLINE vd st_p_log_p(vd p, vd l)
{
    return v_keep(v_gt(p, v_zero()), v_mul(p, l));
}

ST_INLINE void st_focal(vd p, vd q, vd l, double gamma, int lo, vd *term, vd *k)
{
    const vd f = st_pow(q, gamma, lo);
    const vd pl = st_p_log_p(p, l);
    *term = v_neg(v_mul(f, l));
    *k = v_mul(f, v_fnma(v_set(gamma), pl, q));
}

/* st_focal's k / q = q^(gamma - 1) (q - gamma p l) with no division, for
 * a gamma whose power is a product (st_pow_is_product; gamma 0: k = q,
 * 1). */
ST_INLINE vd st_focal_k_over_q(vd p, vd q, vd l, double gamma, int lo)
{
    if (gamma == 0.0)
        return v_set(1.0);
    return v_mul(st_pow(q, gamma - 1.0, lo), v_fnma(v_set(gamma), st_p_log_p(p, l), q));
}

/* d/dp of -(1 - p)^gamma log p, for probabilities input, where
 * q = 1 - p >= eps keeps it finite: q^gamma (gamma l / q - 1 / p). `est`:
 * p and q are at least 2^-124 (the clip's lower bound is), so the
 * quotients need no division (ST_QUOT). */
ST_INLINE vd st_focal_dprob(vd p, vd q, vd l, double gamma, int est, int lo)
{
    const vd f = st_pow(q, gamma, lo);
    return v_mul(f, v_sub(ST_QUOT(v_mul(v_set(gamma), l), q, est, lo), ST_QUOT(v_set(1.0), p, est, lo)));
}

/* Probabilities input: the clipped probability, and the mask of the
 * inputs inside [lo, hi] (bounds included), where the clip passes the
 * gradient. A NaN input stays NaN (and is outside the mask). */
ST_INLINE vd st_clip(vd x, double lo, double hi, vm *inside)
{
    const vm ge = v_ge(x, v_set(lo)), le = v_le(x, v_set(hi));
    *inside = m_and(ge, le);
    const vd up = v_sel(ge, x, v_set(lo));
    return v_sel(v_gt(x, v_set(hi)), v_set(hi), v_sel(v_isnan(x), x, up));
}

/* The gradient of a probabilities input: g inside the clip range, 0
 * outside, NaN where the input is NaN. */
ST_INLINE vd st_clip_grad(vd x, vm inside, vd g)
{
    return v_sel(inside, g, v_sel(v_isnan(x), x, v_zero()));
}

#endif /* FOCAL_STAGE_MODULATE_H */
