/* The kernels, written once over the vector vocabulary and the stages.
 * A kernels_<isa>.c file includes its simd/vec_<isa>.h, then
 * kernels/kernels_isa.h, which includes this body once per storage type
 * with these macros defined:
 *
 *   STYPE        the storage type (float, double, uint16_t for the half
 *                types)
 *   SFX          the suffix of the instantiated names (f32, f64, bf16, f16)
 *   SDTYPE       its focal_dtype
 *   LO           1 where results are stored narrower than double
 *   S_LOAD(p) S_LOAD_PART(p, n, fill) S_STORE(p, v) S_STORE_PART(p, n, v)
 *   S_STREAM(p, v)
 *                the vocabulary's loads and stores of STYPE
 *
 * and undefines them at its end.
 *
 * Each kernel is a tile function of the driver (kernels.h). The loops here
 * only walk the layouts; every formula is a stage's. Gamma is a constant
 * of the specialised copies (KS_GAMMA), so that the common exponents are
 * products. */

#define KS_CAT2(a, b) a##_##b
#define KS_CAT(a, b) KS_CAT2(a, b)
#define K(name) KS_CAT(name, SFX)

/* A vector of n <= V_LANES values of the storage type. */
#define LD(p, n) ((n) == V_LANES ? S_LOAD(p) : S_LOAD_PART((p), (n), 0.0))
#define SV(p, n, v)                                                                                                \
    do {                                                                                                           \
        if ((n) == V_LANES)                                                                                        \
            S_STORE((p), (v));                                                                                     \
        else                                                                                                       \
            S_STORE_PART((p), (n), (v));                                                                           \
    } while (0)
/* A gradient vector: with plan->stream, a whole vector at a boundary of its
 * size is written with a non-temporal store (no read of a line that is
 * only overwritten); the kernels fence at the end of the tile. */
#define SVG(P, p, n, v)                                                                                            \
    do {                                                                                                           \
        if ((P)->stream && (n) == V_LANES && ((uintptr_t)(p) % (V_LANES * sizeof(STYPE))) == 0)                    \
            S_STREAM((p), (v));                                                                                    \
        else                                                                                                       \
            SV((p), (n), (v));                                                                                     \
    } while (0)
/* The same where consecutive stores go to different lines (a class-major
 * step's classes): only vectors that fill whole lines are streamed, as a
 * line's halves written far apart would each cost a partial write. */
#define SVG_LINE(P, p, n, v)                                                                                       \
    do {                                                                                                           \
        if (V_LANES * sizeof(STYPE) >= 64)                                                                         \
            SVG((P), (p), (n), (v));                                                                               \
        else                                                                                                       \
            SV((p), (n), (v));                                                                                     \
    } while (0)
/* A vector of doubles (scratch, alpha vectors). */
#define LDD(p, n) ((n) == V_LANES ? v_load(p) : v_load_part((p), (n), 0.0))
/* Probabilities input clipped at 2^-124 or more: p, 1 - p and their
 * means are in ST_QUOT's range: the quotients by them need no division. */
#define K_PROB_EST(P) ((P)->clip_lo >= ST_QUOT_MIN)

/* Calls BODY(gamma) with gamma a constant for the paper's exponent, 2,
 * where the power is a product; every other gamma goes through the
 * general copy (st_pow tests the other small integers at run time). */
#define KS_GAMMA(g, BODY)                                                                                          \
    do {                                                                                                           \
        if ((g) == 2.0)                                                                                            \
            BODY(2.0);                                                                                             \
        else                                                                                                       \
            BODY(g);                                                                                               \
    } while (0)

/* Where a tile's data is: class j of in-tile position s of the input at
 * x[j * stride + s] (class-major: planes in place, stride inner, or a
 * transposed tile, stride rows) or x[s * stride + j] (rows); the same
 * for the dense target y, the per-element upstream u, the gradient g and
 * the per-element loss o (sigmoid, NONE). pos0 is the flat index of the
 * tile's first position. */
typedef struct K(view) {
    const STYPE *x, *y, *u;
    STYPE *g, *o;
    int64_t stride;
    int64_t pos0;
} K(view);

/* Per-position data of the step at in-tile position s (n lanes): which
 * lanes count, their weights, and for index targets the targets. */
typedef struct K(step) {
    int64_t pos;
    int n;
    vm valid;
    vi t;
    vd w;
} K(step);

ST_INLINE void K(step_init)(const focal_plan *P, int64_t pos, int n, K(step) *st)
{
    st->pos = pos;
    st->n = n;
    const vm lanes = m_first(n);
    if (P->dense) {
        st->t = vi_set(-1);
        st->valid = lanes;
    } else {
        st->t = vi_load_part(P->a.target_index + pos, n, -1);
        st->valid = st_kept(P, lanes, st->t);
    }
    st->w = P->a.weight != NULL ? LD((const STYPE *)P->a.weight + pos, n) : v_set(1.0);
}

/* The upstream of a NONE backward at per-position index pos (softmax). */
ST_INLINE vd K(upstream_at)(const focal_plan *P, int64_t pos, int n)
{
    return P->up_each ? LD((const STYPE *)P->a.grad_out + pos, n) : v_set(1.0);
}

/* ======================================================================
 * Softmax, class-major: lanes across positions (focal_softmax_planes)
 * ====================================================================== */

/* The exponentials of one step into ev, with the other classes' mass R
 * and the target's e_t: e_j = exp(x_j) directly. */
ST_INLINE void K(planes_exps)(const K(view) *V, int64_t c, int64_t s, int n, vi t, vd *ev, vd *R, vd *et)
{
    vd r = v_zero(), e_t = v_zero();
    const STYPE *x = V->x + s;
    vi cj = vi_set(0);
    for (int64_t j = 0; j < c; j++, x += V->stride, cj = vi_add(cj, vi_set(1))) {
        /* Each class's run a few steps ahead: the hardware prefetchers do
         * not follow this many streams. */
        v_prefetch(x + 4 * V_LANES);
        const vd e = ST_EXP(LD(x, n), LO);
        const vm mj = vi_eq(t, cj);
        ev[j] = e;
        r = v_add(r, v_sel(mj, v_zero(), e));
        e_t = v_sel(mj, e, e_t);
    }
    *R = r;
    *et = e_t;
}

/* The largest logit of each lane of a step. */
ST_INLINE vd K(planes_max)(const K(view) *V, int64_t c, int64_t s, int n)
{
    vd mx = v_set(-__builtin_inf());
    const STYPE *x = V->x + s;
    for (int64_t j = 0; j < c; j++, x += V->stride)
        mx = v_max(mx, LD(x, n));
    return mx;
}

/* The lanes of `redo` again, relative to their maximum: e_j = exp(x_j -
 * max). Returns the target's logit relative to the maximum there. */
ST_INLINE vd K(planes_redo)(const K(view) *V, int64_t c, int64_t s, int n, vi t, vm redo, vd *ev, vd *R,
                            vd *et)
{
    const vd mx = K(planes_max)(V, c, s, n);
    vd r = v_zero(), e_t = v_zero(), x_t = v_zero();
    const STYPE *x = V->x + s;
    for (int64_t j = 0; j < c; j++, x += V->stride) {
        const vd xj = v_sub(LD(x, n), mx);
        const vd e = v_sel(redo, ST_EXP(xj, LO), ev[j]);
        const vm mj = vi_eq(t, vi_set(j));
        ev[j] = e;
        r = v_add(r, v_sel(mj, v_zero(), e));
        e_t = v_sel(mj, e, e_t);
        x_t = v_sel(mj, xj, x_t);
    }
    *R = v_sel(redo, r, *R);
    *et = v_sel(redo, e_t, *et);
    return x_t;
}

/* The loss of an index target's row from its p = p_t, q = 1 - p and
 * l = log p: FL weighted by w alpha_t, plus Poly-1's term weighted by w
 * only; added to acc and stored per element. lw = w alpha_t, k and pk the
 * two terms' derivatives for the gradient. */
ST_INLINE void K(index_term)(const focal_plan *P, const K(step) *st, vd p, vd q, vd l, double gamma, vd *acc,
                             vd *lw, vd *k, vd *pk)
{
    vd term;
    st_focal(p, q, l, gamma, LO, &term, k);
    *lw = v_mul(st->w, st_alpha_target(P, st->t, st->valid));
    vd lt = v_mul(*lw, term);
    *pk = v_zero();
    if (P->poly != 0.0) {
        vd pterm;
        st_poly_softmax(p, q, gamma, P->poly, LO, &pterm, pk);
        lt = v_fma(st->w, pterm, lt);
    }
    lt = v_keep(st->valid, lt);
    *acc = v_add(*acc, lt);
    if (P->out_each)
        SV((STYPE *)P->a.out + st->pos, st->n, lt);
}

/* Index targets, logits: the paper's FL. */
ST_INLINE void K(planes_index)(const focal_plan *P, const K(view) *V, const K(step) *st, int64_t s, vd *ev,
                               double gamma, vd *acc)
{
    const int64_t c = P->a.c;
    const int n = st->n;
    vd R, et;
    K(planes_exps)(V, c, s, n, st->t, ev, &R, &et);
    vd l, p, q;
    const vm redo = m_and(st->valid, m_not(st_softmax_direct_ok(et, v_add(et, R))));
    if (m_any(redo)) {
        const vd xst = K(planes_redo)(V, c, s, n, st->t, redo, ev, &R, &et);
        st_softmax_scaled(et, R, xst, LO, &l, &p, &q);
    } else {
        st_softmax_ratio(et, R, LO, &l, &p, &q);
    }
    vd lw, k, pk;
    K(index_term)(P, st, p, q, l, gamma, acc, &lw, &k, &pk);
    if (V->g == NULL)
        return;
    const vd up = K(upstream_at)(P, st->pos, n);
    vd G = v_mul(st_grad_mult(P, lw, up), k);
    if (P->poly != 0.0)
        G = v_fma(st_grad_mult(P, st->w, up), pk, G);
    G = v_keep(st->valid, G);
    /* rho = G / R is bounded once the exponentials are on the scale of
     * the row's maximum (e_t + R >= 1); on the direct scale a large
     * multiplier (a tiny denominator) over a small R can overflow it. */
    const vm far = m_and(v_ne(R, v_zero()), v_gt(v_abs(G), v_mul(R, v_set(ST_SOFTMAX_HUGE))));
    if (m_any(far))
        (void)K(planes_redo)(V, c, s, n, st->t, far, ev, &R, &et);
    const vd rho = v_keep(st->valid, st_softmax_rho(G, R)), nG = v_neg(G);
    STYPE *g = V->g + s;
    vi cj = vi_set(0);
    for (int64_t j = 0; j < c; j++, g += V->stride, cj = vi_add(cj, vi_set(1)))
        SVG_LINE(P, g, n, v_keep(st->valid, v_sel(vi_eq(st->t, cj), nG, v_mul(rho, ev[j]))));
}

