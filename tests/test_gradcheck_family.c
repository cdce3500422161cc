/*
 * Finite-difference gradient checks of the 1.1 settings, float64.
 *
 * Input gradient: for QFL, VFL, ASL (gamma_negative, clip), Poly-1 (poly
 * epsilon, both modes), the SPLIT soft form and a pos_weight vector, in
 * each mode, input kind, target kind and label smoothing the settings
 * allow, every reduction including DIVISOR, with and without position
 * weights: focal_backward*_f64 under a random upstream gradient against
 * central differences of focal_forward*_f64 in the input.
 *
 * Target gradient: focal_backward_target_dense_f64 against central
 * differences of focal_forward_dense_f64 in the (unsmoothed) dense
 * targets, softmax and sigmoid, every variant, every reduction; the
 * WEIGHTED_MEAN and SUM_OVER_POSITIVES denominators depend on the targets
 * and the differences see that. A sigmoid case with sum(y) < 1 checks the
 * clamp of max(1, P), whose derivative is 0 there.
 *
 * Tolerance as test_gradcheck.c: |fd - an| <= 1e-6 * max(1, |an|), step
 * h = 1e-6 * max(1, |v|). Data keep away from the kinks the API defines
 * (|y - p| = 0 for QFL, p = clip for ASL, y = 0 for VFL's target
 * gradient, P = 1) by at least 1e-3, far beyond h.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <focal/focal.h>

#include "names.h"
#include "numcheck.h"

#define GF_TOL 1e-6
#define GF_STEP 1e-6
#define GF_LS 0.1
#define GF_DIVISOR 2.5
#define GF_KINK 1e-3
#define GF_MAX_PRINTED 20

typedef enum gf_alpha { GF_ALPHA_NONE, GF_ALPHA_SCALAR, GF_ALPHA_VECTOR } gf_alpha;

/* One setting of the family. */
typedef struct gf_cfg {
    const char *name;
    focal_mode mode;
    focal_variant variant;
    double gamma, gamma_negative, clip, poly, beta;
    gf_alpha alpha;
    int probs, ls, split, pos_weight;
    int index_ok; /* index targets allowed */
    int dense_ok; /* dense targets allowed */
    int wmean_ok; /* WEIGHTED_MEAN allowed */
} gf_cfg;

