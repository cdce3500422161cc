/*
 * Numerics of the 1.1 sigmoid family at the ends of its range, float32 and
 * float64, against closed forms evaluated here in long double (its
 * exponent range holds e^-1e4, so sigmoid(+-1e4) keeps 1 - p and p as
 * numbers and every limit, 0 or the linear asymptote, comes out of the
 * formulas of API.md rather than being assumed). valgrind computes long
 * double in double precision, where e^1e4 overflows: .ci/sanitizers.sh
 * leaves this program out of its valgrind runs.
 *
 * Variants: QFL (gamma 0, 1, 2), VFL (gamma 0.5, 2), ASL (gamma in
 * {0, 0.5, 2}, gamma_negative in {0, 0.5, 1, 4}, clip in {0, 0.05, 0.2}),
 * Poly-1 on FL (gamma 0, 0.5, 2, epsilon of both signs), the SPLIT soft
 * form with a pos_weight; and softmax Poly-1 on rows up to 1e4 (below).
 * Logits +-1e4, +-1e3, +-100, +-40, +-2.5, 0 and,
 * for ASL, the logits where p is the clip and 1e-3 either side; targets 0,
 * 1, 0.3 and 0.75. Probabilities input (Poly-1, SPLIT) with eps = 2^-10
 * (both bounds exact in both types): 0, 1, 1e-9 and 1 - 2^-12 are clipped
 * (a structural 0 gradient), the bounds and 0.5 pass the gradient.
 *
 * The parameters avoid points where the gradient's terms cancel exactly
 * (Poly-1 with gamma 0, alpha 0.25 and epsilon -0.5 at x = 0, y = 1;
 * SPLIT with a pw y = (1 - a)(1 - y) at p = 1/2), where a relative bound
 * cannot hold.
 *
 * Reduction NONE, the fused call: every loss and gradient element must be
 * finite and |got - ref| <= rtol |ref| + atol with rtol 1e-12 (float64) or
 * 2e-5 (float32), as test_numerics.c, and atol the type's smallest normal
 * number: the inputs are exact in both types and the stable forms keep
 * every digit of results that decay like e^-|x|.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <focal/focal.h>

#include "numcheck.h"

/* The probability clip: 2^-10 makes both bounds exact in both types. */
#define NF_EPS 0x1p-10

typedef enum nf_kind { NF_QFL, NF_VFL, NF_ASL, NF_POLY, NF_SPLIT } nf_kind;

typedef struct nf_cfg {
    const char *name;
    nf_kind kind;
    double gamma, gamma_negative, clip, poly;
    int has_alpha;
    double alpha, pos_weight;
    int probs;
} nf_cfg;

static const nf_cfg nf_cfgs[] = {
    {"QFL g0", NF_QFL, 0.0, 0, 0, 0, 0, 0, 1, 0},
    {"QFL g1 alpha", NF_QFL, 1.0, 0, 0, 0, 1, 0.25, 1, 0},
    {"QFL g2", NF_QFL, 2.0, 0, 0, 0, 0, 0, 1, 0},
    {"VFL g0.5 alpha", NF_VFL, 0.5, 0, 0, 0, 1, 0.75, 1, 0},
    {"VFL g2", NF_VFL, 2.0, 0, 0, 0, 0, 0, 1, 0},
    {"ASL g0 gn4 clip.05", NF_ASL, 0.0, 4.0, 0.05, 0, 0, 0, 1, 0},
    {"ASL g0.5 gn1 clip.05 alpha", NF_ASL, 0.5, 1.0, 0.05, 0, 1, 0.25, 1, 0},
    {"ASL g0.5 gn0.5 clip0", NF_ASL, 0.5, 0.5, 0.0, 0, 0, 0, 1, 0},
    {"ASL g2 gn0 clip0", NF_ASL, 2.0, 0.0, 0.0, 0, 0, 0, 1, 0},
    {"ASL g0 gn1 clip.2", NF_ASL, 0.0, 1.0, 0.2, 0, 0, 0, 1, 0},
    {"ASL g2 gn4 clip.2", NF_ASL, 2.0, 4.0, 0.2, 0, 0, 0, 1, 0},
    /* A subnormal clip: at p = 1 (1 - p = 0 in double) 1 / (1 - p_m) alone overflows. */
    {"ASL g0 gn4 clip1e-309", NF_ASL, 0.0, 4.0, 1e-309, 0, 0, 0, 1, 0},
    {"poly g0.5 e1", NF_POLY, 0.5, 0, 0, 1.0, 0, 0, 1, 0},
    {"poly g0 e-0.4 alpha", NF_POLY, 0.0, 0, 0, -0.4, 1, 0.25, 1, 0},
    {"poly g2 e2", NF_POLY, 2.0, 0, 0, 2.0, 0, 0, 1, 0},
    {"poly g0.5 e1 probs", NF_POLY, 0.5, 0, 0, 1.0, 0, 0, 1, 1},
    {"poly g2 e-1 alpha probs", NF_POLY, 2.0, 0, 0, -1.0, 1, 0.25, 1, 1},
    {"split g0.5 alpha pw", NF_SPLIT, 0.5, 0, 0, 0, 1, 0.25, 2.5, 0},
    {"split g2", NF_SPLIT, 2.0, 0, 0, 0, 0, 0, 1, 0},
    {"split g0.5 probs pw", NF_SPLIT, 0.5, 0, 0, 0, 1, 0.4, 0.6, 1},
    {"split g0 alpha", NF_SPLIT, 0.0, 0, 0, 0, 1, 0.25, 1, 0},
};
#define NF_CFG_COUNT (sizeof nf_cfgs / sizeof nf_cfgs[0])

