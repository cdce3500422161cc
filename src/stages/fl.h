/* The focal loss of one sigmoid-mode element (torchvision's
 * sigmoid_focal_loss), from logits or from probabilities, without alpha:
 * the kernels multiply loss and derivative by alpha_t. */
#ifndef FOCAL_STAGE_FL_H
#define FOCAL_STAGE_FL_H

#include "stages/log_sigmoid.h"
#include "stages/modulate.h"

/* Logit x, target y in [0, 1], the positive term's weight pw (BCE's
 * pos_weight; 1 without), alpha_t at (1 without alpha) and Poly-1's eps
 * (0 without), whose term eps m^(gamma + 1) is not weighted by alpha_t:
 *   CE = pw y softplus(-x) + (1 - y) softplus(x),  m = 1 - p_t = y q + (1 - y) p
 *   loss = m^gamma CE
 *   d/dx = m^gamma [gamma r (1 - 2y) CE + p (1 - y) - pw y q],  r = p q / m <= 1
 * (0 where m = 0): no m^(gamma - 1) to blow up, and p (1 - y) - pw y q
 * has no cancellation of p - 1 for large logits. A term whose target
 * weight is 0 is left out rather than multiplied, so a -inf logit with
 * y = 0 adds nothing, not 0 * inf. */
ST_INLINE void st_fl_soft(vd x, vd y, vd pw, vd at, double gamma, double eps, int lo, vd *loss, vd *grad)
{
    vd sp_pos, sp_neg, p, q;
    st_sigmoid(x, lo, &sp_pos, &sp_neg, &p, &q);
    const vd one = v_set(1.0), ny = v_sub(one, y), py = v_mul(pw, y);
    const vd ce = v_add(v_keep(v_ne(y, v_zero()), v_mul(py, sp_neg)), v_keep(v_ne(y, one), v_mul(ny, sp_pos)));
    const vd m = v_fma(y, q, v_mul(ny, p));
    const vd f = st_pow(m, gamma, lo);
    const vd r = v_keep(v_gt(m, v_zero()), v_div(v_mul(p, q), m));
    const vd lin = v_fnma(py, q, v_mul(p, ny));
    const vd sign = v_fnma(v_set(2.0), y, one);
    *loss = v_mul(at, v_mul(f, ce));
    *grad = v_mul(at, v_mul(f, v_fma(v_mul(v_mul(v_set(gamma), r), sign), ce, lin)));
    if (eps != 0.0) {
        /* Poly-1: eps m^(gamma + 1), dm/dx = (1 - 2y) p (1 - p). */
        *loss = v_fma(v_set(eps), v_mul(f, m), *loss);
        *grad = v_fma(v_set(eps * (gamma + 1.0)), v_mul(f, v_mul(sign, v_mul(p, q))), *grad);
    }
}

/* The split form (kornia's binary_focal_loss_with_logits) as its positive
 * and negative parts, each without its weight (a pw and 1 - a):
 *   lp = y (1 - p)^gamma softplus(-x)    d lp/dx = -y (1 - p)^gamma (gamma p softplus(-x) + 1 - p)
 *   ln = (1 - y) p^gamma softplus(x)     d ln/dx = (1 - y) p^gamma (gamma (1 - p) softplus(x) + p)
 * A part whose target weight is 0 is left out. */
ST_INLINE void st_fl_split(vd x, vd y, double gamma, int lo, vd *lp, vd *ln, vd *gp, vd *gn)
{
    vd sp_pos, sp_neg, p, q;
    st_sigmoid(x, lo, &sp_pos, &sp_neg, &p, &q);
    const vd g = v_set(gamma), one = v_set(1.0), ny = v_sub(one, y);
    const vd fq = st_pow(q, gamma, lo), fp = st_pow(p, gamma, lo);
    const vm has_p = v_ne(y, v_zero()), has_n = v_ne(y, one);
    *lp = v_keep(has_p, v_mul(v_mul(y, fq), sp_neg));
    *ln = v_keep(has_n, v_mul(v_mul(ny, fp), sp_pos));
    *gp = v_keep(has_p, v_neg(v_mul(v_mul(y, fq), v_fma(v_mul(g, p), sp_neg, q))));
    *gn = v_keep(has_n, v_mul(v_mul(ny, fp), v_fma(v_mul(g, q), sp_pos, p)));
}

/* The same from probabilities p in [eps, 1 - eps], q = 1 - p (`est`: eps
 * >= 2^-124, so the quotients by p and q need no division, ST_QUOT):
 *   lp = -y q^gamma log p      d lp/dp = y q^gamma (gamma log p / q - 1 / p)
 *   ln = -(1 - y) p^gamma log q   d ln/dp = (1 - y) p^gamma (1 / q - gamma log q / p) */
ST_INLINE void st_fl_split_prob(vd p, vd y, double gamma, int est, int lo, vd *lp, vd *ln, vd *gp, vd *gn)
{
    const vd one = v_set(1.0), q = v_sub(one, p), ny = v_sub(one, y), g = v_set(gamma);
    const vd lgp = ST_LOG(p, lo), lgq = ST_LOG1P(v_neg(p), lo);
    const vd fq = st_pow(q, gamma, lo), fp = st_pow(p, gamma, lo);
    *lp = v_neg(v_mul(v_mul(y, fq), lgp));
    *ln = v_neg(v_mul(v_mul(ny, fp), lgq));
    *gp = v_mul(v_mul(y, fq), v_sub(ST_QUOT(v_mul(g, lgp), q, est, lo), ST_QUOT(one, p, est, lo)));
    *gn = v_mul(v_mul(ny, fp), v_sub(ST_QUOT(one, q, est, lo), ST_QUOT(v_mul(g, lgq), p, est, lo)));
}