/* The target distribution's weight of class j (y_j alpha_j) for this
 * step: dense targets smoothed, or an index target smoothed. */
ST_INLINE vd K(dist_coef)(const focal_plan *P, const K(view) *V, const K(step) *st, int64_t s, int64_t j)
{
    const double spread = P->ls / (double)P->a.c;
    vd y;
    if (P->dense)
        y = st_smooth(P, LD(V->y + j * V->stride + s, st->n), spread);
    else
        y = v_sel(vi_eq(st->t, vi_set(j)), v_set(P->y_pos), v_set(P->y_neg));
    return v_mul(y, v_set(st_alpha_class(P, j)));
}

/* Under a tiny denominator a target distribution is normalised per
 * position by its mass m = sum_j |y_j alpha_j| / alpha_scale, so that no
 * product of small numbers loses bits: the coefficients are divided by
 * alpha_scale m, and the position's loss and gradient multiplier are its
 * share w alpha_scale m / denominator (times upstream). Returns the
 * coefficients' divisor; *share receives the share. */
ST_INLINE vd K(dist_tiny)(const focal_plan *P, const K(view) *V, const K(step) *st, int64_t s, vd *share)
{
    vd m = v_zero();
    for (int64_t j = 0; j < P->a.c; j++)
        m = v_add(m, v_abs(v_div(K(dist_coef)(P, V, st, s, j), v_set(P->alpha_scale))));
    const vm some = v_gt(m, v_zero());
    *share = v_keep(some, v_div(v_mul(v_mul(st->w, v_set(P->alpha_scale)), m), v_set(P->denominator)));
    return v_sel(some, v_mul(m, v_set(P->alpha_scale)), v_set(1.0));
}

/* Target distributions (dense targets, or label smoothing), logits:
 * sum_j y_j alpha_j (1 - p_j)^gamma (-log p_j). The largest class a of a
 * position keeps its own forms (its 1 - p_a is the others' mass, never
 * 1 - p_a), every other has e_j <= S / 2. */
/* A target distribution's softmax in one step: the exponentials into ev,
 * the largest class a (first on ties) with its own forms (its 1 - p_a is
 * the others' mass Ra, never 1 - p_a), and what every other class's
 * forms need: S, 1 / S, log S and the exponentials' shift. */
typedef struct K(dist_stats) {
    vd S, inv_s, log_s, shift, emax, amax, Ra, la, pa, qa;
} K(dist_stats);

ST_INLINE void K(planes_dist_stats)(const K(view) *V, int64_t c, int64_t s, int n, vm valid, vd *ev,
                                    K(dist_stats) *D)
{
    vd S = v_zero(), emax = v_set(-1.0), amax = v_zero();
    const STYPE *x = V->x + s;
    for (int64_t j = 0; j < c; j++, x += V->stride) {
        const vd e = ST_EXP(LD(x, n), LO);
        ev[j] = e;
        S = v_add(S, e);
        const vm more = v_gt(e, emax);
        emax = v_sel(more, e, emax);
        amax = v_sel(more, v_set((double)j), amax);
    }
    vd shift = v_zero();
    const vm redo = m_and(valid, m_not(st_softmax_direct_ok(emax, S)));
    if (m_any(redo)) {
        shift = v_keep(redo, K(planes_max)(V, c, s, n));
        vd S2 = v_zero(), emax2 = v_set(-1.0), amax2 = v_zero();
        x = V->x + s;
        for (int64_t j = 0; j < c; j++, x += V->stride) {
            const vd e = v_sel(redo, ST_EXP(v_sub(LD(x, n), shift), LO), ev[j]);
            ev[j] = e;
            S2 = v_add(S2, e);
            const vm more = v_gt(e, emax2);
            emax2 = v_sel(more, e, emax2);
            amax2 = v_sel(more, v_set((double)j), amax2);
        }
        emax = emax2;
        amax = amax2;
    }
    /* The largest class's others, summed without it. */
    vd Ra = v_zero();
    for (int64_t j = 0; j < c; j++)
        Ra = v_add(Ra, v_sel(v_eq(amax, v_set((double)j)), v_zero(), ev[j]));
    D->S = v_add(Ra, emax);
    D->inv_s = v_div(v_set(1.0), D->S);
    D->log_s = ST_LOG(D->S, LO);
    D->shift = shift;
    D->emax = emax;
    D->amax = amax;
    D->Ra = Ra;
    st_softmax_ratio(emax, Ra, LO, &D->la, &D->pa, &D->qa);
}

/* Class j's log p, p, 1 - p and the others' mass (S - e_j, or Ra for the
 * largest class) from the step's statistics; x_j the class's logits. */
ST_INLINE void K(dist_class)(const K(dist_stats) *D, vm is_a, vd ej, vd xj, vd *l, vd *p, vd *q, vd *others)
{
    st_softmax_other(ej, D->S, D->inv_s, D->log_s, v_sub(xj, D->shift), l, p, q, others);
    *l = v_sel(is_a, D->la, *l);
    *p = v_sel(is_a, D->pa, *p);
    *q = v_sel(is_a, D->qa, *q);
    *others = v_sel(is_a, D->Ra, *others);
}

/* A class's share of the gradient's inner sums, d = k / (S - e_j) (0
 * where S - e_j is 0), k the class's coefficient (coef times st_focal's).
 * Where the power is a product it is coef (k / q) / S, with no division:
 * q is S - e_j over S, and the largest class's q its others' mass over S,
 * so both forms hold for every class. */
ST_INLINE vd K(dist_d)(vd p, vd q, vd l, vd coef, vm used, vd k, vd others, vd inv_s, double gamma)
{
    if (st_pow_is_product(gamma))
        return v_keep(used, v_mul(v_mul(coef, st_focal_k_over_q(p, q, l, gamma, LO)), inv_s));
    return v_keep(v_ne(others, v_zero()), v_div(k, others));
}

ST_INLINE void K(planes_dist)(const focal_plan *P, const K(view) *V, const K(step) *st, int64_t s, vd *ev,
                              vd *kv, vd *dv, double gamma, vd *acc)
{
    const int64_t c = P->a.c;
    const int n = st->n;
    K(dist_stats) D;
    K(planes_dist_stats)(V, c, s, n, st->valid, ev, &D);
    const vd amax = D.amax;
    vd share = v_zero(), norm = v_set(1.0);
    if (P->tiny)
        norm = K(dist_tiny)(P, V, st, s, &share);
    vd loss = v_zero(), kk = v_zero(), da = v_zero();
    const STYPE *x = V->x + s;
    for (int64_t j = 0; j < c; j++, x += V->stride) {
        const vm is_a = v_eq(amax, v_set((double)j));
        vd l, p, q, others;
        K(dist_class)(&D, is_a, ev[j], LD(x, n), &l, &p, &q, &others);
        vd a = K(dist_coef)(P, V, st, s, j);
        if (P->tiny)
            a = v_div(a, norm);
        vd term, k;
        st_focal(p, q, l, gamma, LO, &term, &k);
        /* A class of zero weight adds nothing, even where its term is
         * infinite (a -inf logit). */
        const vm used = v_ne(a, v_zero());
        loss = v_add(loss, st_weigh(a, term));
        k = st_weigh(a, k);
        const vd d = K(dist_d)(p, q, l, a, used, k, others, D.inv_s, gamma);
        kv[j] = k;
        dv[j] = d;
        kk = v_add(kk, v_sel(is_a, v_zero(), d));
        da = v_sel(is_a, d, da);
    }
    const vd mult = P->tiny ? share : st->w;
    const vd lt = v_keep(st->valid, v_mul(mult, loss));
    *acc = v_add(*acc, lt);
    if (P->out_each)
        SV((STYPE *)P->a.out + st->pos, n, lt);
    if (V->g == NULL)
        return;
    const vd gw = v_keep(st->valid, P->tiny ? v_mul(share, v_set(P->upstream))
                                            : st_grad_mult(P, st->w, K(upstream_at)(P, st->pos, n)));
    /* d loss / d x_j = e_j sum_{i != j} k_i / (S - e_i) - k_j, the largest
     * class's share kept apart so that no large term cancels. */
    STYPE *g = V->g + s;
    for (int64_t j = 0; j < c; j++, g += V->stride) {
        const vm is_a = v_eq(amax, v_set((double)j));
        const vd inner = v_sel(is_a, kk, v_add(v_sub(kk, dv[j]), da));
        SVG_LINE(P, g, n, v_keep(st->valid, v_mul(gw, v_sub(v_mul(ev[j], inner), kv[j]))));
    }
}

/* Probabilities input, index targets: only the target's entry is read and
 * has a gradient. */
ST_INLINE void K(planes_index_prob)(const focal_plan *P, const K(view) *V, const K(step) *st, int64_t s,
                                    double gamma, vd *acc)
{
    const int64_t c = P->a.c;
    const int n = st->n;
    vd xt = v_zero();
    const STYPE *x = V->x + s;
    for (int64_t j = 0; j < c; j++, x += V->stride)
        xt = v_sel(vi_eq(st->t, vi_set(j)), LD(x, n), xt);
    vm inside;
    const vd p = st_clip(xt, P->clip_lo, P->clip_hi, &inside);
    const vd q = v_sub(v_set(1.0), p), l = ST_LOG(p, LO);
    vd lw, k, pk;
    K(index_term)(P, st, p, q, l, gamma, acc, &lw, &k, &pk);
    (void)k;
    if (V->g == NULL)
        return;
    const vd up = K(upstream_at)(P, st->pos, n);
    vd dg = v_mul(st_grad_mult(P, lw, up), st_focal_dprob(p, q, l, gamma, K_PROB_EST(P), LO));
    if (P->poly != 0.0)
        dg = v_fma(st_grad_mult(P, st->w, up), st_poly_dprob(q, gamma, P->poly, LO), dg);
    const vd gt = v_keep(st->valid, st_clip_grad(xt, inside, dg));
    STYPE *g = V->g + s;
    for (int64_t j = 0; j < c; j++, g += V->stride)
        SV(g, n, v_keep(vi_eq(st->t, vi_set(j)), gt));
}