static const double nf_logits[] = {1e4, -1e4, 1e3, -1e3, 100.0, -100.0, 40.0, -40.0, 2.5, -2.5, 0.0};
static const double nf_probs[] = {0.0, 1.0, 1e-9, 0x1p-10, 1.0 - 0x1p-10, 1.0 - 0x1p-12, 0.5};
static const double nf_targets[] = {0.0, 1.0, 0.3, 0.75};
#define NF_MAX_X 20

typedef long double ld;

static ld nf_softplus(ld z)
{
    return (z > 0 ? z : 0) + log1pl(expl(-fabsl(z)));
}

/* pow with 0^0 = 1 and the factor absent for a zero exponent. */
static ld nf_pow(ld b, ld e)
{
    return e == 0 ? 1.0L : powl(b, e);
}

/* The loss of one element and its derivative in s (p), long double. */
static void nf_ref_ds(const nf_cfg *g, ld s, ld q, ld ls, ld lq, ld y, ld *loss, ld *dds)
{
    ld gm = g->gamma;
    ld bce = -(y * ls + (1 - y) * lq);
    ld dbce = -(y / s - (1 - y) / q);
    ld a = g->has_alpha ? (ld)g->alpha : 1.0L;
    ld at = g->has_alpha ? a * y + (1 - a) * (1 - y) : 1.0L;
    switch (g->kind) {
    case NF_QFL: {
        ld diff = (1 - y) * s - y * q; /* p - y without the rounding of 1 - q */
        ld d = fabsl(diff);
        *loss = at * bce * nf_pow(d, gm);
        ld sg = diff > 0 ? 1.0L : diff < 0 ? -1.0L : 0.0L;
        *dds = at * (dbce * nf_pow(d, gm) + (gm == 0 || sg == 0 ? 0 : bce * gm * nf_pow(d, gm - 1) * sg));
        break;
    }
    case NF_VFL:
        if (y > 0) {
            *loss = y * bce;
            *dds = y * dbce;
        } else {
            ld av = g->has_alpha ? (ld)g->alpha : 1.0L;
            *loss = av * nf_pow(s, gm) * (-lq);
            *dds = av * ((gm == 0 ? 0 : gm * nf_pow(s, gm - 1) * (-lq)) + nf_pow(s, gm) / q);
        }
        break;
    case NF_ASL: {
        ld gn = g->gamma_negative, clip = g->clip;
        ld A = nf_pow(q, gm) * ls;
        ld dA = (gm == 0 ? 0 : -gm * nf_pow(q, gm - 1) * ls) + nf_pow(q, gm) / s;
        ld pm = s - clip > 0 ? s - clip : 0;
        ld one_m = clip == 0 ? q : q + clip;
        /* log(1 - p_m): log1p(-p_m) for a small p_m, else from
         * 1 - p_m = q + clip itself (log1p(-p_m) loses it once p_m rounds
         * to 1, with a subnormal clip). */
        ld lone_m = clip == 0 ? lq : pm < 0.5L ? log1pl(-pm) : logl(one_m);
        ld B = nf_pow(pm, gn) * lone_m, dB = 0;
        if (pm > 0) {
            dB = (gn == 0 ? 0 : gn * nf_pow(pm, gn - 1) * lone_m) - nf_pow(pm, gn) / one_m;
        }
        *loss = -at * (y * A + (1 - y) * B);
        *dds = -at * (y * dA + (1 - y) * dB);
        break;
    }
    case NF_POLY: {
        ld m = s * (1 - y) + q * y; /* 1 - p_t */
        ld dm = 1 - 2 * y;
        *loss = at * nf_pow(m, gm) * bce + (ld)g->poly * nf_pow(m, gm + 1);
        *dds = at * ((gm == 0 ? 0 : gm * nf_pow(m, gm - 1) * dm * bce) + nf_pow(m, gm) * dbce) +
               (ld)g->poly * (gm + 1) * nf_pow(m, gm) * dm;
        break;
    }
    case NF_SPLIT: {
        ld an = g->has_alpha ? 1 - a : 1.0L, pw = g->pos_weight;
        *loss = -a * pw * y * nf_pow(q, gm) * ls - an * (1 - y) * nf_pow(s, gm) * lq;
        ld dpos = (gm == 0 ? 0 : -gm * nf_pow(q, gm - 1) * ls) + nf_pow(q, gm) / s;
        ld dneg = (gm == 0 ? 0 : gm * nf_pow(s, gm - 1) * lq) - nf_pow(s, gm) / q;
        *dds = -a * pw * y * dpos - an * (1 - y) * dneg;
        break;
    }
    }
}