#define SIG FOCAL_MODE_SIGMOID
#define SMX FOCAL_MODE_SOFTMAX
static const gf_cfg gf_cfgs[] = {
    /* name                      mode var                 g    gn   clip  poly  beta alpha          pr ls sp pw ix dn wm */
    {"QFL g0", SIG, FOCAL_VARIANT_QFL, 0.0, 4, 0.05, 0, 0, GF_ALPHA_NONE, 0, 0, 0, 0, 1, 1, 1},
    {"QFL g1 alpha", SIG, FOCAL_VARIANT_QFL, 1.0, 4, 0.05, 0, 0, GF_ALPHA_SCALAR, 0, 0, 0, 0, 1, 1, 1},
    {"QFL g2 alphavec ls", SIG, FOCAL_VARIANT_QFL, 2.0, 4, 0.05, 0, 0, GF_ALPHA_VECTOR, 0, 1, 0, 0, 1, 1, 1},
    {"VFL g2", SIG, FOCAL_VARIANT_VFL, 2.0, 4, 0.05, 0, 0, GF_ALPHA_NONE, 0, 0, 0, 0, 1, 1, 0},
    {"VFL g0.5 alpha", SIG, FOCAL_VARIANT_VFL, 0.5, 4, 0.05, 0, 0, GF_ALPHA_SCALAR, 0, 0, 0, 0, 1, 1, 0},
    {"ASL g0 gn4 clip.05", SIG, FOCAL_VARIANT_ASL, 0.0, 4, 0.05, 0, 0, GF_ALPHA_NONE, 0, 0, 0, 0, 1, 1, 1},
    {"ASL g1 gn1 clip.2 alpha", SIG, FOCAL_VARIANT_ASL, 1.0, 1, 0.2, 0, 0, GF_ALPHA_SCALAR, 0, 0, 0, 0, 1, 1, 1},
    {"ASL g2 gn0 clip.1", SIG, FOCAL_VARIANT_ASL, 2.0, 0, 0.1, 0, 0, GF_ALPHA_NONE, 0, 0, 0, 0, 1, 1, 1},
    {"ASL g0.5 gn2.5 clip0 alphavec ls", SIG, FOCAL_VARIANT_ASL, 0.5, 2.5, 0.0, 0, 0, GF_ALPHA_VECTOR, 0, 1, 0, 0, 1, 1, 1},
    {"ASL g3 gn0.5 clip0", SIG, FOCAL_VARIANT_ASL, 3.0, 0.5, 0.0, 0, 0, GF_ALPHA_NONE, 0, 0, 0, 0, 1, 1, 1},
    {"poly sig g2 e1", SIG, FOCAL_VARIANT_FL, 2.0, 4, 0.05, 1.0, 0, GF_ALPHA_NONE, 0, 0, 0, 0, 1, 1, 1},
    {"poly sig g0 e-0.5 alpha ls", SIG, FOCAL_VARIANT_FL, 0.0, 4, 0.05, -0.5, 0, GF_ALPHA_SCALAR, 0, 1, 0, 0, 1, 1, 1},
    {"poly sig g0.5 e2 probs", SIG, FOCAL_VARIANT_FL, 0.5, 4, 0.05, 2.0, 0, GF_ALPHA_VECTOR, 1, 0, 0, 0, 1, 1, 1},
    {"poly smx g2 e1", SMX, FOCAL_VARIANT_FL, 2.0, 4, 0.05, 1.0, 0, GF_ALPHA_NONE, 0, 0, 0, 0, 1, 0, 1},
    {"poly smx g0 e-1 alphavec", SMX, FOCAL_VARIANT_FL, 0.0, 4, 0.05, -1.0, 0, GF_ALPHA_VECTOR, 0, 0, 0, 0, 1, 0, 1},
    {"poly smx g1.5 e0.7 probs", SMX, FOCAL_VARIANT_FL, 1.5, 4, 0.05, 0.7, 0, GF_ALPHA_SCALAR, 1, 0, 0, 0, 1, 0, 1},
    {"split g2", SIG, FOCAL_VARIANT_FL, 2.0, 4, 0.05, 0, 0, GF_ALPHA_NONE, 0, 0, 1, 0, 1, 1, 1},
    {"split g1.5 alpha pw", SIG, FOCAL_VARIANT_FL, 1.5, 4, 0.05, 0, 0, GF_ALPHA_SCALAR, 0, 0, 1, 1, 1, 1, 1},
    {"split g0.5 alphavec ls", SIG, FOCAL_VARIANT_FL, 0.5, 4, 0.05, 0, 0, GF_ALPHA_VECTOR, 0, 1, 1, 0, 1, 1, 1},
    {"split g2 probs ls pw", SIG, FOCAL_VARIANT_FL, 2.0, 4, 0.05, 0, 0, GF_ALPHA_SCALAR, 1, 1, 1, 1, 1, 1, 1},
    {"pw g2", SIG, FOCAL_VARIANT_FL, 2.0, 4, 0.05, 0, 0, GF_ALPHA_NONE, 0, 0, 0, 1, 1, 1, 1},
    {"pw g0 alphavec ls", SIG, FOCAL_VARIANT_FL, 0.0, 4, 0.05, 0, 0, GF_ALPHA_VECTOR, 0, 1, 0, 1, 1, 1, 1},
    {"pw g1 probs", SIG, FOCAL_VARIANT_FL, 1.0, 4, 0.05, 0, 0, GF_ALPHA_SCALAR, 1, 0, 0, 1, 1, 1, 1},
    /* 1.0 settings, for the target gradient and DIVISOR */
    {"FL sig g2 alpha", SIG, FOCAL_VARIANT_FL, 2.0, 4, 0.05, 0, 0, GF_ALPHA_SCALAR, 0, 0, 0, 0, 1, 1, 1},
    {"FL sig g0.5 probs ls", SIG, FOCAL_VARIANT_FL, 0.5, 4, 0.05, 0, 0, GF_ALPHA_NONE, 1, 1, 0, 0, 1, 1, 1},
    {"FL* g2 b1", SIG, FOCAL_VARIANT_FL_STAR, 2.0, 4, 0.05, 0, 1.0, GF_ALPHA_VECTOR, 0, 0, 0, 0, 1, 1, 1},
    {"FL smx g2 alphavec", SMX, FOCAL_VARIANT_FL, 2.0, 4, 0.05, 0, 0, GF_ALPHA_VECTOR, 0, 0, 0, 0, 1, 1, 1},
    {"FL smx g0.5 ls", SMX, FOCAL_VARIANT_FL, 0.5, 4, 0.05, 0, 0, GF_ALPHA_NONE, 0, 1, 0, 0, 1, 1, 1},
    {"FL smx g1 probs alpha", SMX, FOCAL_VARIANT_FL, 1.0, 4, 0.05, 0, 0, GF_ALPHA_SCALAR, 1, 0, 0, 0, 1, 1, 1},
};
#undef SIG
#undef SMX
#define GF_CFG_COUNT (sizeof gf_cfgs / sizeof gf_cfgs[0])