/* The same for targets exactly 0 or 1, in terms of z = x (1 - 2y), the
 * logit of the wrong answer: CE = softplus(z), m = sigmoid(z),
 * log m = -softplus(-z), d/dx = (1 - 2y) m^gamma [gamma (1 - m) CE + m]. */
ST_INLINE void st_fl_hard(vd x, vd y, vd at, double gamma, double eps, int lo, vd *loss, vd *grad)
{
    const vd sign = v_fnma(v_set(2.0), y, v_set(1.0));
    const vd z = v_mul(x, sign);
    vd m, one_m, ce, sp_minus;
    st_sigmoid_z(z, lo, &m, &one_m, &ce, &sp_minus);
    const vd f = st_pow_log(m, v_neg(sp_minus), gamma, lo);
    *loss = v_mul(at, v_mul(f, ce));
    *grad = v_mul(at, v_mul(sign, v_mul(f, v_fma(v_mul(v_set(gamma), one_m), ce, m))));
    if (eps != 0.0) {
        /* Poly-1: eps m^(gamma + 1), dm/dx = (1 - 2y) m (1 - m). */
        *loss = v_fma(v_set(eps), v_mul(f, m), *loss);
        *grad = v_fma(v_set(eps * (gamma + 1.0)), v_mul(v_mul(f, sign), v_mul(m, one_m)), *grad);
    }
}

/* Probabilities input: p the clipped input (in [eps, 1 - eps]), q = 1 - p,
 *   CE = -(pw y log p + (1 - y) log(1 - p)),  m = y q + (1 - y) p
 *   loss = m^gamma CE,  d/dp = m^gamma [gamma (1 - 2y) CE / m + (1 - y) / q - pw y / p]
 * with m >= eps keeping it finite (`est`: eps >= 2^-124, so the three
 * quotients need no division, ST_QUOT; m, a mean of p and q, is at least
 * their smaller one). */
ST_INLINE void st_fl_prob(vd p, vd y, vd pw, vd at, double gamma, double eps, int est, int lo, vd *loss, vd *grad)
{
    const vd one = v_set(1.0), q = v_sub(one, p), ny = v_sub(one, y), py = v_mul(pw, y);
    const vd ce = v_neg(v_fma(py, ST_LOG(p, lo), v_mul(ny, ST_LOG1P(v_neg(p), lo))));
    const vd m = v_fma(y, q, v_mul(ny, p));
    const vd f = st_pow(m, gamma, lo);
    const vd sign = v_fnma(v_set(2.0), y, one);
    *loss = v_mul(at, v_mul(f, ce));
    const vd a = ST_QUOT(v_mul(v_mul(v_set(gamma), sign), ce), m, est, lo);
    /* d CE / dp = ny / q - py / p, formed as (ny p - py q) / p / q: where
     * the two terms nearly cancel (p near the target), the estimate's
     * error then scales the small result instead of the terms. */
    const vd dce = ST_QUOT(ST_QUOT(v_fnma(py, q, v_mul(ny, p)), p, est, lo), q, est, lo);
    *grad = v_mul(at, v_mul(f, v_add(a, dce)));
    if (eps != 0.0) {
        /* Poly-1: eps m^(gamma + 1), dm/dp = 1 - 2y. */
        *loss = v_fma(v_set(eps), v_mul(f, m), *loss);
        *grad = v_fma(v_set(eps * (gamma + 1.0)), v_mul(f, sign), *grad);
    }
}

/* The derivative with respect to the target y of alpha_t(y) m^gamma CE,
 * alpha_t = a1 y + a0 (1 - y) (a1 = a0 = 1 without alpha), from logits or
 * probabilities (ce_p = -log p, ce_q = -log(1 - p), the two CE terms):
 *   (a1 - a0) m^gamma CE + alpha_t m^gamma [gamma (q - p) CE / m + pw ce_p - ce_q]
 * with the middle term 0 where m = 0. */
ST_INLINE vd st_fl_dtarget(vd p, vd q, vd ce_p, vd ce_q, vd y, vd pw, vd a1, vd a0, double gamma, int lo)
{
    const vd one = v_set(1.0), ny = v_sub(one, y), py = v_mul(pw, y);
    const vd ce = v_add(v_keep(v_ne(y, v_zero()), v_mul(py, ce_p)), v_keep(v_ne(y, one), v_mul(ny, ce_q)));
    const vd m = v_fma(y, q, v_mul(ny, p));
    const vd f = st_pow(m, gamma, lo);
    const vd at = v_fma(a1, y, v_mul(a0, ny));
    const vd mid = v_keep(v_gt(m, v_zero()), v_div(v_mul(v_mul(v_set(gamma), v_sub(q, p)), ce), m));
    const vd inner = v_add(mid, v_fnma(one, ce_q, v_mul(pw, ce_p)));
    return v_mul(f, v_fma(v_sub(a1, a0), ce, v_mul(at, inner)));
}

#endif /* FOCAL_STAGE_FL_H */