/* The loss and the gradient with respect to the input. */
static void nf_ref(const nf_cfg *g, ld x, ld y, ld eps, ld *loss, ld *grad)
{
    ld s, q, ls, lq, dds;
    if (g->probs) {
        int inside = x >= eps && x <= 1 - eps; /* the bounds pass it */
        s = x < eps ? eps : x > 1 - eps ? 1 - eps : x;
        q = 1 - s;
        ls = logl(s);
        lq = logl(q);
        nf_ref_ds(g, s, q, ls, lq, y, loss, &dds);
        *grad = inside ? dds : 0;
        return;
    }
    s = 1 / (1 + expl(-x));
    q = 1 / (1 + expl(x));
    ls = -nf_softplus(-x);
    lq = -nf_softplus(x);
    nf_ref_ds(g, s, q, ls, lq, y, loss, &dds);
    *grad = dds * s * q;
}

static focal_loss *nf_loss(const nf_cfg *g)
{
    focal_loss *loss = NULL;
    focal_variant v = g->kind == NF_QFL   ? FOCAL_VARIANT_QFL
                      : g->kind == NF_VFL ? FOCAL_VARIANT_VFL
                      : g->kind == NF_ASL ? FOCAL_VARIANT_ASL
                                          : FOCAL_VARIANT_FL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
    assert_int_equal(focal_loss_set_variant(loss, v), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, g->gamma), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
    assert_int_equal(focal_loss_set_epsilon(loss, NF_EPS), FOCAL_OK);
    if (g->kind == NF_ASL) {
        assert_int_equal(focal_loss_set_gamma_negative(loss, g->gamma_negative), FOCAL_OK);
        assert_int_equal(focal_loss_set_clip(loss, g->clip), FOCAL_OK);
    }
    if (g->kind == NF_POLY) {
        assert_int_equal(focal_loss_set_poly_epsilon(loss, g->poly), FOCAL_OK);
    }
    if (g->kind == NF_SPLIT) {
        assert_int_equal(focal_loss_set_soft_form(loss, FOCAL_SOFT_SPLIT), FOCAL_OK);
        assert_int_equal(focal_loss_set_pos_weight_vector(loss, &g->pos_weight, 1), FOCAL_OK);
    }
    if (g->has_alpha) {
        assert_int_equal(focal_loss_set_alpha(loss, g->alpha), FOCAL_OK);
    }
    if (g->probs) {
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
    }
    return loss;
}