static const focal_reduction gf_reductions[] = {
    FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN, FOCAL_REDUCTION_SUM,
    FOCAL_REDUCTION_WEIGHTED_MEAN, FOCAL_REDUCTION_SUM_OVER_POSITIVES, FOCAL_REDUCTION_DIVISOR};
#define GF_RED_COUNT (sizeof gf_reductions / sizeof gf_reductions[0])

static const char *gf_red_name(focal_reduction r)
{
    return r == FOCAL_REDUCTION_DIVISOR ? "DIVISOR" : names_reduction(r);
}

static int gf_reduction_ok(const gf_cfg *g, focal_reduction r)
{
    if (r == FOCAL_REDUCTION_WEIGHTED_MEAN) {
        return g->wmean_ok;
    }
    if (r == FOCAL_REDUCTION_SUM_OVER_POSITIVES) {
        return g->mode == FOCAL_MODE_SIGMOID;
    }
    return 1;
}

/* The data of one case. */
typedef struct gf_data {
    int64_t n, c, inner;
    size_t elems, positions, out_len;
    int dense;
    double *x, *y, *w, *up;
    int64_t *t;
    double alpha_vec[8], pos_weight[8];
} gf_data;

static double gf_sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static double gf_smoothed(const gf_cfg *g, double y)
{
    return g->ls ? y * (1.0 - GF_LS) + GF_LS / 2.0 : y;
}

/* The probability the element's loss sees (sigmoid mode). */
static double gf_prob(const gf_cfg *g, double x)
{
    return g->probs ? x : gf_sigmoid(x);
}

/* Whether an element's (input, smoothed target) pair is near a kink. */
static int gf_near_kink(const gf_cfg *g, double x, double y)
{
    if (g->mode != FOCAL_MODE_SIGMOID) {
        return 0;
    }
    double p = gf_prob(g, x);
    if (g->variant == FOCAL_VARIANT_QFL && fabs(gf_smoothed(g, y) - p) < GF_KINK) {
        return 1;
    }
    return g->variant == FOCAL_VARIANT_ASL && g->clip > 0.0 && fabs(p - g->clip) < GF_KINK;
}

static double gf_draw_x(const gf_cfg *g, numcheck_rng *rng)
{
    return g->probs ? numcheck_rng_uniform(rng, 0.05, 0.95) : numcheck_rng_uniform(rng, -3.0, 3.0);
}

/* The target of element e as the loss sees it before smoothing. */
static double gf_target_of(const gf_cfg *g, const gf_data *d, size_t e)
{
    if (d->dense) {
        return d->y[e];
    }
    size_t pos = (e / ((size_t)d->c * (size_t)d->inner)) * (size_t)d->inner + e % (size_t)d->inner;
    int64_t cls = (int64_t)((e / (size_t)d->inner) % (size_t)d->c);
    (void)g;
    return d->t[pos] == cls ? 1.0 : 0.0;
}