/* Probabilities input, target distributions: every class on its own. */
ST_INLINE void K(planes_dist_prob)(const focal_plan *P, const K(view) *V, const K(step) *st, int64_t s,
                                   double gamma, vd *acc)
{
    const int64_t c = P->a.c;
    const int n = st->n;
    vd share = v_zero(), norm = v_set(1.0);
    if (P->tiny)
        norm = K(dist_tiny)(P, V, st, s, &share);
    const vd gw = V->g == NULL ? v_zero()
                  : P->tiny    ? v_mul(share, v_set(P->upstream))
                               : st_grad_mult(P, st->w, K(upstream_at)(P, st->pos, n));
    vd loss = v_zero();
    const STYPE *x = V->x + s;
    STYPE *g = V->g != NULL ? V->g + s : NULL;
    for (int64_t j = 0; j < c; j++, x += V->stride) {
        vd a = K(dist_coef)(P, V, st, s, j);
        if (P->tiny)
            a = v_div(a, norm);
        const vd xj = LD(x, n);
        vm inside;
        const vd p = st_clip(xj, P->clip_lo, P->clip_hi, &inside);
        const vd q = v_sub(v_set(1.0), p), l = ST_LOG(p, LO);
        vd term, k;
        st_focal(p, q, l, gamma, LO, &term, &k);
        const vm used = v_ne(a, v_zero());
        loss = v_add(loss, st_weigh(a, term));
        if (g != NULL) {
            const vd gj = v_mul(v_mul(gw, a), st_focal_dprob(p, q, l, gamma, K_PROB_EST(P), LO));
            SV(g, n, v_keep(m_and(st->valid, used), st_clip_grad(xj, inside, gj)));
            g += V->stride;
        }
    }
    const vd lt = v_keep(st->valid, v_mul(P->tiny ? share : st->w, loss));
    *acc = v_add(*acc, lt);
    if (P->out_each)
        SV((STYPE *)P->a.out + st->pos, n, lt);
}

ST_INLINE void K(planes_step)(const focal_plan *P, const K(view) *V, int64_t s, int n, vd *ev, vd *kv, vd *dv,
                               double gamma, vd *sum)
{
    K(step) st;
    K(step_init)(P, V->pos0 + s, n, &st);
    const int dist = P->dense || P->smoothed;
    if (P->probabilities) {
        if (dist)
            K(planes_dist_prob)(P, V, &st, s, gamma, sum);
        else
            K(planes_index_prob)(P, V, &st, s, gamma, sum);
    } else if (dist) {
        K(planes_dist)(P, V, &st, s, ev, kv, dv, gamma, sum);
    } else {
        K(planes_index)(P, V, &st, s, ev, gamma, sum);
    }
}

ST_INLINE void K(softmax_planes_body)(const focal_plan *P, const focal_tile *T, void *scratch, focal_sums *acc,
                                      double gamma)
{
    const int64_t c = P->a.c, rows = T->rows;
    vd *ev = scratch, *kv = ev + c, *dv = kv + c;
    STYPE *tiles = (STYPE *)(dv + c);
    K(view) V = {.pos0 = T->pos0};
    if (P->a.inner > 1) {
        V.x = (const STYPE *)P->a.input + T->base;
        V.y = P->dense ? (const STYPE *)P->a.target_dense + T->base : NULL;
        V.g = P->want_grad ? (STYPE *)P->a.grad_input + T->base : NULL;
        V.stride = P->a.inner;
    } else {
        /* Rows of an (n, c) matrix: transposed into class-major tiles. */
        STYPE *xt = tiles, *yt = tiles + rows * c, *gt = tiles + 2 * rows * c;
        focal_transpose(SDTYPE, (const STYPE *)P->a.input + T->base, rows, c, c, xt, rows);
        if (P->dense)
            focal_transpose(SDTYPE, (const STYPE *)P->a.target_dense + T->base, rows, c, c, yt, rows);
        V.x = xt;
        V.y = yt;
        V.g = P->want_grad ? gt : NULL;
        V.stride = rows;
    }
    vd sum = v_zero();
    /* Whole steps, where every load and store is a full vector, then one
     * partial step. */
    int64_t s = 0;
    for (; s + V_LANES <= rows; s += V_LANES)
        K(planes_step)(P, &V, s, V_LANES, ev, kv, dv, gamma, &sum);
    if (s < rows)
        K(planes_step)(P, &V, s, (int)(rows - s), ev, kv, dv, gamma, &sum);
    if (P->a.inner == 1 && V.g != NULL)
        focal_transpose(SDTYPE, V.g, c, rows, rows, (STYPE *)P->a.grad_input + T->base, c);
    if (P->stream)
        v_stream_fence();
    acc->loss += v_hsum(sum);
}

/* ======================================================================
 * Softmax, rows of c contiguous classes: lanes across classes
 * ====================================================================== */

/* The lanes of classes j.. that are class t. */
ST_INLINE vm K(row_is)(int64_t j, int64_t t)
{
    return v_eq(v_add(v_iota(), v_set((double)j)), v_set((double)t));
}

/* One row's exponentials into e[]: exp(x_j - shift); returns their sum.
 * Whole vectors first, then one partial one (its missing lanes load -inf,
 * whose exponential is 0). With emax, the largest e_j and its first class
 * go to *emax, *amax. */
ST_INLINE double K(row_exps)(const STYPE *x, int64_t c, double shift, double *e, double *emax, int64_t *amax)
{
    vd s0 = v_zero(), s1 = v_zero(), mx = v_set(-1.0);
    const vd sh = v_set(shift);
    int64_t j = 0;
    for (; j + 2 * V_LANES <= c; j += 2 * V_LANES) {
        /* The next row's line at the same place: the hardware prefetchers
         * alone leave the loads waiting on memory. */
        v_prefetch(x + c + j);
        const vd v0 = ST_EXP(v_sub(S_LOAD(x + j), sh), LO);
        const vd v1 = ST_EXP(v_sub(S_LOAD(x + j + V_LANES), sh), LO);
        v_store(e + j, v0);
        v_store(e + j + V_LANES, v1);
        s0 = v_add(s0, v0);
        s1 = v_add(s1, v1);
        if (emax != NULL)
            mx = v_max(mx, v_max(v0, v1));
    }
    for (; j < c; j += V_LANES) {
        const int n = c - j < V_LANES ? (int)(c - j) : V_LANES;
        const vd v = ST_EXP(v_sub(S_LOAD_PART(x + j, n, -__builtin_inf()), sh), LO);
        v_store_part(e + j, n, v);
        s0 = v_add(s0, v);
        if (emax != NULL)
            mx = v_max(mx, v);
    }
    if (emax != NULL) {
        const double m = v_hmax(mx);
        int64_t a = 0;
        while (a < c && !(e[a] == m))
            a++;
        *emax = m;
        *amax = a < c ? a : 0;
    }
    return v_hsum(v_add(s0, s1));
}

ST_INLINE double K(row_max)(const STYPE *x, int64_t c)
{
    vd mx = v_set(-__builtin_inf());
    for (int64_t j = 0; j < c; j += V_LANES) {
        const int n = c - j < V_LANES ? (int)(c - j) : V_LANES;
        mx = v_max(mx, S_LOAD_PART(x + j, n, -__builtin_inf()));
    }
    return v_hmax(mx);
}

/* Sum of e_j over the classes other than a: where a holds more than a
 * quarter of the total, the total minus e_a would cancel. */
ST_INLINE double K(row_others)(const double *e, int64_t c, int64_t a, double total)
{
    if (e[a] <= 0.25 * total)
        return total - e[a];
    vd r = v_zero();
    for (int64_t j = 0; j < c; j += V_LANES) {
        const int n = c - j < V_LANES ? (int)(c - j) : V_LANES;
        r = v_add(r, v_sel(K(row_is)(j, a), v_zero(), LDD(e + j, n)));
    }
    return v_hsum(r);
}

/* g_j = rho e_j for a row. A gradient too large to stay in cache
 * (plan->stream) is written with non-temporal stores from the first
 * vector boundary on, so that its lines are not read before being
 * overwritten. */
ST_INLINE void K(row_scaled)(const focal_plan *P, STYPE *g, const double *e, int64_t c, vd rho)
{
    int64_t j = 0;
    if (P->stream) {
        const int64_t mis = (int64_t)(((uintptr_t)g / sizeof(STYPE)) % V_LANES);
        if (mis != 0) {
            j = V_LANES - mis < c ? V_LANES - mis : c;
            S_STORE_PART(g, (int)j, v_mul(rho, v_load_part(e, (int)j, 0.0)));
        }
        for (; j + V_LANES <= c; j += V_LANES)
            S_STREAM(g + j, v_mul(rho, v_load(e + j)));
    } else {
        for (; j + V_LANES <= c; j += V_LANES)
            S_STORE(g + j, v_mul(rho, v_load(e + j)));
    }
    if (j < c)
        S_STORE_PART(g + j, (int)(c - j), v_mul(rho, v_load_part(e + j, (int)(c - j), 0.0)));
}

/* A row's scalars through the stages, as one-lane-wide vectors. */
ST_INLINE double K(lane0)(vd v)
{
    double d[V_LANES];
    v_store(d, v);
    return d[0];
}

/* Per-row weight, alpha_t, kept flag, target: a one-row step. */
ST_INLINE void K(row_step)(const focal_plan *P, int64_t pos, int64_t *t, int *kept, double *w)
{
    *w = P->a.weight != NULL ? K(lane0)(S_LOAD_PART((const STYPE *)P->a.weight + pos, 1, 0.0)) : 1.0;
    *t = -1;
    *kept = 1;
    if (!P->dense) {
        *t = P->a.target_index[pos];
        *kept = !(P->has_ignore && *t == P->ignore);
    }
}

ST_INLINE double K(row_upstream)(const focal_plan *P, int64_t pos)
{
    return P->up_each ? K(lane0)(S_LOAD_PART((const STYPE *)P->a.grad_out + pos, 1, 0.0)) : 1.0;
}

ST_INLINE void K(row_store_out)(const focal_plan *P, int64_t pos, double v)
{
    if (P->out_each)
        S_STORE_PART((STYPE *)P->a.out + pos, 1, v_set(v));
}

ST_INLINE void K(row_zero)(STYPE *g, int64_t c)
{
    for (int64_t j = 0; j < c; j += V_LANES)
        SV(g + j, c - j < V_LANES ? (int)(c - j) : V_LANES, v_zero());
}

/* A row's target and weight (K(row_step)); 0 for a row that is not kept,
 * whose loss and gradient it has written as 0. */
ST_INLINE int K(row_begin)(const focal_plan *P, STYPE *g, int64_t pos, int64_t *t, double *w)
{
    int kept;
    K(row_step)(P, pos, t, &kept, w);
    if (!kept) {
        K(row_store_out)(P, pos, 0.0);
        if (g != NULL)
            K(row_zero)(g, P->a.c);
    }
    return kept;
}