/* The inputs of a configuration, as doubles before rounding to the type. */
static size_t nf_inputs(const nf_cfg *g, double *x)
{
    size_t count = 0;
    if (g->probs) {
        for (size_t i = 0; i < sizeof nf_probs / sizeof nf_probs[0]; i++) {
            x[count++] = nf_probs[i];
        }
        return count;
    }
    for (size_t i = 0; i < sizeof nf_logits / sizeof nf_logits[0]; i++) {
        x[count++] = nf_logits[i];
    }
    if (g->kind == NF_ASL && g->clip > 0) {
        double at_clip = log(g->clip / (1.0 - g->clip));
        x[count++] = at_clip;
        x[count++] = at_clip - 1e-3;
        x[count++] = at_clip + 1e-3;
    }
    return count;
}

static size_t nf_failures;

/* How much p_m = p - clip magnifies the relative error of p (ASL's
 * negative term near the clip): p / p_m, or 1 elsewhere. */
static double nf_condition(const nf_cfg *g, double x, double y)
{
    if (g->kind != NF_ASL || g->clip == 0 || y == 1.0) {
        return 1.0;
    }
    ld s = 1 / (1 + expl(-(ld)x));
    ld pm = s - (ld)g->clip;
    return pm > 0 ? (double)fmaxl(1.0L, (1 + (ld)g->gamma_negative) * s / pm) : 1.0;
}

/* The logit where p is the clip, within rounding. */
static int nf_at_clip(const nf_cfg *g, double x)
{
    if (g->kind != NF_ASL || g->clip == 0) {
        return 0;
    }
    ld s = 1 / (1 + expl(-(ld)x));
    return fabsl(s - (ld)g->clip) <= 1e-6L * s;
}

static void nf_check(const nf_cfg *g, int f32, const char *what, double x, double y, double got,
                     ld ref)
{
    double rtol = (f32 ? 2e-5 : 1e-12) * nf_condition(g, x, y);
    double atol = f32 ? (double)FLT_MIN : DBL_MIN;
    if (nf_at_clip(g, x) && y != 1.0) {
        rtol = 0;
        atol = 1e-6; /* p_m ~ 0: O(p_m^gamma_negative) either side */
    }
    if (isfinite(got) && isfinite((double)ref) &&
        fabsl((ld)got - ref) <= rtol * fabsl(ref) + atol) {
        return;
    }
    if (nf_failures++ < 40) {
        print_error("%s %s %s x %.17g y %g: %.17g, closed form %.17Lg\n", g->name,
                    f32 ? "f32" : "f64", what, x, y, got, ref);
    }
}

/* The fused call on (n, c) elements xs (logits or probabilities) with
 * targets ys, as doubles before rounding to the type, each loss and
 * gradient element checked against the closed form. */
static void nf_call_check(const nf_cfg *g, int f32, size_t n, size_t c, const double *xs, const double *ys,
                          size_t *checks)
{
    const size_t count = n * c;
    double *x = numcheck_alloc(count, sizeof *x), *y = numcheck_alloc(count, sizeof *y);
    double *out = numcheck_alloc(count, sizeof *out), *grad = numcheck_alloc(count, sizeof *grad);
    float *xf = numcheck_alloc(count, sizeof *xf), *yf = numcheck_alloc(count, sizeof *yf);
    float *outf = numcheck_alloc(count, sizeof *outf), *gradf = numcheck_alloc(count, sizeof *gradf);
    for (size_t k = 0; k < count; k++) {
        xf[k] = (float)xs[k];
        yf[k] = (float)ys[k];
        x[k] = f32 ? (double)xf[k] : xs[k];
        y[k] = f32 ? (double)yf[k] : ys[k];
    }
    focal_loss *loss = nf_loss(g);
    focal_status st;
    if (f32) {
        st = focal_forward_backward_dense_f32(loss, (int64_t)n, (int64_t)c, 1, xf, yf, NULL, outf, gradf);
        for (size_t k = 0; k < count; k++) {
            out[k] = outf[k];
            grad[k] = gradf[k];
        }
    } else {
        st = focal_forward_backward_dense_f64(loss, (int64_t)n, (int64_t)c, 1, x, y, NULL, out, grad);
    }
    assert_int_equal(st, FOCAL_OK);
    ld eps = (ld)NF_EPS;
    for (size_t k = 0; k < count; k++) {
        ld rl, rg;
        nf_ref(g, (ld)x[k], (ld)y[k], eps, &rl, &rg);
        nf_check(g, f32, "loss", x[k], y[k], out[k], rl);
        nf_check(g, f32, "grad", x[k], y[k], grad[k], rg);
        *checks += 2;
    }
    focal_loss_destroy(loss);
    free(x);
    free(y);
    free(out);
    free(grad);
    free(xf);
    free(yf);
    free(outf);
    free(gradf);
}

