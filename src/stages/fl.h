/* The focal loss of one sigmoid-mode element (torchvision's
 * sigmoid_focal_loss), from logits or from probabilities, without alpha:
 * the kernels multiply loss and derivative by alpha_t. */
#ifndef FOCAL_STAGE_FL_H
#define FOCAL_STAGE_FL_H

#include "stages/log_sigmoid.h"
#include "stages/modulate.h"

/* Logit x, target y in [0, 1]:
 *   CE = y softplus(-x) + (1 - y) softplus(x),  m = 1 - p_t = y q + (1 - y) p
 *   loss = m^gamma CE
 *   d/dx = m^gamma [gamma r (1 - 2y) CE + p (1 - y) - y q],  r = p q / m <= 1
 * (0 where m = 0): no m^(gamma - 1) to blow up. A term whose target weight
 * is 0 is left out rather than multiplied, so a -inf logit with y = 0 adds
 * nothing, not 0 * inf. */
ST_INLINE void st_fl_soft(vd x, vd y, double gamma, int lo, vd *loss, vd *grad)
{
    vd sp_pos, sp_neg, p, q;
    st_sigmoid(x, lo, &sp_pos, &sp_neg, &p, &q);
    const vd one = v_set(1.0), ny = v_sub(one, y);
    const vd ce = v_add(v_keep(v_ne(y, v_zero()), v_mul(y, sp_neg)), v_keep(v_ne(y, one), v_mul(ny, sp_pos)));
    const vd m = v_fma(y, q, v_mul(ny, p));
    const vd f = st_pow(m, gamma, lo);
    *loss = v_mul(f, ce);
    const vd r = v_keep(v_gt(m, v_zero()), v_div(v_mul(p, q), m));
    const vd lin = v_fnma(y, q, v_mul(p, ny));
    *grad = v_mul(f, v_fma(v_mul(v_mul(v_set(gamma), r), v_fnma(v_set(2.0), y, one)), ce, lin));
}

/* The same for targets exactly 0 or 1, in terms of z = x (1 - 2y), the
 * logit of the wrong answer: CE = softplus(z), m = sigmoid(z),
 * log m = -softplus(-z), d/dx = (1 - 2y) m^gamma [gamma (1 - m) CE + m]. */
ST_INLINE void st_fl_hard(vd x, vd y, double gamma, int lo, vd *loss, vd *grad)
{
    const vd sign = v_fnma(v_set(2.0), y, v_set(1.0));
    const vd z = v_mul(x, sign);
    vd m, one_m, ce, sp_minus;
    st_sigmoid_z(z, lo, &m, &one_m, &ce, &sp_minus);
    const vd f = st_pow_log(m, v_neg(sp_minus), gamma, lo);
    *loss = v_mul(f, ce);
    *grad = v_mul(sign, v_mul(f, v_fma(v_mul(v_set(gamma), one_m), ce, m)));
}

/* Probabilities input: p the clipped input (in [eps, 1 - eps]), q = 1 - p,
 *   CE = -(y log p + (1 - y) log(1 - p)),  m = y q + (1 - y) p
 *   loss = m^gamma CE,  d/dp = m^gamma [gamma (1 - 2y) CE / m + (1 - y) / q - y / p]
 * with m >= eps keeping it finite. */
ST_INLINE void st_fl_prob(vd p, vd y, double gamma, int lo, vd *loss, vd *grad)
{
    const vd one = v_set(1.0), q = v_sub(one, p), ny = v_sub(one, y);
    const vd ce = v_neg(v_fma(y, ST_LOG(p, lo), v_mul(ny, ST_LOG1P(v_neg(p), lo))));
    const vd m = v_fma(y, q, v_mul(ny, p));
    const vd f = st_pow(m, gamma, lo);
    *loss = v_mul(f, ce);
    const vd a = v_div(v_mul(v_mul(v_set(gamma), v_fnma(v_set(2.0), y, one)), ce), m);
    *grad = v_mul(f, v_sub(v_add(a, v_div(ny, q)), v_div(y, p)));
}

#endif /* FOCAL_STAGE_FL_H */
