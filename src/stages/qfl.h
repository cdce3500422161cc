/* Quality Focal Loss (GFL, Li et al. 2020; mmdetection's
 * quality_focal_loss) for one sigmoid-mode element, without alpha. */
#ifndef FOCAL_STAGE_QFL_H
#define FOCAL_STAGE_QFL_H

#include "stages/log_sigmoid.h"
#include "stages/modulate.h"

/* loss = BCE(x, y) |y - p|^gamma, gamma 0 or >= 1 (the plan refuses
 * others), d = p - y formed as p (1 - y) - y (1 - p) without cancelling:
 *   d/dx = d |d|^gamma + BCE gamma sign(d) |d|^(gamma - 1) p (1 - p)
 * with sign(0) = 0 (torch's abs). *bce and *dabs receive BCE and d for the
 * target derivative. */
ST_INLINE void st_qfl(vd x, vd y, double gamma, int lo, vd *loss, vd *grad, vd *bce, vd *dabs)
{
    vd sp_pos, sp_neg, p, q;
    st_sigmoid(x, lo, &sp_pos, &sp_neg, &p, &q);
    const vd one = v_set(1.0), ny = v_sub(one, y);
    const vd ce = v_add(v_keep(v_ne(y, v_zero()), v_mul(y, sp_neg)), v_keep(v_ne(y, one), v_mul(ny, sp_pos)));
    const vd d = v_fnma(y, q, v_mul(p, ny));
    *bce = ce;
    *dabs = d;
    if (gamma == 0.0) {
        *loss = ce;
        *grad = d;
        return;
    }
    const vd ad = v_abs(d);
    const vd f1 = st_pow(ad, gamma - 1.0, lo);      /* |d|^(gamma - 1) */
    const vd sgn = v_sel(v_gt(d, v_zero()), one, v_sel(v_lt(d, v_zero()), v_set(-1.0), v_zero()));
    const vd fg = v_mul(ad, f1);                    /* |d|^gamma */
    *loss = v_mul(ce, fg);
    *grad = v_fma(d, fg, v_mul(v_mul(v_mul(ce, v_set(gamma)), v_mul(sgn, f1)), v_mul(p, q)));
}

/* d/dy of alpha_t(y) BCE |y - p|^gamma (alpha_t = a1 y + a0 (1 - y)):
 *   (a1 - a0) BCE |d|^gamma + alpha_t [(softplus(-x) - softplus(x)) |d|^gamma
 *   - BCE gamma sign(d) |d|^(gamma - 1)],  d = p - y. */
ST_INLINE vd st_qfl_dtarget(vd x, vd y, vd a1, vd a0, double gamma, int lo)
{
    vd loss, grad, ce, d;
    st_qfl(x, y, gamma, lo, &loss, &grad, &ce, &d);
    vd sp_pos, sp_neg, p, q;
    st_sigmoid(x, lo, &sp_pos, &sp_neg, &p, &q);
    const vd one = v_set(1.0);
    const vd ad = v_abs(d);
    vd fg = v_set(1.0), tail = v_zero();
    if (gamma != 0.0) {
        const vd f1 = st_pow(ad, gamma - 1.0, lo);
        const vd sgn = v_sel(v_gt(d, v_zero()), one, v_sel(v_lt(d, v_zero()), v_set(-1.0), v_zero()));
        fg = v_mul(ad, f1);
        tail = v_mul(v_mul(ce, v_set(gamma)), v_mul(sgn, f1));
    }
    const vd at = v_fma(a1, y, v_mul(a0, v_sub(one, y)));
    const vd inner = v_fnma(one, tail, v_mul(v_sub(sp_neg, sp_pos), fg));
    return v_fma(v_sub(a1, a0), loss, v_mul(at, inner));
}

#endif /* FOCAL_STAGE_QFL_H */