/* Index targets, logits, one row. */
ST_INLINE double K(row_index)(const focal_plan *P, const STYPE *x, STYPE *g, int64_t pos, double *e, double gamma)
{
    const int64_t c = P->a.c;
    int64_t t;
    double w;
    if (!K(row_begin)(P, g, pos, &t, &w))
        return 0.0;
    double S = K(row_exps)(x, c, 0.0, e, NULL, NULL);
    double et = e[t], R = K(row_others)(e, c, t, S);
    vd l, p, q;
    if (!m_any(st_softmax_direct_ok(v_set(et), v_set(S)))) {
        const double m = K(row_max)(x, c);
        S = K(row_exps)(x, c, m, e, NULL, NULL);
        et = e[t];
        R = K(row_others)(e, c, t, S);
        const double xt = K(lane0)(S_LOAD_PART(x + t, 1, 0.0));
        st_softmax_scaled(v_set(et), v_set(R), v_set(xt - m), LO, &l, &p, &q);
    } else {
        st_softmax_ratio(v_set(et), v_set(R), LO, &l, &p, &q);
    }
    vd term, k, pterm = v_zero(), pk = v_zero();
    st_focal(p, q, l, gamma, LO, &term, &k);
    if (P->poly != 0.0)
        st_poly_softmax(p, q, gamma, P->poly, LO, &pterm, &pk);
    const double lw = w * (P->alpha_v != NULL ? P->alpha_v[t] : P->alpha_s);
    const double lt = lw * K(lane0)(term) + w * K(lane0)(pterm);
    K(row_store_out)(P, pos, lt);
    if (g == NULL)
        return lt;
    const vd up = v_set(K(row_upstream)(P, pos));
    vd G = v_mul(st_grad_mult(P, v_set(lw), up), k);
    if (P->poly != 0.0)
        G = v_fma(st_grad_mult(P, v_set(w), up), pk, G);
    /* As K(planes_index): rho on the scale of the maximum where it would
     * overflow on the direct one. */
    if (R != 0 && K(lane0)(v_abs(G)) > R * ST_SOFTMAX_HUGE) {
        S = K(row_exps)(x, c, K(row_max)(x, c), e, NULL, NULL);
        R = K(row_others)(e, c, t, S);
    }
    K(row_scaled)(P, g, e, c, st_softmax_rho(G, v_set(R)));
    S_STORE_PART(g + t, 1, v_neg(G));
    return lt;
}

/* The target distribution's weights of classes j.. of a row. */
ST_INLINE vd K(row_coef)(const focal_plan *P, const STYPE *y, int64_t t, int64_t j, int n)
{
    const double spread = P->ls / (double)P->a.c;
    vd yv;
    if (P->dense)
        yv = st_smooth(P, LD(y + j, n), spread);
    else if (t >= j && t - j < V_LANES)
        yv = v_sel(K(row_is)(j, t), v_set(P->y_pos), v_set(P->y_neg));
    else
        yv = v_set(P->y_neg);
    const vd a = P->alpha_v != NULL ? LDD(P->alpha_v + j, n) : v_set(P->alpha_s);
    return v_keep(m_first(n), v_mul(yv, a));
}

/* Tiny denominator: the row's normaliser and share (see K(dist_tiny)). */
ST_INLINE double K(row_tiny)(const focal_plan *P, const STYPE *y, int64_t t, double w, double *share)
{
    vd m = v_zero();
    for (int64_t j = 0; j < P->a.c; j += V_LANES) {
        const int n = P->a.c - j < V_LANES ? (int)(P->a.c - j) : V_LANES;
        m = v_add(m, v_abs(v_div(K(row_coef)(P, y, t, j, n), v_set(P->alpha_scale))));
    }
    const double mass = v_hsum(m);
    *share = mass > 0 ? w * P->alpha_scale * mass / P->denominator : 0.0;
    return mass > 0 ? mass * P->alpha_scale : 1.0;
}

/* A row's softmax statistics for a target distribution (see
 * K(planes_dist_stats)), as vectors of one value; *a the largest class. */
ST_INLINE void K(row_dist_stats)(const STYPE *x, int64_t c, double *e, K(dist_stats) *D, int64_t *a)
{
    double emax, shift = 0;
    double S = K(row_exps)(x, c, 0.0, e, &emax, a);
    if (!m_any(st_softmax_direct_ok(v_set(emax), v_set(S)))) {
        shift = K(row_max)(x, c);
        S = K(row_exps)(x, c, shift, e, &emax, a);
    }
    const double Ra = K(row_others)(e, c, *a, S);
    D->S = v_set(Ra + emax);
    D->inv_s = v_div(v_set(1.0), D->S);
    D->log_s = ST_LOG(D->S, LO);
    D->shift = v_set(shift);
    D->emax = v_set(emax);
    D->amax = v_set((double)*a);
    D->Ra = v_set(Ra);
    st_softmax_ratio(D->emax, D->Ra, LO, &D->la, &D->pa, &D->qa);
}

/* One vector of classes j.. of K(row_dist): its loss into *loss, the
 * gradient's k and d into kr, dr, the d of classes other than a into *kk.
 * has_a says whether the vector holds the largest class a (is_a its lane);
 * without it nothing is selected. */
ST_INLINE void K(row_dist_vector)(const focal_plan *P, const K(dist_stats) *D, vm is_a, int has_a, const STYPE *x,
                                  const STYPE *y, const double *e, int64_t t, int64_t j, int n, double norm,
                                  double gamma, vd *loss, vd *kk, double *kr, double *dr)
{
    vd l, p, q, others;
    if (has_a)
        K(dist_class)(D, is_a, LDD(e + j, n), LD(x + j, n), &l, &p, &q, &others);
    else
        st_softmax_other(LDD(e + j, n), D->S, D->inv_s, D->log_s, v_sub(LD(x + j, n), D->shift), &l, &p, &q,
                         &others);
    vd coef = K(row_coef)(P, y, t, j, n);
    if (P->tiny)
        coef = v_div(coef, v_set(norm));
    vd term, k;
    st_focal(p, q, l, gamma, LO, &term, &k);
    const vm used = v_ne(coef, v_zero());
    *loss = v_add(*loss, st_weigh(coef, term));
    k = st_weigh(coef, k);
    const vd d = K(dist_d)(p, q, l, coef, used, k, others, D->inv_s, gamma);
    if (n == V_LANES) {
        v_store(kr + j, k);
        v_store(dr + j, d);
    } else {
        v_store_part(kr + j, n, k);
        v_store_part(dr + j, n, d);
    }
    *kk = v_add(*kk, has_a ? v_sel(is_a, v_zero(), d) : d);
}

/* Target distributions, logits, one row (see K(planes_dist)). */
ST_INLINE double K(row_dist)(const focal_plan *P, const STYPE *x, const STYPE *y, STYPE *g, int64_t pos, double *e,
                             double *kr, double *dr, double gamma)
{
    const int64_t c = P->a.c;
    int64_t t;
    double w;
    if (!K(row_begin)(P, g, pos, &t, &w))
        return 0.0;
    int64_t a;
    K(dist_stats) D;
    K(row_dist_stats)(x, c, e, &D, &a);
    double share = 0, norm = 1;
    if (P->tiny)
        norm = K(row_tiny)(P, y, t, w, &share);
    vd loss = v_zero(), kk = v_zero();
    double da = 0;
    /* The vector holding the largest class a takes its forms by select;
     * every other vector has none of it (the same arithmetic per lane). */
    const int64_t ja = a - a % V_LANES;
    for (int64_t j = 0; j < c; j += V_LANES) {
        const int n = c - j < V_LANES ? (int)(c - j) : V_LANES;
        if (j == ja)
            K(row_dist_vector)(P, &D, K(row_is)(j, a), 1, x, y, e, t, j, n, norm, gamma, &loss, &kk, kr, dr);
        else
            K(row_dist_vector)(P, &D, m_first(0), 0, x, y, e, t, j, n, norm, gamma, &loss, &kk, kr, dr);
    }
    da = dr[a];
    const double mult = P->tiny ? share : w;
    const double lt = mult * v_hsum(loss);
    K(row_store_out)(P, pos, lt);
    if (g == NULL)
        return lt;
    const vd gw = P->tiny ? v_set(share * P->upstream) : st_grad_mult(P, v_set(w), v_set(K(row_upstream)(P, pos)));
    const vd vkk = v_set(v_hsum(kk)), vda = v_set(da);
    for (int64_t j = 0; j < c; j += V_LANES) {
        const int n = c - j < V_LANES ? (int)(c - j) : V_LANES;
        vd inner = v_add(v_sub(vkk, LDD(dr + j, n)), vda);
        if (j == ja)
            inner = v_sel(K(row_is)(j, a), vkk, inner);
        SV(g + j, n, v_mul(gw, v_sub(v_mul(LDD(e + j, n), inner), LDD(kr + j, n))));
    }
    return lt;
}

/* Probabilities input, one row, index targets or distributions. */
ST_INLINE double K(row_prob)(const focal_plan *P, const STYPE *x, const STYPE *y, STYPE *g, int64_t pos, double gamma)
{
    const int64_t c = P->a.c;
    int64_t t;
    double w;
    if (!K(row_begin)(P, g, pos, &t, &w))
        return 0.0;
    const int dist = P->dense || P->smoothed;
    if (!dist) {
        const vd xt = v_set(K(lane0)(S_LOAD_PART(x + t, 1, 0.0)));
        vm inside;
        const vd p = st_clip(xt, P->clip_lo, P->clip_hi, &inside);
        const vd q = v_sub(v_set(1.0), p), l = ST_LOG(p, LO);
        vd term, k, pterm = v_zero(), pk = v_zero();
        st_focal(p, q, l, gamma, LO, &term, &k);
        if (P->poly != 0.0)
            st_poly_softmax(p, q, gamma, P->poly, LO, &pterm, &pk);
        const double lw = w * (P->alpha_v != NULL ? P->alpha_v[t] : P->alpha_s);
        const double lt = lw * K(lane0)(term) + w * K(lane0)(pterm);
        K(row_store_out)(P, pos, lt);
        if (g != NULL) {
            const vd up = v_set(K(row_upstream)(P, pos));
            vd dg = v_mul(st_grad_mult(P, v_set(lw), up), st_focal_dprob(p, q, l, gamma, K_PROB_EST(P), LO));
            if (P->poly != 0.0)
                dg = v_fma(st_grad_mult(P, v_set(w), up), st_poly_dprob(q, gamma, P->poly, LO), dg);
            const vd gt = st_clip_grad(xt, inside, dg);
            for (int64_t j = 0; j < c; j += V_LANES) {
                const int n = c - j < V_LANES ? (int)(c - j) : V_LANES;
                SV(g + j, n, v_keep(K(row_is)(j, t), gt));
            }
        }
        return lt;
    }
    double share = 0, norm = 1;
    if (P->tiny)
        norm = K(row_tiny)(P, y, t, w, &share);
    const vd gw = g == NULL  ? v_zero()
                  : P->tiny ? v_set(share * P->upstream)
                            : st_grad_mult(P, v_set(w), v_set(K(row_upstream)(P, pos)));
    vd loss = v_zero();
    for (int64_t j = 0; j < c; j += V_LANES) {
        const int n = c - j < V_LANES ? (int)(c - j) : V_LANES;
        vd coef = K(row_coef)(P, y, t, j, n);
        if (P->tiny)
            coef = v_div(coef, v_set(norm));
        const vd xj = LD(x + j, n);
        vm inside;
        const vd p = st_clip(xj, P->clip_lo, P->clip_hi, &inside);
        const vd q = v_sub(v_set(1.0), p), l = ST_LOG(p, LO);
        vd term, k;
        st_focal(p, q, l, gamma, LO, &term, &k);
        const vm used = v_ne(coef, v_zero());
        loss = v_add(loss, st_weigh(coef, term));
        if (g != NULL)
            SV(g + j, n,
               v_keep(used, st_clip_grad(xj, inside, v_mul(v_mul(gw, coef), st_focal_dprob(p, q, l, gamma, K_PROB_EST(P), LO)))));
    }
    const double lt = (P->tiny ? share : w) * v_hsum(loss);
    K(row_store_out)(P, pos, lt);
    return lt;
}