/* targets: dense in [lo, hi) (some exact 0/1 when edges), or indices. */
static void gf_fill(const gf_cfg *g, gf_data *d, int dense, double y_lo, double y_hi, int edges,
                    uint64_t seed)
{
    numcheck_rng rng;
    numcheck_rng_seed(&rng, seed);
    d->dense = dense;
    d->elems = (size_t)(d->n * d->c * d->inner);
    d->positions = (size_t)(d->n * d->inner);
    d->x = numcheck_alloc(d->elems, sizeof *d->x);
    d->y = numcheck_alloc(d->elems, sizeof *d->y);
    d->w = numcheck_alloc(d->positions, sizeof *d->w);
    d->t = numcheck_alloc(d->positions, sizeof *d->t);
    d->up = numcheck_alloc(d->elems, sizeof *d->up);
    for (size_t i = 0; i < d->positions; i++) {
        d->w[i] = numcheck_rng_uniform(&rng, 0.2, 2.0);
        int64_t bound = g->mode == FOCAL_MODE_SIGMOID ? d->c + 1 : d->c;
        d->t[i] = numcheck_rng_below(&rng, bound);
    }
    for (size_t e = 0; e < d->elems; e++) {
        double y = numcheck_rng_uniform(&rng, y_lo, y_hi);
        if (edges && numcheck_rng_below(&rng, 5) == 0) {
            y = (double)numcheck_rng_below(&rng, 2);
        }
        d->y[e] = y;
    }
    if (g->mode == FOCAL_MODE_SOFTMAX && g->probs) {
        for (size_t e = 0; e < d->elems; e++) {
            d->x[e] = gf_draw_x(g, &rng);
        }
    } else {
        for (size_t e = 0; e < d->elems; e++) {
            double yt = gf_target_of(g, d, e);
            do {
                d->x[e] = gf_draw_x(g, &rng);
            } while (gf_near_kink(g, d->x[e], yt));
        }
    }
    for (int64_t k = 0; k < d->c && k < 8; k++) {
        d->alpha_vec[k] = g->mode == FOCAL_MODE_SIGMOID ? numcheck_rng_uniform(&rng, 0.1, 0.9)
                                                        : numcheck_rng_uniform(&rng, 0.25, 1.5);
        d->pos_weight[k] = numcheck_rng_uniform(&rng, 0.3, 3.0);
    }
    for (size_t e = 0; e < d->elems; e++) {
        d->up[e] = numcheck_rng_uniform(&rng, -1.5, 1.5);
    }
}

static void gf_free(gf_data *d)
{
    free(d->x);
    free(d->y);
    free(d->w);
    free(d->t);
    free(d->up);
}

static focal_loss *gf_configure(const gf_cfg *g, const gf_data *d, focal_reduction r)
{
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, g->mode), FOCAL_OK);
    assert_int_equal(focal_loss_set_variant(loss, g->variant), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, g->gamma), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma_negative(loss, g->gamma_negative), FOCAL_OK);
    assert_int_equal(focal_loss_set_clip(loss, g->clip), FOCAL_OK);
    assert_int_equal(focal_loss_set_poly_epsilon(loss, g->poly), FOCAL_OK);
    assert_int_equal(focal_loss_set_beta(loss, g->beta), FOCAL_OK);
    if (g->alpha == GF_ALPHA_SCALAR) {
        assert_int_equal(focal_loss_set_alpha(loss, g->mode == FOCAL_MODE_SIGMOID ? 0.3 : 0.7),
                         FOCAL_OK);
    } else if (g->alpha == GF_ALPHA_VECTOR) {
        assert_int_equal(focal_loss_set_alpha_vector(loss, d->alpha_vec, d->c), FOCAL_OK);
    }
    if (g->probs) {
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
    }
    if (g->ls) {
        assert_int_equal(focal_loss_set_label_smoothing(loss, GF_LS), FOCAL_OK);
    }
    if (g->split) {
        assert_int_equal(focal_loss_set_soft_form(loss, FOCAL_SOFT_SPLIT), FOCAL_OK);
    }
    if (g->pos_weight) {
        assert_int_equal(focal_loss_set_pos_weight_vector(loss, d->pos_weight, d->c), FOCAL_OK);
    }
    assert_int_equal(focal_loss_set_reduction(loss, r), FOCAL_OK);
    assert_int_equal(focal_loss_set_divisor(loss, GF_DIVISOR), FOCAL_OK);
    assert_int_equal(focal_loss_set_threads(loss, 1), FOCAL_OK);
    return loss;
}