/* Every input with every target, one element per row. */
static void nf_run(const nf_cfg *g, int f32, size_t *checks)
{
    double xs[NF_MAX_X] = {0};
    const size_t nx = nf_inputs(g, xs);
    const size_t ny = sizeof nf_targets / sizeof nf_targets[0];
    double x[NF_MAX_X * (sizeof nf_targets / sizeof nf_targets[0])], y[sizeof x / sizeof x[0]];
    for (size_t i = 0; i < nx; i++) {
        for (size_t j = 0; j < ny; j++) {
            x[i * ny + j] = xs[i];
            y[i * ny + j] = nf_targets[j];
        }
    }
    nf_call_check(g, f32, nx * ny, 1, x, y, checks);
}

static void test_family_extremes(void **state)
{
    (void)state;
    size_t checks = 0;
    nf_failures = 0;
    for (size_t i = 0; i < NF_CFG_COUNT; i++) {
        nf_run(&nf_cfgs[i], 0, &checks);
        nf_run(&nf_cfgs[i], 1, &checks);
    }
    print_message("%zu checks, %zu failed\n", checks, nf_failures);
    assert_true(checks > 0);
    assert_int_equal(nf_failures, 0);
}

/* ASL with a clip on targets all 0, each logit a row of NF_RUN classes so
 * that every vector of every table holds one logit only: the vectors of
 * negatives take their own path, and those whose logits all lie well
 * below the clip's logit give 0 without forming p. Logits from -1e4 up,
 * and the clip's logit with offsets of 1e-3 down to 1e-7 either side (the
 * shortcut's margin is about 1e-6 of it). */
#define NF_RUN 16
static void nf_run_negatives(const nf_cfg *g, int f32, size_t *checks)
{
    const double at_clip = log(g->clip / (1.0 - g->clip));
    const double xs[] = {-1e4, -1e3, -100.0, -40.0, -10.0, -5.0, -3.5, at_clip - 1e-3, at_clip - 1e-5,
                         at_clip - 1e-6, at_clip - 1e-7, at_clip, at_clip + 1e-7, at_clip + 1e-3, -1.0, 0.0,
                         2.5, 40.0};
    enum { NX = sizeof xs / sizeof xs[0] };
    double x[NX * NF_RUN], y[NX * NF_RUN];
    for (size_t k = 0; k < NX * NF_RUN; k++) {
        x[k] = xs[k / NF_RUN];
        y[k] = 0.0;
    }
    nf_call_check(g, f32, NX, NF_RUN, x, y, checks);
}

static void test_asl_negatives(void **state)
{
    (void)state;
    size_t checks = 0;
    nf_failures = 0;
    for (size_t i = 0; i < NF_CFG_COUNT; i++) {
        if (nf_cfgs[i].kind == NF_ASL && nf_cfgs[i].clip > 0) {
            nf_run_negatives(&nf_cfgs[i], 0, &checks);
            nf_run_negatives(&nf_cfgs[i], 1, &checks);
        }
    }
    print_message("%zu checks, %zu failed\n", checks, nf_failures);
    assert_true(checks > 0);
    assert_int_equal(nf_failures, 0);
}

/* Softmax Poly-1 (index targets): rows of magnitude up to 1e4, every
 * class as the target, gamma 0, 0.5 and 2. With u = 1 - p_t (the other
 * classes' share, without cancellation) the closed form is
 *   L = -a u^g log p_t + e u^(g+1),
 *   dL/dz_j = (a g u^(g-1) p_t log p_t - a u^g - e (g+1) u^g p_t)(d_jt - p_j),
 * where u^(g-1)(d_jt - p_j) is u^g (j = t) or -(p_j / u) u^g. Same
 * tolerances as above. */
#define NS_C 3
static const double ns_rows[][NS_C] = {
    {1e4, -1e4, 0.0}, {-1e4, -9999.0, -9999.5}, {0.0, 0.0, 0.0}, {40.0, -40.0, 0.0},
    {1e3, 0.0, -1e3}, {2.5, -1.0, 0.5}};
#define NS_ROWS (sizeof ns_rows / sizeof ns_rows[0])

