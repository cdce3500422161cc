/* Varifocal Loss (VarifocalNet, Zhang et al. 2021; mmdetection's
 * varifocal_loss with iou_weighted) for one sigmoid-mode element. */
#ifndef FOCAL_STAGE_VFL_H
#define FOCAL_STAGE_VFL_H

#include "stages/log_sigmoid.h"
#include "stages/modulate.h"

/* y > 0:  loss = BCE(x, y) y,              d/dx = (p - y) y
 * y = 0:  loss = a p^gamma softplus(x),    d/dx = a p^gamma (gamma (1 - p) softplus(x) + p)
 * a the scalar alpha (1 without). */
ST_INLINE void st_vfl(vd x, vd y, double a, double gamma, int lo, vd *loss, vd *grad)
{
    vd sp_pos, sp_neg, p, q;
    st_sigmoid(x, lo, &sp_pos, &sp_neg, &p, &q);
    const vd one = v_set(1.0), ny = v_sub(one, y);
    const vm pos = v_gt(y, v_zero());
    const vd ce = v_add(v_keep(pos, v_mul(y, sp_neg)), v_keep(v_ne(y, one), v_mul(ny, sp_pos)));
    const vd d = v_fnma(y, q, v_mul(p, ny));
    const vd fp = v_mul(v_set(a), st_pow(p, gamma, lo));
    *loss = v_sel(pos, v_mul(ce, y), v_mul(fp, sp_pos));
    *grad = v_sel(pos, v_mul(d, y), v_mul(fp, v_fma(v_mul(v_set(gamma), q), sp_pos, p)));
}

/* d/dy with the branch masks held constant, as torch's autograd gives
 * for mmdetection's formula, whose negative branch is a |p - y|^gamma
 * BCE(x, y): y > 0: BCE + y (softplus(-x) - softplus(x));
 * y = 0: a p^gamma (softplus(-x) - softplus(x) - gamma softplus(x) / p),
 * the last term from |p - y|^gamma (softplus(x) / p -> 1 as p -> 0). */
ST_INLINE vd st_vfl_dtarget(vd x, vd y, double a, double gamma, int lo)
{
    vd sp_pos, sp_neg, p, q;
    st_sigmoid(x, lo, &sp_pos, &sp_neg, &p, &q);
    const vd one = v_set(1.0), ny = v_sub(one, y);
    const vm pos = v_gt(y, v_zero());
    const vd ce = v_add(v_keep(pos, v_mul(y, sp_neg)), v_keep(v_ne(y, one), v_mul(ny, sp_pos)));
    const vd dce = v_sub(sp_neg, sp_pos);
    const vd ratio = v_sel(v_gt(p, v_zero()), v_div(sp_pos, p), one);
    const vd neg = v_fnma(v_set(gamma), ratio, dce);
    return v_sel(pos, v_fma(y, dce, ce), v_mul(v_mul(v_set(a), st_pow(p, gamma, lo)), neg));
}

#endif /* FOCAL_STAGE_VFL_H */
