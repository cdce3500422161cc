/* Poly-1 (Leng et al. 2022): the focal loss plus epsilon (1 - p_t)^(gamma
 * + 1), weighted by the position's weight but not by alpha_t. */
#ifndef FOCAL_STAGE_POLY_H
#define FOCAL_STAGE_POLY_H

#include "stages/modulate.h"

/* The poly term of a softmax position with p_t = p, 1 - p_t = q:
 * term = eps q^(gamma + 1) and its coefficient k for the backward through
 * log-softmax (the derivative with respect to -x_t), eps (gamma + 1) p
 * q^(gamma + 1): the same form as st_focal's k. */
ST_INLINE void st_poly_softmax(vd p, vd q, double gamma, double eps, int lo, vd *term, vd *k)
{
    const vd f = v_mul(st_pow(q, gamma, lo), q);
    *term = v_mul(v_set(eps), f);
    *k = v_mul(v_set(eps * (gamma + 1.0)), v_mul(p, f));
}

/* The same for probabilities input: the derivative with respect to p_t,
 * -eps (gamma + 1) q^gamma. */
ST_INLINE vd st_poly_dprob(vd q, double gamma, double eps, int lo)
{
    return v_mul(v_set(-eps * (gamma + 1.0)), st_pow(q, gamma, lo));
}

/* A sigmoid element with m = 1 - p_t = y q + (1 - y) p: eps m^(gamma + 1)
 * and its derivatives with respect to the logit (dm/dx = (1 - 2y) p q),
 * the probability (dm/dp = 1 - 2y) and the target (dm/dy = q - p). */
ST_INLINE void st_poly_sigmoid(vd p, vd q, vd y, double gamma, double eps, int lo, vd *term, vd *dm)
{
    const vd one = v_set(1.0);
    const vd m = v_fma(y, q, v_mul(v_sub(one, y), p));
    const vd f = st_pow(m, gamma, lo);
    *term = v_mul(v_set(eps), v_mul(f, m));
    *dm = v_mul(v_set(eps * (gamma + 1.0)), f);   /* times dm/d(x, p or y) */
}

#endif /* FOCAL_STAGE_POLY_H */