ST_INLINE void K(softmax_rows_body)(const focal_plan *P, const focal_tile *T, void *scratch, focal_sums *acc,
                                    double gamma)
{
    const int64_t c = P->a.c, rows = T->rows;
    double *e = scratch, *kr = e + c, *dr = kr + c;
    STYPE *tiles = (STYPE *)(dr + c);
    const STYPE *x, *y = NULL;
    STYPE *g = NULL;
    if (P->a.inner == 1) {
        x = (const STYPE *)P->a.input + T->base;
        y = P->dense ? (const STYPE *)P->a.target_dense + T->base : NULL;
        g = P->want_grad ? (STYPE *)P->a.grad_input + T->base : NULL;
    } else {
        /* Planes: transposed into rows of c. */
        STYPE *xt = tiles, *yt = tiles + rows * c, *gt = tiles + 2 * rows * c;
        focal_transpose(SDTYPE, (const STYPE *)P->a.input + T->base, c, rows, P->a.inner, xt, c);
        if (P->dense)
            focal_transpose(SDTYPE, (const STYPE *)P->a.target_dense + T->base, c, rows, P->a.inner, yt, c);
        x = xt;
        y = P->dense ? yt : NULL;
        g = P->want_grad ? gt : NULL;
    }
    const int dist = P->dense || P->smoothed;
    double sum = 0;
    for (int64_t r = 0; r < rows; r++) {
        const int64_t pos = T->pos0 + r;
        const STYPE *xr = x + r * c, *yr = y != NULL ? y + r * c : NULL;
        STYPE *gr = g != NULL ? g + r * c : NULL;
        if (P->probabilities)
            sum += K(row_prob)(P, xr, yr, gr, pos, gamma);
        else if (dist)
            sum += K(row_dist)(P, xr, yr, gr, pos, e, kr, dr, gamma);
        else
            sum += K(row_index)(P, xr, gr, pos, e, gamma);
    }
    if (P->a.inner > 1 && g != NULL)
        focal_transpose(SDTYPE, g, rows, c, c, (STYPE *)P->a.grad_input + T->base, P->a.inner);
    if (P->stream)
        v_stream_fence();
    acc->loss += sum;
}

static void K(softmax)(const focal_plan *plan, const focal_tile *T, void *scratch, focal_sums *acc)
{
    /* A private copy of the plan: the compiler may then keep its fields in
     * registers across the stores to the outputs, which could otherwise
     * alias it. */
    const focal_plan copy = *plan, *P = &copy;
#define KS_PLANES(G) K(softmax_planes_body)(P, T, scratch, acc, (G))
#define KS_ROWS(G) K(softmax_rows_body)(P, T, scratch, acc, (G))
    if (focal_softmax_planes(P->a.c, P->a.inner))
        KS_GAMMA(P->gamma, KS_PLANES);
    else
        KS_GAMMA(P->gamma, KS_ROWS);
#undef KS_PLANES
#undef KS_ROWS
}

/* ======================================================================
 * Sigmoid: every element its own binary problem
 * ====================================================================== */

#ifndef KS_FORMS
#define KS_FORMS
/* The sigmoid element forms: torchvision's from logits (hard and soft
 * targets) and from probabilities, FL*, the split form from logits and
 * from probabilities. */
enum { KS_FL = 0, KS_FL_PROB = 1, KS_FL_STAR = 2, KS_SPLIT = 3, KS_SPLIT_PROB = 4, KS_QFL = 5, KS_VFL = 6, KS_ASL = 7 };
#endif

/* The settings a sigmoid tile branches on, as bits: compile-time
 * constants in the kernel's common specialisations (K(sigmoid)), a
 * runtime value in its general copy. */
#ifndef KS_SIG_FLAGS
#define KS_SIG_FLAGS
enum {
    SF_DENSE = 1,     /* dense targets (else index targets) */
    SF_GRAD = 2,      /* the gradient is written */
    SF_OUT = 4,       /* out holds a value per element (NONE) */
    SF_UP = 8,        /* grad_out holds a value per element (NONE backward) */
    SF_W = 16,        /* position weights */
    SF_AVEC = 32,     /* a per-class alpha */
    SF_ALPHA = 64,    /* any alpha */
    SF_TINY = 128,    /* a tiny denominator (gather.h) */
    SF_SMOOTH = 256,  /* label smoothing */
    SF_STREAM = 512,  /* non-temporal gradient stores */
    SF_IGNORE = 1024, /* index targets with an ignore_index */
    SF_PW = 2048      /* a pos_weight vector */
};
#endif

ST_INLINE int K(sig_form)(const focal_plan *P)
{
    switch (P->variant) {
    case FOCAL_VARIANT_FL_STAR:
        return KS_FL_STAR;
    case FOCAL_VARIANT_QFL:
        return KS_QFL;
    case FOCAL_VARIANT_VFL:
        return KS_VFL;
    case FOCAL_VARIANT_ASL:
        return KS_ASL;
    default:
        break;
    }
    if (P->split)
        return P->probabilities ? KS_SPLIT_PROB : KS_SPLIT;
    return P->probabilities ? KS_FL_PROB : KS_FL;
}

ST_INLINE unsigned K(sig_flags)(const focal_plan *P)
{
    return (P->dense ? SF_DENSE : 0) | (P->want_grad ? SF_GRAD : 0) | (P->out_each ? SF_OUT : 0) |
           (P->up_each ? SF_UP : 0) | (P->a.weight != NULL ? SF_W : 0) | (P->alpha_v != NULL ? SF_AVEC : 0) |
           (P->alpha_kind != FOCAL_ALPHA_NONE ? SF_ALPHA : 0) | (P->tiny ? SF_TINY : 0) |
           (P->smoothed ? SF_SMOOTH : 0) | (P->stream ? SF_STREAM : 0) |
           (!P->dense && P->has_ignore ? SF_IGNORE : 0) | (P->pos_weight != NULL ? SF_PW : 0);
}

/* One vector's alpha-weighted losses and derivatives. a1 / a0 are the
 * class's alpha and 1 - alpha (1 and 1 without alpha), pw its pos_weight
 * (1 without). For targets all 0 or 1 every logits form is torchvision's
 * hard one with the weight a1 pw (positive) or a0 (negative); otherwise
 * torchvision's weighs the whole loss by alpha_t = a1 y + a0 (1 - y) and
 * the split form each part by its own. */
ST_INLINE void K(sig_elements)(const focal_plan *P, const unsigned fl, int form, vd x, vd y, vd a1, vd a0, vd pw,
                               vm valid, double gamma, vd *loss, vd *grad)
{
    const int weighted = (fl & (SF_ALPHA | SF_PW)) != 0;
    if (form == KS_FL || form == KS_SPLIT) {
        /* Index targets without smoothing are 0 or 1; other vectors whose
         * targets all are take the hard form too. */
        int hard = !(fl & (SF_DENSE | SF_SMOOTH));
        if (!hard)
            hard = m_all(m_or(m_or(v_eq(y, v_zero()), v_eq(y, v_set(1.0))), m_not(valid)));
        if (hard) {
            const vd at = weighted ? st_sigmoid_alpha((fl & SF_PW) ? v_mul(a1, pw) : a1, a0, y) : v_set(1.0);
            st_fl_hard(x, y, at, gamma, P->poly, LO, loss, grad);
            return;
        }
    }
    const vd at = (fl & SF_ALPHA) ? st_sigmoid_alpha(a1, a0, y) : v_set(1.0);
    vm inside = m_true();
    vd p = x;
    if (form == KS_FL_PROB || form == KS_SPLIT_PROB)
        p = st_clip(x, P->clip_lo, P->clip_hi, &inside);
    switch (form) {
    case KS_SPLIT:
    case KS_SPLIT_PROB: {
        vd lp, ln, gp, gn;
        if (form == KS_SPLIT)
            st_fl_split(x, y, gamma, LO, &lp, &ln, &gp, &gn);
        else
            st_fl_split_prob(p, y, gamma, K_PROB_EST(P), LO, &lp, &ln, &gp, &gn);
        const vd A1 = (fl & SF_PW) ? v_mul(a1, pw) : a1;
        *loss = v_fma(A1, lp, v_mul(a0, ln));
        *grad = v_fma(A1, gp, v_mul(a0, gn));
        break;
    }
    case KS_FL_STAR:
        st_fl_star(x, y, gamma, P->beta, LO, loss, grad);
        *loss = v_mul(at, *loss);
        *grad = v_mul(at, *grad);
        break;
    case KS_FL_PROB:
        st_fl_prob(p, y, pw, at, gamma, P->poly, K_PROB_EST(P), LO, loss, grad);
        break;
    case KS_QFL: {
        vd ce, d;
        st_qfl(x, y, gamma, LO, loss, grad, &ce, &d);
        *loss = v_mul(at, *loss);
        *grad = v_mul(at, *grad);
        break;
    }
    case KS_VFL:
        /* VFL weighs only its negatives, by the scalar alpha. */
        st_vfl(x, y, P->alpha_kind == FOCAL_ALPHA_SCALAR ? P->alpha_s : 1.0, gamma, LO, loss, grad);
        break;
    case KS_ASL:
        /* Most vectors of a multi-label problem hold negatives only. */
        if (P->clip > 0 && m_all(m_or(v_eq(y, v_zero()), m_not(valid)))) {
            /* Every logit below the plan's asl_dead: p is below the clip
             * in every lane, and so the results are 0 (st_asl_negatives'
             * bits; a NaN is not below). */
            if (m_all(v_lt(x, v_set(P->asl_dead)))) {
                *loss = v_zero();
                *grad = v_zero();
            } else {
                st_asl_negatives(x, y, P->gamma_neg, P->clip, LO, loss, grad);
            }
        } else
            st_asl(x, y, gamma, P->gamma_neg, P->clip, LO, loss, grad);
        *loss = v_mul(at, *loss);
        *grad = v_mul(at, *grad);
        break;
    default:
        st_fl_soft(x, y, pw, at, gamma, P->poly, LO, loss, grad);
        break;
    }
    if (form == KS_FL_PROB || form == KS_SPLIT_PROB)
        *grad = st_clip_grad(x, inside, *grad);
}

