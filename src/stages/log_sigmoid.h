/* Log-sigmoid for sigmoid mode: every piece of a logit's binary problem
 * without overflow or cancellation (docs/math.md, sigmoid mode). */
#ifndef FOCAL_STAGE_LOG_SIGMOID_H
#define FOCAL_STAGE_LOG_SIGMOID_H

#include "stages/stage.h"

/* For a logit x, with e = exp(-|x|) in (0, 1] and L = log1p(e):
 *   sp_pos = softplus(x)  = -log(1 - p) = max(x, 0) + L
 *   sp_neg = softplus(-x) = -log p      = max(-x, 0) + L
 *   p = sigmoid(x), q = 1 - p = sigmoid(-x), both as quotients, never
 *   1 minus the other. NaN passes into every output. */
/* p and q from e and big = 1 / (1 + e): the larger one is big. */
ST_INLINE void st_sigmoid_pick(vd x, vd e, vd big, vd *p, vd *q)
{
    const vd small = v_mul(e, big);
    const vm pos = v_ge(x, v_zero());
    *p = v_sel(pos, big, small);
    *q = v_sel(pos, small, big);
}

ST_INLINE void st_sigmoid(vd x, int lo, vd *sp_pos, vd *sp_neg, vd *p, vd *q)
{
    const vd e = ST_EXP(v_neg(v_abs(x)), lo);
    vd big;
    const vd L = ST_LOG1P_UNIT(e, &big, lo);
    *sp_pos = v_add(v_max(x, v_zero()), L);
    *sp_neg = v_add(v_max(v_neg(x), v_zero()), L);
    st_sigmoid_pick(x, e, big, p, q);
}

/* p and q alone, the same bits as st_sigmoid's, without the logarithm. */
ST_INLINE void st_sigmoid_pq(vd x, int lo, vd *p, vd *q)
{
    const vd e = ST_EXP(v_neg(v_abs(x)), lo);
    st_sigmoid_pick(x, e, ST_RECIP1P_UNIT(e, lo), p, q);
}

/* The same pieces named for the hard-label forms, where z is the logit
 * of the wrong answer: sig = sigmoid(z), sig_minus = sigmoid(-z) = 1 -
 * sig, sp = softplus(z), sp_minus = softplus(-z). */
ST_INLINE void st_sigmoid_z(vd z, int lo, vd *sig, vd *sig_minus, vd *sp, vd *sp_minus)
{
    st_sigmoid(z, lo, sp, sp_minus, sig, sig_minus);
}

#endif /* FOCAL_STAGE_LOG_SIGMOID_H */
