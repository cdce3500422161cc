/* Gather-by-target: what each position's target, weight and alpha make of
 * the formulas, and the multipliers of its loss and gradient. */
#ifndef FOCAL_STAGE_GATHER_H
#define FOCAL_STAGE_GATHER_H

#include "plan.h"
#include "stages/stage.h"

/* Index-target lanes that count: inside the step, and not ignore_index. */
ST_INLINE vm st_kept(const focal_plan *P, vm lanes, vi t)
{
    return P->has_ignore ? m_andnot(lanes, vi_eq(t, vi_set(P->ignore))) : lanes;
}

/* Softmax, index targets: alpha of the target class (1 without alpha),
 * also under label smoothing, as torch's cross_entropy(weight=) weighs a
 * position. Lanes outside `kept` are not read. */
ST_INLINE vd st_alpha_target(const focal_plan *P, vi t, vm kept)
{
    if (P->alpha_v != NULL)
        return v_gather(P->alpha_v, t, kept);
    return v_set(P->alpha_s);
}

/* w v where w is not 0, and 0 where it is: a zero weight (or target
 * coefficient) adds nothing, even where v is infinite or NaN-making. */
ST_INLINE vd st_weigh(vd w, vd v)
{
    return v_keep(v_ne(w, v_zero()), v_mul(w, v));
}

/* alpha_c of one class (softmax target distributions). */
ST_INLINE double st_alpha_class(const focal_plan *P, int64_t j)
{
    return P->alpha_v != NULL ? P->alpha_v[j] : P->alpha_s;
}

/* Label smoothing of a dense target: y (1 - ls) + spread, spread = ls / c
 * (softmax) or ls / 2 (sigmoid). */
ST_INLINE vd st_smooth(const focal_plan *P, vd y, double spread)
{
    return P->smoothed ? v_fma(y, v_set(1.0 - P->ls), v_set(spread)) : y;
}

/* Sigmoid: alpha_t = a y + (1 - a)(1 - y) for the class's alpha a, as
 * a1 y + a0 (1 - y) (a0 = alpha_one - a: see focal_plan); without alpha,
 * 1. */
ST_INLINE void st_sigmoid_alpha_class(const focal_plan *P, int64_t j, double *a1, double *a0)
{
    if (P->alpha_kind == FOCAL_ALPHA_NONE) {
        *a1 = *a0 = 1.0;
        return;
    }
    const double a = P->alpha_v != NULL ? P->alpha_v[j] : P->alpha_s;
    *a1 = a;
    *a0 = P->alpha_one - a;
}

ST_INLINE vd st_sigmoid_alpha(vd a1, vd a0, vd y)
{
    return v_fma(a1, y, v_mul(a0, v_sub(v_set(1.0), y)));
}

/* The gradient multiplier of a position (or element) whose loss is lw
 * times its per-class sum: lw times upstream / denominator (reduced) or
 * times its own upstream value `up` (NONE). Under a tiny denominator the
 * product lw upstream is divided instead, so that it stays finite where
 * 1 / denominator would not. */
ST_INLINE vd st_grad_mult(const focal_plan *P, vd lw, vd up)
{
    if (P->tiny)
        return v_div(v_mul(lw, v_set(P->upstream)), v_set(P->denominator));
    return v_mul(v_mul(lw, v_set(P->factor)), up);
}

#endif /* FOCAL_STAGE_GATHER_H */