/* One vector of n elements at flat index at: logits (or probabilities) x,
 * targets y, the class's (or classes') alpha a1 / a0 and pos_weight pw,
 * the lanes that count, weights w and gradient multipliers gw. Adds w
 * alpha_t loss to *acc and writes it (NONE) and the gradient. */
ST_INLINE void K(sig_vector)(const focal_plan *P, const unsigned fl, int form, double gamma, int64_t at, vd x, vd y,
                             vd a1, vd a0, vd pw, vm valid, vd w, vd gw, int n, vd *acc)
{
    /* Only partial vectors and ignored positions need their lanes masked. */
    const int masked = n < V_LANES || (fl & SF_IGNORE);
    vd loss, grad;
    K(sig_elements)(P, fl, form, x, y, a1, a0, pw, valid, gamma, &loss, &grad);
    vd lt = (fl & SF_W) ? v_mul(w, loss) : loss;
    if (masked)
        lt = v_keep(valid, lt);
    *acc = v_add(*acc, lt);
    if (fl & SF_OUT)
        SV((STYPE *)P->a.out + at, n, lt);
    if (fl & SF_GRAD) {
        /* Under a tiny denominator the element's w alpha_t upstream is
         * formed first and divided after: 1 / denominator may overflow. */
        vd gv = (fl & SF_TINY) ? v_div(v_mul(gw, grad), v_set(P->denominator)) : v_mul(gw, grad);
        if (masked)
            gv = v_keep(valid, gv);
        STYPE *g = (STYPE *)P->a.grad_input + at;
        if ((fl & SF_STREAM) && n == V_LANES && ((uintptr_t)g % (V_LANES * sizeof(STYPE))) == 0)
            S_STREAM(g, gv);
        else
            SV(g, n, gv);
    }
}

/* The gradient multiplier of a position's elements, before any
 * per-element upstream (w upstream under a tiny denominator, which
 * K(sig_vector) divides by after the element's alpha_t multiplied it). */
ST_INLINE vd K(sig_mult)(const focal_plan *P, const unsigned fl, vd w)
{
    if (!(fl & SF_GRAD))
        return v_zero();
    if (fl & SF_TINY)
        return v_mul(w, v_set(P->upstream));
    return v_mul(w, v_set(P->factor));
}

/* The target of class j for a vector: dense (smoothed), or whether the
 * index target is j. */
ST_INLINE vd K(sig_target)(const focal_plan *P, const unsigned fl, int64_t at, vm is_j, int n)
{
    if (fl & SF_DENSE) {
        const vd y = LD((const STYPE *)P->a.target_dense + at, n);
        return (fl & SF_SMOOTH) ? v_fma(y, v_set(1.0 - P->ls), v_set(P->ls / 2)) : y;
    }
    return v_sel(is_j, v_set(P->y_pos), v_set(P->y_neg));
}

/* Planes (inner > 1): lanes across the positions of one class. */
ST_INLINE void K(sig_plane_step)(const focal_plan *P, const unsigned fl, int form, double gamma, int64_t j, vd a1,
                                 vd a0, vd pw, int64_t pos, int64_t at, int n, vd *acc)
{
    /* A few lines ahead in the inputs' streams. */
    v_prefetch((const STYPE *)P->a.input + at + 256 / sizeof(STYPE));
    if (fl & SF_DENSE)
        v_prefetch((const STYPE *)P->a.target_dense + at + 256 / sizeof(STYPE));
    vi t = vi_set(-1);
    vm valid = m_first(n);
    if (!(fl & SF_DENSE)) {
        t = vi_load_part(P->a.target_index + pos, n, -1);
        if (fl & SF_IGNORE)
            valid = m_andnot(valid, vi_eq(t, vi_set(P->ignore)));
    }
    const vd w = (fl & SF_W) ? LD((const STYPE *)P->a.weight + pos, n) : v_set(1.0);
    const vd x = LD((const STYPE *)P->a.input + at, n);
    const vd y = K(sig_target)(P, fl, at, vi_eq(t, vi_set(j)), n);
    vd gw = K(sig_mult)(P, fl, w);
    if (fl & SF_UP)
        gw = v_mul(gw, LD((const STYPE *)P->a.grad_out + at, n));
    K(sig_vector)(P, fl, form, gamma, at, x, y, a1, a0, pw, valid, w, gw, n, acc);
}

ST_INLINE void K(sig_planes)(const focal_plan *P, const unsigned fl, const focal_tile *T, int form, double gamma,
                             vd *acc)
{
    const int64_t c = P->a.c, inner = P->a.inner, rows = T->rows;
    for (int64_t j = 0; j < c; j++) {
        double a1, a0;
        st_sigmoid_alpha_class(P, j, &a1, &a0);
        const vd va1 = v_set(a1), va0 = v_set(a0), pw = v_set((fl & SF_PW) ? P->pos_weight[j] : 1.0);
        const int64_t e0 = T->base + j * inner;
        int64_t s = 0;
        for (; s + V_LANES <= rows; s += V_LANES)
            K(sig_plane_step)(P, fl, form, gamma, j, va1, va0, pw, T->pos0 + s, e0 + s, V_LANES, acc);
        if (s < rows)
            K(sig_plane_step)(P, fl, form, gamma, j, va1, va0, pw, T->pos0 + s, e0 + s, (int)(rows - s), acc);
    }
}

/* Rows (inner == 1): lanes across the classes of one position. */
ST_INLINE void K(sig_row_step)(const focal_plan *P, const unsigned fl, int form, double gamma, int64_t t, vd w,
                               vd gw0, vd a1s, vd a0s, int64_t j, int64_t at, int n, vd *acc)
{
    v_prefetch((const STYPE *)P->a.input + at + 256 / sizeof(STYPE));
    if (fl & SF_DENSE)
        v_prefetch((const STYPE *)P->a.target_dense + at + 256 / sizeof(STYPE));
    const vd x = LD((const STYPE *)P->a.input + at, n);
    const vd y = K(sig_target)(P, fl, at, K(row_is)(j, t), n);
    vd a1 = a1s, a0 = a0s;
    if (fl & SF_AVEC) {
        a1 = LDD(P->alpha_v + j, n);
        a0 = v_sub(v_set(P->alpha_one), a1);
    }
    const vd pw = (fl & SF_PW) ? LDD(P->pos_weight + j, n) : v_set(1.0);
    const vd gw = (fl & SF_UP) ? v_mul(gw0, LD((const STYPE *)P->a.grad_out + at, n)) : gw0;
    K(sig_vector)(P, fl, form, gamma, at, x, y, a1, a0, pw, m_first(n), w, gw, n, acc);
}

ST_INLINE void K(sig_rows)(const focal_plan *P, const unsigned fl, const focal_tile *T, int form, double gamma,
                           vd *acc)
{
    const int64_t c = P->a.c, rows = T->rows;
    double a1s = 1, a0s = 1;
    if (!(fl & SF_AVEC))
        st_sigmoid_alpha_class(P, 0, &a1s, &a0s);
    const vd va1 = v_set(a1s), va0 = v_set(a0s);
    for (int64_t r = 0; r < rows; r++) {
        const int64_t pos = T->pos0 + r, base = T->base + r * c;
        int64_t t = -1;
        if (!(fl & SF_DENSE)) {
            t = P->a.target_index[pos];
            if ((fl & SF_IGNORE) && t == P->ignore) {
                /* An ignored position: 0 loss, 0 gradient. */
                if (fl & SF_OUT)
                    K(row_zero)((STYPE *)P->a.out + base, c);
                if (fl & SF_GRAD)
                    K(row_zero)((STYPE *)P->a.grad_input + base, c);
                continue;
            }
        }
        const vd w = (fl & SF_W) ? v_set(K(lane0)(S_LOAD_PART((const STYPE *)P->a.weight + pos, 1, 0.0)))
                                 : v_set(1.0);
        const vd gw0 = K(sig_mult)(P, fl, w);
        int64_t j = 0;
        for (; j + V_LANES <= c; j += V_LANES)
            K(sig_row_step)(P, fl, form, gamma, t, w, gw0, va1, va0, j, base + j, V_LANES, acc);
        if (j < c)
            K(sig_row_step)(P, fl, form, gamma, t, w, gw0, va1, va0, j, base + j, (int)(c - j), acc);
    }
}

ST_INLINE void K(sigmoid_body)(const focal_plan *P, const unsigned fl, const focal_tile *T, focal_sums *acc, int form,
                               double gamma)
{
    vd sum = v_zero();
    if (P->a.inner > 1)
        K(sig_planes)(P, fl, T, form, gamma, &sum);
    else
        K(sig_rows)(P, fl, T, form, gamma, &sum);
    if (fl & SF_STREAM)
        v_stream_fence();
    acc->loss += v_hsum(sum);
}

/* The focal loss from logits in its common training forms (targets of
 * either kind, alpha or none, the gradient of a reduced loss, streamed or
 * not; no weights, per-element outputs, smoothing, pos_weight or tiny
 * denominators) runs in copies where those settings are constants and
 * gamma 2 a product; every other call in the general copy, which tests
 * the same bits at run time. */
#define KS_SIG_FAST(X)                                                                                              \
    X(SF_GRAD) X(SF_DENSE | SF_GRAD) X(SF_GRAD | SF_ALPHA) X(SF_DENSE | SF_GRAD | SF_ALPHA) X(SF_GRAD | SF_STREAM)    \
    X(SF_DENSE | SF_GRAD | SF_STREAM) X(SF_GRAD | SF_ALPHA | SF_STREAM) X(SF_DENSE | SF_GRAD | SF_ALPHA | SF_STREAM)

static void K(sigmoid)(const focal_plan *plan, const focal_tile *T, void *scratch, focal_sums *acc)
{
    (void)scratch;
    const focal_plan copy = *plan, *P = &copy;   /* see K(softmax) */
    const int form = K(sig_form)(P);
    const unsigned fl = K(sig_flags)(P);
    if (form == KS_FL && P->poly == 0.0) {
        switch (fl) {
#define KS_SIG_CASE(F)                                                                                              \
    case (F):                                                                                                       \
        if (P->gamma == 2.0)                                                                                        \
            K(sigmoid_body)(P, (F), T, acc, KS_FL, 2.0);                                                           \
        else                                                                                                        \
            K(sigmoid_body)(P, (F), T, acc, KS_FL, P->gamma);                                                      \
        return;
            KS_SIG_FAST(KS_SIG_CASE)
#undef KS_SIG_CASE
        default:
            break;
        }
    }
#define KS_SIG(G) K(sigmoid_body)(P, fl, T, acc, form, (G))
    KS_GAMMA(P->gamma, KS_SIG);
#undef KS_SIG
}