static size_t gf_out_len(const gf_cfg *g, const gf_data *d, focal_reduction r)
{
    if (r != FOCAL_REDUCTION_NONE) {
        return 1;
    }
    return g->mode == FOCAL_MODE_SIGMOID ? d->elems : d->positions;
}

/* sum(up * out) for the data as they are. */
static double gf_objective(const focal_loss *loss, const gf_data *d, const double *weight,
                           size_t out_len, double *out)
{
    focal_status st = d->dense
                          ? focal_forward_dense_f64(loss, d->n, d->c, d->inner, d->x, d->y, weight, out)
                          : focal_forward_f64(loss, d->n, d->c, d->inner, d->x, d->t, weight, out);
    assert_int_equal(st, FOCAL_OK);
    double s = 0.0;
    for (size_t i = 0; i < out_len; i++) {
        s += d->up[i] * out[i];
    }
    return s;
}

/* Central difference of the objective in *v. */
static double gf_central(const focal_loss *loss, const gf_data *d, const double *weight,
                         size_t out_len, double *out, double *v)
{
    double v0 = *v, h = GF_STEP * fmax(1.0, fabs(v0));
    *v = v0 + h;
    double fp = gf_objective(loss, d, weight, out_len, out);
    *v = v0 - h;
    double fm = gf_objective(loss, d, weight, out_len, out);
    *v = v0;
    return (fp - fm) / (2.0 * h);
}

typedef struct gf_tally {
    size_t cases, checks, failed;
} gf_tally;

static void gf_compare(gf_tally *tally, const char *what, const gf_cfg *g, focal_reduction r,
                       int weighted, size_t e, double fd, double an)
{
    tally->checks++;
    if (fabs(fd - an) <= GF_TOL * fmax(1.0, fabs(an)) && isfinite(an)) {
        return;
    }
    if (tally->failed++ < GF_MAX_PRINTED) {
        print_error("%s: %s %s reduction %s weights %s element %zu: analytic %.12g, differences "
                    "%.12g\n",
                    what, names_mode(g->mode), g->name, gf_red_name(r), weighted ? "yes" : "no", e,
                    an, fd);
    }
}

static const gf_data gf_shape = {2, 3, 2, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, {0}, {0}};

/* One case: the analytic gradient against central differences in the
 * input (wrt_target 0) or the dense targets (1). */
static void gf_case(const gf_cfg *g, gf_data *d, focal_reduction r, int weighted, int wrt_target,
                    gf_tally *tally)
{
    const double *w = weighted ? d->w : NULL;
    focal_loss *loss = gf_configure(g, d, r);
    size_t out_len = gf_out_len(g, d, r);
    double *out = numcheck_alloc(d->elems, sizeof *out);
    double *grad = numcheck_alloc(d->elems, sizeof *grad);
    focal_status st;
    if (wrt_target) {
        st = focal_backward_target_dense_f64(loss, d->n, d->c, d->inner, d->x, d->y, w, d->up, grad);
    } else if (d->dense) {
        st = focal_backward_dense_f64(loss, d->n, d->c, d->inner, d->x, d->y, w, d->up, grad);
    } else {
        st = focal_backward_f64(loss, d->n, d->c, d->inner, d->x, d->t, w, d->up, grad);
    }
    assert_int_equal(st, FOCAL_OK);
    tally->cases++;
    const char *what = wrt_target ? "target" : d->dense ? "input/dense" : "input/index";
    for (size_t e = 0; e < d->elems; e++) {
        double fd = gf_central(loss, d, w, out_len, out, wrt_target ? &d->y[e] : &d->x[e]);
        gf_compare(tally, what, g, r, weighted, e, fd, grad[e]);
    }
    free(out);
    free(grad);
    focal_loss_destroy(loss);
    gf_free(d);
}

/* The input gradient of one configuration, every target kind and reduction. */
static void gf_input_cases(const gf_cfg *g, gf_tally *tally)
{
    for (int dense = 0; dense < 2; dense++) {
        if (dense ? !g->dense_ok : !g->index_ok) {
            continue;
        }
        for (size_t ri = 0; ri < GF_RED_COUNT; ri++) {
            if (!gf_reduction_ok(g, gf_reductions[ri])) {
                continue;
            }
            for (int weighted = 0; weighted < 2; weighted++) {
                gf_data d = gf_shape;
                gf_fill(g, &d, dense, 0.0, 1.0, 1,
                        0x9f1a00u + ri * 7u + (size_t)dense * 3u + (size_t)weighted);
                gf_case(g, &d, gf_reductions[ri], weighted, 0, tally);
            }
        }
    }
}

