/* The Asymmetric Loss (Ridnik et al. 2021) for one sigmoid-mode element,
 * without alpha: the true gradient of
 *   -[y (1 - p)^gamma log p + (1 - y) p_m^gamma_n log(1 - p_m)],
 * p_m = max(p - clip, 0). For 0/1 targets, timm's AsymmetricLossOptimized
 * without its eps clamp. */
#ifndef FOCAL_STAGE_ASL_H
#define FOCAL_STAGE_ASL_H

#include "stages/log_sigmoid.h"
#include "stages/modulate.h"

/* The negative part with a clip (clip > 0), from p and q = 1 - p:
 * p_m = p - clip where p > clip, else 0 (and so are the part and its
 * derivative); 1 - p_m = 1 - p + clip, formed from 1 - p. Where
 * 1 - p_m >= 1/2, its rounding may have dropped digits of a small p_m:
 * log(1 - p_m) takes them back to first order,
 *   log(1 - p_m) = log(om) + ((1 - om) - p_m) / om,
 * 1 - om being exact there. om is in [clip, 1]: from a clip of 2^-124
 * on, 1 / om needs no division (ST_QUOT). gamma_n is 0 or at least 1
 * (plan.c rejects 0 < gamma_n < 1 with a clip), so p_m^gamma_n is
 * p_m^(gamma_n - 1) p_m, the power the derivative needs times p_m. */
ST_INLINE void st_asl_clipped(vd x, vd p, vd q, double gamma_n, double clip, int lo, vd *an, vd *dan)
{
    const vm live = v_gt(p, v_set(clip));
    const vd one = v_set(1.0);
    const vd pm = v_keep(live, v_sub(p, v_set(clip)));
    const vd om = v_min(v_add(q, v_set(clip)), one);
    const vd r = ST_QUOT(one, om, clip >= ST_QUOT_MIN, lo);
    const vd corr = v_keep(v_ge(om, v_set(0.5)), v_mul(v_sub(v_sub(one, om), pm), r));
    const vd nl = v_neg(v_add(ST_LOG(om, lo), corr));
    const vd fp1 = gamma_n == 0.0 ? v_zero() : st_pow(pm, gamma_n - 1.0, lo);
    const vd fp = gamma_n == 0.0 ? one : v_mul(fp1, pm);
    *an = v_keep(live, v_mul(fp, nl));
    /* d an/dx = p [gamma_n p_m^(gamma_n - 1) nl (1 - p) + p_m^gamma_n (1 - p) / (1 - p_m)],
     * the ratio (1 - p) / (1 - p_m) <= 1 formed as such: 1 / (1 - p_m)
     * alone overflows for a subnormal clip where 1 - p is 0. Where 1 - p
     * underflowed the ratio, 1 / (1 + clip (1 + e^x)), is
     * e^-(x + log clip). */
    vd ratio = v_mul(q, r);
    const vm gone = m_and(live, v_eq(q, v_zero()));
    if (m_any(gone))
        ratio = v_sel(gone, ST_EXP(v_neg(v_add(x, ST_LOG(v_set(clip), lo))), lo), ratio);
    vd inner = v_mul(fp, ratio);
    if (gamma_n != 0.0)
        inner = v_fma(v_mul(v_mul(v_set(gamma_n), fp1), nl), q, inner);
    *dan = v_keep(live, v_mul(p, inner));
}

/* The two parts' values without y: ap = (1 - p)^gamma softplus(-x) and
 * an = p_m^gamma_n (-log(1 - p_m)), -log(1 - p_m) being softplus(x)
 * without a clip and -log(min(1 - p + clip, 1)) with one. */
ST_INLINE void st_asl_parts(vd x, double gamma, double gamma_n, double clip, int lo, vd *ap, vd *an, vd *dap,
                            vd *dan)
{
    vd sp_pos, sp_neg, p, q;
    st_sigmoid(x, lo, &sp_pos, &sp_neg, &p, &q);
    const vd fq = st_pow(q, gamma, lo);
    *ap = v_mul(fq, sp_neg);
    /* d ap/dx = -(1 - p)^gamma (gamma p softplus(-x) + 1 - p) */
    *dap = v_neg(v_mul(fq, v_fma(v_mul(v_set(gamma), p), sp_neg, q)));
    if (clip == 0.0) {
        const vd fp = st_pow(p, gamma_n, lo);
        *an = v_mul(fp, sp_pos);
        *dan = v_mul(fp, v_fma(v_mul(v_set(gamma_n), q), sp_pos, p));
        return;
    }
    st_asl_clipped(x, p, q, gamma_n, clip, lo, an, dan);
}

ST_INLINE void st_asl(vd x, vd y, double gamma, double gamma_n, double clip, int lo, vd *loss, vd *grad)
{
    vd ap, an, dap, dan;
    st_asl_parts(x, gamma, gamma_n, clip, lo, &ap, &an, &dap, &dan);
    const vd one = v_set(1.0), ny = v_sub(one, y);
    const vm has_p = v_ne(y, v_zero()), has_n = v_ne(y, one);
    *loss = v_add(v_keep(has_p, v_mul(y, ap)), v_keep(has_n, v_mul(ny, an)));
    *grad = v_add(v_keep(has_p, v_mul(y, dap)), v_keep(has_n, v_mul(ny, dan)));
}

/* The same with a clip (clip > 0) where every target is 0 (the lanes that
 * count): the positive part is not formed, nor softplus, whose logarithm
 * only that part needs there (the results are st_asl's, bit for bit). */
ST_INLINE void st_asl_negatives(vd x, vd y, double gamma_n, double clip, int lo, vd *loss, vd *grad)
{
    vd p, q, an, dan;
    st_sigmoid_pq(x, lo, &p, &q);
    st_asl_clipped(x, p, q, gamma_n, clip, lo, &an, &dan);
    const vd one = v_set(1.0), ny = v_sub(one, y);
    const vm has_n = v_ne(y, one);
    *loss = v_add(v_zero(), v_keep(has_n, v_mul(ny, an)));
    *grad = v_add(v_zero(), v_keep(has_n, v_mul(ny, dan)));
}

/* d/dy of alpha_t(y) [y ap + (1 - y) an]:
 * (a1 - a0) [y ap + (1 - y) an] + alpha_t (ap - an). */
ST_INLINE vd st_asl_dtarget(vd x, vd y, vd a1, vd a0, double gamma, double gamma_n, double clip, int lo)
{
    vd ap, an, dap, dan;
    st_asl_parts(x, gamma, gamma_n, clip, lo, &ap, &an, &dap, &dan);
    const vd one = v_set(1.0), ny = v_sub(one, y);
    const vd l = v_fma(y, ap, v_mul(ny, an));
    const vd at = v_fma(a1, y, v_mul(a0, ny));
    return v_fma(v_sub(a1, a0), l, v_mul(at, v_sub(ap, an)));
}

#endif /* FOCAL_STAGE_ASL_H */