/* ======================================================================
 * The gradient with respect to dense targets
 *
 * d/dy of the reduced loss L (plan.c, target_terms): tg_loss times the
 * position's weight (and, with NONE, the upstream value) times
 * d loss / dy, minus L times the derivative of a denominator that depends
 * on the targets; the difference is formed before tg_loss multiplies it,
 * so that two products each beyond the double range do not meet as
 * inf - inf. With label smoothing, y' = y (1 - ls) + spread and
 * d/dy = (1 - ls) d/dy'.
 * ====================================================================== */

/* A target-gradient entry as stored: divided by a tiny denominator last
 * (plan.c, target_terms). */
ST_INLINE vd K(target_last)(const focal_plan *P, vd g)
{
    return P->tiny ? v_div(g, v_set(P->denominator)) : g;
}

/* Softmax: loss = sum_c y'_c alpha_c (1 - p_c)^gamma (-log p_c), linear in
 * y: d/dy_c = (1 - ls) alpha_c term_c; WEIGHTED_MEAN's denominator
 * sum(w sum_c y'_c alpha_c) has w alpha_c (1 - ls). */
ST_INLINE vd K(sm_target_value)(const focal_plan *P, vd term, vd alpha, vd gmul)
{
    if (P->tg_den_kind == 1)
        term = v_sub(term, v_set(P->tg_share));
    return v_mul(gmul, v_mul(v_mul(v_set(1.0 - P->ls), alpha), term));
}

ST_INLINE void K(planes_target)(const focal_plan *P, const K(view) *V, const K(step) *st, int64_t s, vd *ev,
                                double gamma)
{
    const int64_t c = P->a.c;
    const int n = st->n;
    K(dist_stats) D = {0};
    if (!P->probabilities)
        K(planes_dist_stats)(V, c, s, n, st->valid, ev, &D);
    const vd up = K(upstream_at)(P, st->pos, n);
    const vd gmul = v_mul(v_mul(st->w, up), v_set(P->tg_loss));
    const STYPE *x = V->x + s;
    STYPE *g = V->g + s;
    for (int64_t j = 0; j < c; j++, x += V->stride, g += V->stride) {
        const vd xj = LD(x, n);
        vd l, p, q, others;
        if (P->probabilities) {
            vm inside;
            p = st_clip(xj, P->clip_lo, P->clip_hi, &inside);
            q = v_sub(v_set(1.0), p);
            l = ST_LOG(p, LO);
        } else {
            K(dist_class)(&D, v_eq(D.amax, v_set((double)j)), ev[j], xj, &l, &p, &q, &others);
        }
        vd term, k;
        st_focal(p, q, l, gamma, LO, &term, &k);
        SV(g, n, K(target_last)(P, K(sm_target_value)(P, term, v_set(st_alpha_class(P, j)), gmul)));
    }
}

ST_INLINE void K(row_target)(const focal_plan *P, const STYPE *x, STYPE *g, int64_t pos, double *e, double gamma)
{
    const int64_t c = P->a.c;
    int64_t t, a = 0;
    int kept;
    double w;
    K(row_step)(P, pos, &t, &kept, &w);
    K(dist_stats) D = {0};
    if (!P->probabilities)
        K(row_dist_stats)(x, c, e, &D, &a);
    const vd gmul = v_set(w * K(row_upstream)(P, pos) * P->tg_loss);
    for (int64_t j = 0; j < c; j += V_LANES) {
        const int n = c - j < V_LANES ? (int)(c - j) : V_LANES;
        const vd xj = LD(x + j, n);
        vd l, p, q, others;
        if (P->probabilities) {
            vm inside;
            p = st_clip(xj, P->clip_lo, P->clip_hi, &inside);
            q = v_sub(v_set(1.0), p);
            l = ST_LOG(p, LO);
        } else {
            K(dist_class)(&D, K(row_is)(j, a), LDD(e + j, n), xj, &l, &p, &q, &others);
        }
        vd term, k;
        st_focal(p, q, l, gamma, LO, &term, &k);
        const vd alpha = P->alpha_v != NULL ? LDD(P->alpha_v + j, n) : v_set(P->alpha_s);
        SV(g + j, n, K(target_last)(P, K(sm_target_value)(P, term, alpha, gmul)));
    }
}

/* Sigmoid: d/dy of one vector of elements (alpha and pos_weight within). */
ST_INLINE vd K(sig_dtarget)(const focal_plan *P, int form, vd x, vd y, vd a1, vd a0, vd pw, double gamma)
{
    switch (form) {
    case KS_FL_STAR:
        return st_fl_star_dtarget(x, y, a1, a0, gamma, P->beta, LO);
    case KS_QFL:
        return st_qfl_dtarget(x, y, a1, a0, gamma, LO);
    case KS_VFL:
        return st_vfl_dtarget(x, y, P->alpha_kind == FOCAL_ALPHA_SCALAR ? P->alpha_s : 1.0, gamma, LO);
    case KS_ASL:
        return st_asl_dtarget(x, y, a1, a0, gamma, P->gamma_neg, P->clip, LO);
    default:
        break;
    }
    vd p, q, ce_p, ce_q;
    if (form == KS_FL_PROB || form == KS_SPLIT_PROB) {
        vm inside;
        p = st_clip(x, P->clip_lo, P->clip_hi, &inside);
        q = v_sub(v_set(1.0), p);
        ce_p = v_neg(ST_LOG(p, LO));
        ce_q = v_neg(ST_LOG1P(v_neg(p), LO));
    } else {
        st_sigmoid(x, LO, &ce_q, &ce_p, &p, &q);
    }
    if (form == KS_SPLIT || form == KS_SPLIT_PROB) {
        /* Linear in y: A1 q^gamma ce_p - A0 p^gamma ce_q. */
        const vd A1 = v_mul(a1, pw);
        return v_fnma(v_mul(a0, st_pow(p, gamma, LO)), ce_q, v_mul(v_mul(A1, st_pow(q, gamma, LO)), ce_p));
    }
    vd d = st_fl_dtarget(p, q, ce_p, ce_q, y, pw, a1, a0, gamma, LO);
    if (P->poly != 0.0) {
        /* Poly-1's eps m^(gamma + 1): dm/dy = q - p. */
        vd term, dm;
        st_poly_sigmoid(p, q, y, gamma, P->poly, LO, &term, &dm);
        d = v_fma(dm, v_sub(q, p), d);
    }
    return d;
}

/* One vector of n elements at flat index at: grad_target there. */
ST_INLINE void K(sig_target_vector)(const focal_plan *P, int form, int64_t at, vd a1, vd a0, vd pw, vd w, vd up, int n,
                                    double gamma)
{
    const vd x = LD((const STYPE *)P->a.input + at, n);
    const vd y = st_smooth(P, LD((const STYPE *)P->a.target_dense + at, n), P->ls / 2);
    const double f = 1.0 - P->ls;
    vd dl = K(sig_dtarget)(P, form, x, y, a1, a0, pw, gamma);
    vd g;
    if (P->tg_den_kind == 2) {   /* the denominator's derivative: 1 an element */
        g = v_mul(v_set(P->tg_loss), v_sub(v_mul(v_mul(w, up), v_mul(v_set(f), dl)), v_set(P->tg_share)));
    } else {
        if (P->tg_den_kind == 1)   /* w (a1 - a0) (1 - ls) */
            dl = v_fnma(v_sub(a1, a0), v_set(P->tg_share), dl);
        g = v_mul(v_mul(v_mul(w, up), v_set(P->tg_loss * f)), dl);
    }
    SV((STYPE *)P->a.grad_target + at, n, K(target_last)(P, g));
}

ST_INLINE void K(sig_target_tile)(const focal_plan *P, const focal_tile *T, double gamma)
{
    const int form = K(sig_form)(P);
    const int64_t c = P->a.c, inner = P->a.inner, rows = T->rows;
    if (inner > 1) {
        for (int64_t j = 0; j < c; j++) {
            double a1, a0;
            st_sigmoid_alpha_class(P, j, &a1, &a0);
            const vd pw = v_set(P->pos_weight != NULL ? P->pos_weight[j] : 1.0);
            for (int64_t s = 0; s < rows; s += V_LANES) {
                const int n = rows - s < V_LANES ? (int)(rows - s) : V_LANES;
                const int64_t pos = T->pos0 + s, at = T->base + j * inner + s;
                const vd w = P->a.weight != NULL ? LD((const STYPE *)P->a.weight + pos, n) : v_set(1.0);
                const vd up = P->up_each ? LD((const STYPE *)P->a.grad_out + at, n) : v_set(1.0);
                K(sig_target_vector)(P, form, at, v_set(a1), v_set(a0), pw, w, up, n, gamma);
            }
        }
        return;
    }
    double a1s = 1, a0s = 1;
    if (P->alpha_v == NULL)
        st_sigmoid_alpha_class(P, 0, &a1s, &a0s);
    for (int64_t r = 0; r < rows; r++) {
        const int64_t pos = T->pos0 + r, base = T->base + r * c;
        const vd w = v_set(P->a.weight != NULL ? K(lane0)(S_LOAD_PART((const STYPE *)P->a.weight + pos, 1, 0.0)) : 1.0);
        for (int64_t j = 0; j < c; j += V_LANES) {
            const int n = c - j < V_LANES ? (int)(c - j) : V_LANES;
            vd a1 = v_set(a1s), a0 = v_set(a0s);
            if (P->alpha_v != NULL) {
                a1 = LDD(P->alpha_v + j, n);
                a0 = v_sub(v_set(P->alpha_one), a1);
            }
            const vd pw = P->pos_weight != NULL ? LDD(P->pos_weight + j, n) : v_set(1.0);
            const vd up = P->up_each ? LD((const STYPE *)P->a.grad_out + base + j, n) : v_set(1.0);
            K(sig_target_vector)(P, form, base + j, a1, a0, pw, w, up, n, gamma);
        }
    }
}

ST_INLINE void K(target_body)(const focal_plan *P, const focal_tile *T, void *scratch, double gamma)
{
    if (P->sigmoid) {
        K(sig_target_tile)(P, T, gamma);
        return;
    }
    const int64_t c = P->a.c, rows = T->rows;
    if (focal_softmax_planes(c, P->a.inner)) {
        vd *ev = scratch;
        STYPE *tiles = (STYPE *)(ev + 3 * c);
        K(view) V = {.pos0 = T->pos0};
        if (P->a.inner > 1) {
            V.x = (const STYPE *)P->a.input + T->base;
            V.g = (STYPE *)P->a.grad_target + T->base;
            V.stride = P->a.inner;
        } else {
            STYPE *xt = tiles, *gt = tiles + 2 * rows * c;
            focal_transpose(SDTYPE, (const STYPE *)P->a.input + T->base, rows, c, c, xt, rows);
            V.x = xt;
            V.g = gt;
            V.stride = rows;
        }
        for (int64_t s = 0; s < rows; s += V_LANES) {
            K(step) st;
            K(step_init)(P, T->pos0 + s, rows - s < V_LANES ? (int)(rows - s) : V_LANES, &st);
            K(planes_target)(P, &V, &st, s, ev, gamma);
        }
        if (P->a.inner == 1)
            focal_transpose(SDTYPE, V.g, c, rows, rows, (STYPE *)P->a.grad_target + T->base, c);
        return;
    }
    double *e = scratch;
    STYPE *tiles = (STYPE *)(e + 3 * c);
    const STYPE *x = (const STYPE *)P->a.input + T->base;
    STYPE *g = (STYPE *)P->a.grad_target + T->base;
    if (P->a.inner > 1) {
        STYPE *xt = tiles, *gt = tiles + 2 * rows * c;
        focal_transpose(SDTYPE, x, c, rows, P->a.inner, xt, c);
        x = xt;
        g = gt;
    }
    for (int64_t r = 0; r < rows; r++)
        K(row_target)(P, x + r * c, g + r * c, T->pos0 + r, e, gamma);
    if (P->a.inner > 1)
        focal_transpose(SDTYPE, g, rows, c, c, (STYPE *)P->a.grad_target + T->base, P->a.inner);
}