/* The target gradient of one configuration and one target range. */
static void gf_target_cases(const gf_cfg *g, double y_lo, double y_hi, int64_t n, gf_tally *tally)
{
    for (size_t ri = 0; ri < GF_RED_COUNT; ri++) {
        if (!gf_reduction_ok(g, gf_reductions[ri])) {
            continue;
        }
        for (int weighted = 0; weighted < 2; weighted++) {
            gf_data d = gf_shape;
            d.n = n;
            gf_fill(g, &d, 1, y_lo, y_hi, 0, 0x7a26e7u + ri * 5u + (size_t)weighted);
            gf_case(g, &d, gf_reductions[ri], weighted, 1, tally);
        }
    }
}

static void gf_finish(const char *what, const gf_tally *tally)
{
    print_message("%s: %zu cases, %zu checks, %zu failed\n", what, tally->cases, tally->checks,
                  tally->failed);
    assert_true(tally->checks > 0);
    assert_int_equal(tally->failed, 0);
}

static void test_input_gradient(void **state)
{
    (void)state;
    gf_tally tally = {0, 0, 0};
    for (size_t i = 0; i < GF_CFG_COUNT; i++) {
        gf_input_cases(&gf_cfgs[i], &tally);
    }
    gf_finish("input gradient", &tally);
}

static void test_target_gradient(void **state)
{
    (void)state;
    gf_tally tally = {0, 0, 0};
    for (size_t i = 0; i < GF_CFG_COUNT; i++) {
        if (gf_cfgs[i].dense_ok) {
            gf_target_cases(&gf_cfgs[i], 0.05, 0.95, 2, &tally);
        }
    }
    gf_finish("target gradient", &tally);
}

/* Softmax with more classes than the class-major kernels take: the row
 * kernels' target gradient, without (c = 70, inner 1) and with (c = 300,
 * inner 2) the transposes. */
static void test_target_gradient_rows(void **state)
{
    (void)state;
    static const int64_t shapes[2][3] = {{2, 70, 1}, {1, 300, 2}};
    gf_tally tally = {0, 0, 0};
    for (size_t i = 0; i < GF_CFG_COUNT; i++) {
        const gf_cfg *g = &gf_cfgs[i];
        /* (the per-class vectors of gf_data hold 8 classes) */
        if (!g->dense_ok || g->mode != FOCAL_MODE_SOFTMAX || g->alpha == GF_ALPHA_VECTOR || g->pos_weight) {
            continue;
        }
        for (int k = 0; k < 2; k++) {
            gf_data d = gf_shape;
            d.n = shapes[k][0];
            d.c = shapes[k][1];
            d.inner = shapes[k][2];
            gf_fill(g, &d, 1, 0.0, 1.0, 0, 0x5eed70u + (size_t)k);
            gf_case(g, &d, FOCAL_REDUCTION_SUM, 1, 1, &tally);
        }
    }
    gf_finish("target gradient, row kernels", &tally);
}

/* Sigmoid with sum(y) < 1: SUM_OVER_POSITIVES divides by max(1, P) = 1,
 * whose derivative in the targets is 0 (one position of 3 elements, each
 * target below 0.15, so P < 0.45). */
static void test_target_gradient_few_positives(void **state)
{
    (void)state;
    gf_tally tally = {0, 0, 0};
    for (size_t i = 0; i < GF_CFG_COUNT; i++) {
        const gf_cfg *g = &gf_cfgs[i];
        if (g->dense_ok && g->mode == FOCAL_MODE_SIGMOID) {
            gf_target_cases(g, 0.02, 0.15, 1, &tally);
        }
    }
    gf_finish("target gradient, P < 1", &tally);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_input_gradient),
        cmocka_unit_test(test_target_gradient),
        cmocka_unit_test(test_target_gradient_rows),
        cmocka_unit_test(test_target_gradient_few_positives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
