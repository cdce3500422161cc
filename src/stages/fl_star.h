/* FL*, the appendix variant of the paper, for one sigmoid-mode element
 * (logits, gamma > 0), without alpha. */
#ifndef FOCAL_STAGE_FL_STAR_H
#define FOCAL_STAGE_FL_STAR_H

#include "stages/log_sigmoid.h"

/* x_t = x (2y - 1), loss = -log sigmoid(gamma x_t + beta) / gamma,
 * d/dx = -(2y - 1) sigmoid(-(gamma x_t + beta)). With u = x_t + beta /
 * gamma and z = gamma u, -log sigmoid(z) / gamma = max(-u, 0) +
 * log1p(exp(-|z|)) / gamma: finite even where gamma u overflows. The
 * logarithm and 1 / (1 + e) come from one ST_LOG1P_UNIT (e is in
 * (0, 1]); for float results the quotient by gamma is a product by
 * 1 / gamma. st_fl_star_parts gives s = 2y - 1, the loss and
 * sigmoid(-z). */
ST_INLINE void st_fl_star_parts(vd x, vd y, double gamma, double beta, int lo, vd *s, vd *loss, vd *sig_neg_z)
{
    *s = v_fma(v_set(2.0), y, v_set(-1.0));
    const vd u = v_fma(x, *s, v_set(beta / gamma));
    const vd z = v_mul(v_set(gamma), u);
    const vd e = ST_EXP(v_neg(v_abs(z)), lo);
    vd big;
    const vd L = ST_LOG1P_UNIT(e, &big, lo);
    *loss = v_add(v_max(v_neg(u), v_zero()), lo ? v_mul(L, v_set(1.0 / gamma)) : v_div(L, v_set(gamma)));
    *sig_neg_z = v_sel(v_ge(z, v_zero()), v_mul(e, big), big);
}

ST_INLINE void st_fl_star(vd x, vd y, double gamma, double beta, int lo, vd *loss, vd *grad)
{
    vd s, sig_neg_z;
    st_fl_star_parts(x, y, gamma, beta, lo, &s, loss, &sig_neg_z);
    *grad = v_neg(v_mul(s, sig_neg_z));
}

/* The derivative with respect to y of alpha_t(y) L, alpha_t = a1 y +
 * a0 (1 - y): (a1 - a0) L - alpha_t 2x sigmoid(-z), z = gamma x_t + beta
 * (sigmoid(-z) from st_fl_star_parts: the gradient, -(2y - 1) sigmoid(-z),
 * cannot give it back at y = 1/2). */
ST_INLINE vd st_fl_star_dtarget(vd x, vd y, vd a1, vd a0, double gamma, double beta, int lo)
{
    vd s, loss, sig_neg_z;
    st_fl_star_parts(x, y, gamma, beta, lo, &s, &loss, &sig_neg_z);
    const vd at = v_fma(a1, y, v_mul(a0, v_sub(v_set(1.0), y)));
    return v_fnma(v_mul(at, v_add(x, x)), sig_neg_z, v_mul(v_sub(a1, a0), loss));
}

#endif /* FOCAL_STAGE_FL_STAR_H */