static void K(target_grad)(const focal_plan *plan, const focal_tile *T, void *scratch, focal_sums *acc)
{
    (void)acc;
    const focal_plan copy = *plan, *P = &copy;   /* see K(softmax) */
    K(target_body)(P, T, scratch, P->gamma);
}

/* ======================================================================
 * The pre-pass: targets and weights validated, the denominators' sums
 * ====================================================================== */

/* Names the first bad weight or index target among the n positions from
 * pos (weight before target, as a position is read). */
static void K(scan_report_positions)(const focal_plan *P, int64_t pos, int n, focal_sums *acc)
{
    const uint64_t limit = (uint64_t)(P->sigmoid ? P->a.c + 1 : P->a.c);
    for (int i = 0; i < n; i++) {
        if (P->a.weight != NULL) {
            const double w = K(lane0)(S_LOAD_PART((const STYPE *)P->a.weight + pos + i, 1, 0.0));
            if (!(w >= 0 && w <= 0x1.fffffffffffffp+1023)) {
                acc->status = FOCAL_ERROR_INVALID_WEIGHT;
                acc->bad_index = pos + i;
                acc->bad_value = w;
                return;
            }
        }
        if (!P->dense) {
            const int64_t t = P->a.target_index[pos + i];
            if (!(P->has_ignore && t == P->ignore) && !((uint64_t)t < limit)) {
                acc->status = FOCAL_ERROR_INVALID_TARGET;
                acc->bad_index = pos + i;
                acc->bad_class = t;
                return;
            }
        }
    }
}

/* Names the first dense target outside [0, 1] among len from flat index
 * at (there is one). */
static void K(scan_dense_report)(const focal_plan *P, int64_t at, int64_t len, focal_sums *acc)
{
    const STYPE *y = (const STYPE *)P->a.target_dense + at;
    for (int64_t k = 0; k < len; k++) {
        const double yk = K(lane0)(S_LOAD_PART(y + k, 1, 0.0));
        if (!(yk >= 0 && yk <= 1)) {
            acc->status = FOCAL_ERROR_INVALID_TARGET;
            acc->bad_index = at + k;
            acc->bad_value = yk;
            return;
        }
    }
}

/* Dense targets of one run of len elements from flat index at: checks
 * [0, 1], adds them to *sum. Returns 0, or 1 with the first bad one named
 * in acc. Whole vectors go in blocks whose range tests (false for NaN)
 * are combined and looked at once a block. */
static int K(scan_dense_run)(const focal_plan *P, int64_t at, int64_t len, vd *sum, focal_sums *acc)
{
    enum { BLOCK = 32 * V_LANES };
    const STYPE *y = (const STYPE *)P->a.target_dense + at;
    const vd zero = v_zero(), one = v_set(1.0);
    vd total = *sum;
    int64_t i = 0;
    while (len - i >= V_LANES) {
        const int64_t whole = (len - i) / V_LANES * V_LANES;
        const int64_t end = i + (whole < BLOCK ? whole : BLOCK);
        const int64_t start = i;
        vm ok = m_true();
        for (; i < end; i += V_LANES) {
            const vd v = S_LOAD(y + i);
            ok = m_and(ok, m_and(v_ge(v, zero), v_le(v, one)));
            total = v_add(total, v);
        }
        if (!m_all(ok)) {
            K(scan_dense_report)(P, at + start, end - start, acc);
            return 1;
        }
    }
    if (i < len) {
        const int n = (int)(len - i);
        const vd v = S_LOAD_PART(y + i, n, 0.0);
        const vm ok = m_and(v_ge(v, zero), v_le(v, one));
        if (!m_all(m_or(ok, m_not(m_first(n))))) {
            K(scan_dense_report)(P, at + i, n, acc);
            return 1;
        }
        total = v_add(total, v);
    }
    *sum = total;
    return 0;
}

/* sum_c alpha(y_c) of one class-vector of targets: softmax y alpha_c
 * (smoothed y), sigmoid alpha_t(y). */
ST_INLINE vd K(scan_alpha_of)(const focal_plan *P, vd y, vd a)
{
    if (P->sigmoid) {
        const vd ys = st_smooth(P, y, P->ls / 2);
        return P->alpha_kind == FOCAL_ALPHA_NONE ? v_set(1.0) : st_sigmoid_alpha(a, v_sub(v_set(P->alpha_one), a), ys);
    }
    return v_mul(st_smooth(P, y, P->ls / (double)P->a.c), a);
}

static void K(scan)(const focal_plan *plan, const focal_tile *T, void *scratch, focal_sums *acc)
{
    (void)scratch;
    const focal_plan copy = *plan, *P = &copy;   /* see K(softmax) */
    const int64_t c = P->a.c, inner = P->a.inner, rows = T->rows;
    const int need_wa = P->need_weight_alpha;
    const double per_position = P->sigmoid ? (double)c : 1.0;
    vd count = v_zero(), wa = v_zero(), positives = v_zero(), wmax = v_zero();
    /* Positions: weights, index targets. */
    for (int64_t s = 0; s < rows; s += V_LANES) {
        const int n = rows - s < V_LANES ? (int)(rows - s) : V_LANES;
        K(step) st;
        K(step_init)(P, T->pos0 + s, n, &st);
        const vm lanes = m_first(n);
        vm bad = m_andnot(lanes, m_and(v_ge(st.w, v_zero()), v_le(st.w, v_set(0x1.fffffffffffffp+1023))));
        if (!P->dense) {
            const vi limit = vi_set(P->sigmoid ? c + 1 : c);
            bad = m_or(bad, m_andnot(st.valid, vi_ltu(st.t, limit)));
        }
        if (m_any(bad)) {
            K(scan_report_positions)(P, T->pos0 + s, n, acc);
            return;
        }
        count = v_add(count, v_keep(st.valid, v_set(per_position)));
        wmax = v_max(wmax, v_keep(lanes, st.w));
        if (P->dense)
            continue;
        const vm pos_class = m_and(st.valid, vi_ltu(st.t, vi_set(c)));
        if (P->sigmoid)
            positives = v_add(positives, v_keep(pos_class, v_set(1.0)));
        if (!need_wa)
            continue;
        vd at;
        if (!P->sigmoid) {
            at = st_alpha_target(P, st.t, st.valid);
        } else {
            /* A background row's sum, corrected for the positive class. */
            vd a = P->alpha_v != NULL ? v_gather(P->alpha_v, st.t, pos_class) : v_set(P->alpha_s);
            vd corr = v_mul(v_fma(v_set(2.0), a, v_set(-P->alpha_one)), v_set(P->y_pos - P->y_neg));
            if (P->alpha_kind == FOCAL_ALPHA_NONE)
                corr = v_zero();
            at = v_add(v_set(P->alpha_background), v_keep(pos_class, corr));
        }
        /* A position of zero weight adds nothing, even where its alpha_t
         * sum overflows (0 inf is NaN). */
        wa = v_add(wa, v_keep(st.valid, st_weigh(st.w, at)));
    }
    if (P->dense) {
        /* Elements: one run of rows * c (inner == 1) or c runs of rows. */
        const int64_t runs = inner == 1 ? 1 : c, len = inner == 1 ? rows * c : rows;
        for (int64_t k = 0; k < runs; k++)
            if (K(scan_dense_run)(P, T->base + k * inner, len, &positives, acc))
                return;
        if (need_wa) {
            const STYPE *y = (const STYPE *)P->a.target_dense + T->base;
            if (inner == 1) {
                for (int64_t r = 0; r < rows; r++) {
                    vd sa = v_zero();
                    for (int64_t j = 0; j < c; j += V_LANES) {
                        const int n = c - j < V_LANES ? (int)(c - j) : V_LANES;
                        const vd a = P->alpha_v != NULL ? LDD(P->alpha_v + j, n) : v_set(P->alpha_s);
                        sa = v_add(sa, v_keep(m_first(n), K(scan_alpha_of)(P, LD(y + r * c + j, n), a)));
                    }
                    const double w = P->a.weight != NULL
                                         ? K(lane0)(S_LOAD_PART((const STYPE *)P->a.weight + T->pos0 + r, 1, 0.0))
                                         : 1.0;
                    wa = v_add(wa, v_keep(m_first(1), st_weigh(v_set(w), v_set(v_hsum(sa)))));
                }
            } else {
                for (int64_t s = 0; s < rows; s += V_LANES) {
                    const int n = rows - s < V_LANES ? (int)(rows - s) : V_LANES;
                    vd sa = v_zero();
                    for (int64_t j = 0; j < c; j++)
                        sa = v_add(sa, K(scan_alpha_of)(P, LD(y + j * inner + s, n), v_set(st_alpha_class(P, j))));
                    const vd w = P->a.weight != NULL ? LD((const STYPE *)P->a.weight + T->pos0 + s, n) : v_set(1.0);
                    wa = v_add(wa, v_keep(m_first(n), st_weigh(w, sa)));
                }
            }
        }
    }
    acc->count += v_hsum(count);
    acc->weight_alpha += v_hsum(wa);
    const double top = v_hmax(wmax);
    if (top > acc->weight_max)
        acc->weight_max = top;
    if (P->sigmoid)
        acc->positives += v_hsum(positives);
}

/* One value of the storage type. */
static double K(load1)(const void *p, int64_t i)
{
    return K(lane0)(S_LOAD_PART((const STYPE *)p + i, 1, 0.0));
}

static void K(store1)(void *p, int64_t i, double v)
{
    S_STORE_PART((STYPE *)p + i, 1, v_set(v));
}

#undef K
#undef KS_CAT
#undef KS_CAT2
#undef LD
#undef SV
#undef LDD
#undef K_PROB_EST
#undef KS_GAMMA
#undef STYPE
#undef SFX
#undef SDTYPE
#undef LO
#undef S_LOAD
#undef S_LOAD_PART
#undef S_STORE
#undef S_STORE_PART
#undef S_STREAM