static void ns_ref(const double *z, int t, ld g, ld a, ld e, ld *loss, ld *grad)
{
    int arg = 0;
    for (int j = 1; j < NS_C; j++) {
        arg = z[j] > z[arg] ? j : arg;
    }
    ld m = z[arg];
    ld ex[NS_C], sum = 0, rest = 0, others = 0;
    for (int j = 0; j < NS_C; j++) {
        ex[j] = expl((ld)z[j] - m);
        sum += ex[j];
        rest += j == arg ? 0 : ex[j];
        others += j == t ? 0 : ex[j];
    }
    /* log sum = log1p(rest): keeps the digits of a sum just above 1 */
    ld pt = ex[t] / sum, u = others / sum, lpt = ((ld)z[t] - m) - log1pl(rest);
    *loss = -a * nf_pow(u, g) * lpt + e * nf_pow(u, g + 1);
    ld g1 = g == 0 ? 0 : a * g * pt * lpt, g2 = -a * nf_pow(u, g) - e * (g + 1) * nf_pow(u, g) * pt;
    for (int j = 0; j < NS_C; j++) {
        ld dp = j == t ? u : -ex[j] / sum; /* d_jt - p_j, 1 - p_t as u */
        ld focal = j == t ? nf_pow(u, g) : (others > 0 ? -(ex[j] / others) * nf_pow(u, g) : 0);
        grad[j] = g1 * focal + g2 * dp;
    }
}

static void test_softmax_poly_extremes(void **state)
{
    (void)state;
    static const double gammas[] = {0.0, 0.5, 2.0};
    static const nf_cfg label = {"softmax poly (y: gamma)", NF_POLY, 0, 0, 0, 0, 0, 0, 1, 0};
    enum { N = NS_ROWS * NS_C };
    size_t checks = 0;
    nf_failures = 0;
    for (size_t gi = 0; gi < 3; gi++) {
        for (int f32 = 0; f32 < 2; f32++) {
            double x[N * NS_C], out[N], grad[N * NS_C];
            float xf[N * NS_C], outf[N], gradf[N * NS_C];
            int64_t t[N];
            for (size_t r = 0; r < NS_ROWS; r++) {
                for (int tt = 0; tt < NS_C; tt++) {
                    size_t pos = r * NS_C + (size_t)tt;
                    t[pos] = tt;
                    for (int j = 0; j < NS_C; j++) {
                        x[pos * NS_C + (size_t)j] = ns_rows[r][j];
                        xf[pos * NS_C + (size_t)j] = (float)ns_rows[r][j];
                    }
                }
            }
            focal_loss *loss = NULL;
            assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
            assert_int_equal(focal_loss_set_gamma(loss, gammas[gi]), FOCAL_OK);
            assert_int_equal(focal_loss_set_poly_epsilon(loss, 0.7), FOCAL_OK);
            assert_int_equal(focal_loss_set_alpha(loss, 0.6), FOCAL_OK);
            assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
            if (f32) {
                assert_int_equal(focal_forward_backward_f32(loss, N, NS_C, 1, xf, t, NULL, outf, gradf),
                                 FOCAL_OK);
                for (size_t i = 0; i < N * NS_C; i++) {
                    grad[i] = gradf[i];
                    out[i / NS_C] = outf[i / NS_C];
                }
            } else {
                assert_int_equal(focal_forward_backward_f64(loss, N, NS_C, 1, x, t, NULL, out, grad),
                                 FOCAL_OK);
            }
            focal_loss_destroy(loss);
            for (size_t pos = 0; pos < N; pos++) {
                ld rl, rg[NS_C];
                ns_ref(&x[pos * NS_C], (int)t[pos], (ld)gammas[gi], 0.6L, 0.7L, &rl, rg);
                nf_check(&label, f32, "loss", x[pos * NS_C + (size_t)t[pos]], gammas[gi], out[pos], rl);
                for (int j = 0; j < NS_C; j++) {
                    nf_check(&label, f32, "grad", x[pos * NS_C + (size_t)j], gammas[gi],
                             grad[pos * NS_C + (size_t)j], rg[j]);
                }
                checks += 1 + NS_C;
            }
        }
    }
    print_message("%zu checks, %zu failed\n", checks, nf_failures);
    assert_int_equal(nf_failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_family_extremes),
        cmocka_unit_test(test_asl_negatives),
        cmocka_unit_test(test_softmax_poly_extremes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
