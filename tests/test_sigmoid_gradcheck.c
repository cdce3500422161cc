/*
 * Finite-difference gradient checks, sigmoid mode, float64.
 *
 * Every case of a settings grid (shape, kind of target and input, gamma /
 * FL* parameters, alpha, reduction, weights, ignore_index) compares the
 * analytic gradients of focal_backward*_f64 (random upstream gradient) and
 * focal_forward_backward*_f64 with central differences of
 * focal_forward*_f64, element by element. The fused call must also agree
 * bitwise with the separate ones: its out with forward's, its gradient with
 * backward's under a unit upstream gradient.
 *
 * Tolerance: |fd - an| <= 1e-6 * max(1, |an|), step h = 1e-6 * max(1, |x|).
 * The central difference errs by h^2 |f'''| / 6 plus about u |f| / h. On
 * this grid logits stay in [-3, 3] and probabilities in [0.05, 0.95], so
 * 1 - p_t >= 0.047 and (1 - p_t)^gamma is smooth even for gamma = 0.5;
 * |f| stays below ~1e2 and |f'''| below ~1e2, which keeps both error terms
 * near 1e-8. A wrong term would be O(1e-3) or more.
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

#include "numcheck.h"

#define SG_TOL 1e-6
#define SG_STEP 1e-6
#define SG_LABEL_SMOOTHING 0.1
#define SG_IGNORE_OUTSIDE ((int64_t)-100)
#define SG_MAX_PRINTED_CASES 25

typedef enum sg_kind {
    KIND_INDEX,        /* logits, index targets (positives, background c) */
    KIND_INDEX_LS,     /* the same with label smoothing */
    KIND_DENSE_HARD,   /* logits, dense 0/1 targets */
    KIND_DENSE_SOFT,   /* logits, dense targets in [0, 1] (some exactly 0 or 1) */
    KIND_DENSE_SOFT_LS,
    KIND_PROB_INDEX,   /* probabilities, index targets */
    KIND_PROB_DENSE,   /* probabilities, dense soft targets */
    KIND_PROB_DENSE_LS,
    KIND_STAR_INDEX,   /* FL*, index targets */
    KIND_STAR_DENSE,   /* FL*, dense soft targets */
    KIND_STAR_INDEX_LS,
    KIND_COUNT
} sg_kind;

static const char *const sg_kind_names[KIND_COUNT] = {
    "logits/index",     "logits/index+ls",  "logits/dense-hard", "logits/dense-soft",
    "logits/dense-soft+ls", "probs/index",  "probs/dense-soft",  "probs/dense-soft+ls",
    "FL*/index",        "FL*/dense-soft",   "FL*/index+ls",
};

static int kind_is_dense(sg_kind k)
{
    return k == KIND_DENSE_HARD || k == KIND_DENSE_SOFT || k == KIND_DENSE_SOFT_LS ||
           k == KIND_PROB_DENSE || k == KIND_PROB_DENSE_LS || k == KIND_STAR_DENSE;
}

static int kind_is_prob(sg_kind k)
{
    return k == KIND_PROB_INDEX || k == KIND_PROB_DENSE || k == KIND_PROB_DENSE_LS;
}

static int kind_is_star(sg_kind k)
{
    return k == KIND_STAR_INDEX || k == KIND_STAR_DENSE || k == KIND_STAR_INDEX_LS;
}

static int kind_has_ls(sg_kind k)
{
    return k == KIND_INDEX_LS || k == KIND_DENSE_SOFT_LS || k == KIND_PROB_DENSE_LS ||
           k == KIND_STAR_INDEX_LS;
}

/* The focusing parameters: gamma for FL, (gamma, beta) pairs for FL*. */
static const double sg_fl_gammas[] = {0.0, 0.5, 1.0, 2.0, 3.7};
#define SG_FL_PARAMS (sizeof sg_fl_gammas / sizeof sg_fl_gammas[0])
static const double sg_star_params[][2] = {{1.0, 0.0}, {1.0, 1.5}, {2.0, 0.0}, {2.0, 1.5}};
#define SG_STAR_PARAMS (sizeof sg_star_params / sizeof sg_star_params[0])

static size_t kind_params(sg_kind k)
{
    return kind_is_star(k) ? SG_STAR_PARAMS : SG_FL_PARAMS;
}

static double param_gamma(sg_kind k, size_t i)
{
    return kind_is_star(k) ? sg_star_params[i][0] : sg_fl_gammas[i];
}

static double param_beta(sg_kind k, size_t i)
{
    return kind_is_star(k) ? sg_star_params[i][1] : 0.0;
}

typedef enum sg_alpha { ALPHA_NONE, ALPHA_SCALAR, ALPHA_VECTOR, ALPHA_COUNT } sg_alpha;
static const char *const sg_alpha_names[ALPHA_COUNT] = {"none", "scalar", "vector"};

typedef enum sg_ignore { IGNORE_NONE, IGNORE_OUTSIDE, IGNORE_INSIDE, IGNORE_COUNT } sg_ignore;
static const char *const sg_ignore_names[IGNORE_COUNT] = {"none", "-100", "class c-1"};

static const focal_reduction sg_reductions[] = {
    FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN, FOCAL_REDUCTION_SUM,
    FOCAL_REDUCTION_WEIGHTED_MEAN, FOCAL_REDUCTION_SUM_OVER_POSITIVES};
static const char *const sg_reduction_names[] = {"NONE", "MEAN", "SUM", "WEIGHTED_MEAN",
                                                 "SUM_OVER_POSITIVES"};
#define SG_REDUCTION_COUNT (sizeof sg_reductions / sizeof sg_reductions[0])

typedef struct sg_shape {
    const char *name;
    int64_t n, c, inner;
} sg_shape;

typedef struct sg_case {
    const sg_shape *shape;
    sg_kind kind;
    size_t param;
    sg_alpha alpha;
    size_t reduction;
    int weighted;
    sg_ignore ignore;
    uint64_t seed;
} sg_case;

typedef struct sg_tally {
    size_t cases;
    size_t failed;
    size_t fd_checks;
} sg_tally;

static void sg_describe(const sg_case *k, char *buf, size_t size)
{
    snprintf(buf, size,
             "shape %s kind %s gamma %g beta %g alpha %s reduction %s weights %s ignore %s "
             "seed %llu",
             k->shape->name, sg_kind_names[k->kind], param_gamma(k->kind, k->param),
             param_beta(k->kind, k->param), sg_alpha_names[k->alpha],
             sg_reduction_names[k->reduction], k->weighted ? "yes" : "no",
             sg_ignore_names[k->ignore], (unsigned long long)k->seed);
}

typedef struct sg_report {
    const sg_case *k;
    size_t problems;
    int print;
} sg_report;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sg_problem(sg_report *rep, const char *fmt, ...)
{
    if (rep->print) {
        if (rep->problems == 0) {
            char desc[320];
            sg_describe(rep->k, desc, sizeof desc);
            print_error("FAILED CASE: %s\n", desc);
        }
        if (rep->problems < 4) {
            char line[512];
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(line, sizeof line, fmt, ap);
            va_end(ap);
            print_error("    %s\n", line);
        }
    }
    rep->problems++;
}

typedef struct sg_data {
    int64_t n, c, inner;
    size_t elems, positions, out_len;
    double *x;
    int64_t *target;
    double *dense;
    double *weight;
    double *alpha_vec;
    double alpha_scalar;
    int64_t ignore_value;
    double *upstream;
    double *ones;
} sg_data;

static size_t elem_index(const sg_data *d, int64_t nn, int64_t cc, int64_t s)
{
    return (size_t)((nn * d->c + cc) * d->inner + s);
}

static void sg_fill(const sg_case *k, sg_data *d, numcheck_rng *rng)
{
    const sg_shape *sh = k->shape;
    d->n = sh->n;
    d->c = sh->c;
    d->inner = sh->inner;
    d->elems = (size_t)(sh->n * sh->c * sh->inner);
    d->positions = (size_t)(sh->n * sh->inner);
    /* Sigmoid NONE: one value per element. */
    d->out_len = sg_reductions[k->reduction] == FOCAL_REDUCTION_NONE ? d->elems : 1;

    d->x = numcheck_alloc(d->elems, sizeof *d->x);
    for (size_t i = 0; i < d->elems; i++) {
        d->x[i] = kind_is_prob(k->kind) ? numcheck_rng_uniform(rng, 0.05, 0.95)
                                        : numcheck_rng_uniform(rng, -3.0, 3.0);
    }

    d->ignore_value = k->ignore == IGNORE_OUTSIDE ? SG_IGNORE_OUTSIDE : d->c - 1;
    if (kind_is_dense(k->kind)) {
        d->dense = numcheck_alloc(d->elems, sizeof *d->dense);
        for (size_t i = 0; i < d->elems; i++) {
            double u = numcheck_rng_uniform(rng, 0.0, 1.0);
            if (k->kind == KIND_DENSE_HARD) {
                d->dense[i] = u < 0.35 ? 1.0 : 0.0;
            } else if (u < 0.15) {
                d->dense[i] = 0.0;
            } else if (u < 0.3) {
                d->dense[i] = 1.0;
            } else {
                d->dense[i] = numcheck_rng_uniform(rng, 0.0, 1.0);
            }
        }
    } else {
        /* Index targets in [0, c]: c is background; position 0 is a
         * positive, position 1 background, the rest random, and a quarter
         * of the later ones ignored when an ignore_index is set. */
        d->target = numcheck_alloc(d->positions, sizeof *d->target);
        for (size_t p = 0; p < d->positions; p++) {
            int64_t t = numcheck_rng_below(rng, d->c + 1);
            if (p == 0) {
                t = numcheck_rng_below(rng, d->c);
                if (k->ignore == IGNORE_INSIDE && d->c > 1 && t == d->ignore_value) {
                    t = 0;
                }
            } else if (p == 1) {
                t = d->c;
            } else if (k->ignore != IGNORE_NONE && numcheck_rng_uniform(rng, 0.0, 1.0) < 0.25) {
                t = d->ignore_value;
            }
            d->target[p] = t;
        }
    }

    if (k->weighted) {
        d->weight = numcheck_alloc(d->positions, sizeof *d->weight);
        for (size_t p = 0; p < d->positions; p++) {
            d->weight[p] = numcheck_rng_uniform(rng, 0.5, 2.0);
        }
        if (d->positions > 1) {
            d->weight[d->positions - 1] = 0.0;
        }
    }

    d->alpha_vec = numcheck_alloc((size_t)d->c, sizeof *d->alpha_vec);
    for (int64_t cc = 0; cc < d->c; cc++) {
        d->alpha_vec[cc] = numcheck_rng_uniform(rng, 0.1, 0.9);
    }
    d->alpha_scalar = numcheck_rng_uniform(rng, 0.15, 0.85);

    d->upstream = numcheck_alloc(d->out_len, sizeof *d->upstream);
    d->ones = numcheck_alloc(d->out_len, sizeof *d->ones);
    for (size_t i = 0; i < d->out_len; i++) {
        d->upstream[i] = d->out_len > 1 ? numcheck_rng_uniform(rng, -1.0, 1.0)
                                        : numcheck_rng_uniform(rng, 0.5, 2.0);
        d->ones[i] = 1.0;
    }
}

static void sg_free(sg_data *d)
{
    free(d->x);
    free(d->target);
    free(d->dense);
    free(d->weight);
    free(d->alpha_vec);
    free(d->upstream);
    free(d->ones);
}

static focal_status sg_configure(const sg_case *k, const sg_data *d, focal_loss **out)
{
    focal_loss *loss = NULL;
    focal_status st = focal_loss_create(&loss, FOCAL_MODE_SIGMOID);
    if (st != FOCAL_OK) {
        return st;
    }
    st = focal_loss_set_gamma(loss, param_gamma(k->kind, k->param));
    if (st == FOCAL_OK && kind_is_star(k->kind)) {
        st = focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR);
    }
    if (st == FOCAL_OK && kind_is_star(k->kind)) {
        st = focal_loss_set_beta(loss, param_beta(k->kind, k->param));
    }
    if (st == FOCAL_OK && k->alpha == ALPHA_SCALAR) {
        st = focal_loss_set_alpha(loss, d->alpha_scalar);
    }
    if (st == FOCAL_OK && k->alpha == ALPHA_VECTOR) {
        st = focal_loss_set_alpha_vector(loss, d->alpha_vec, d->c);
    }
    if (st == FOCAL_OK) {
        st = focal_loss_set_reduction(loss, sg_reductions[k->reduction]);
    }
    if (st == FOCAL_OK && k->ignore != IGNORE_NONE) {
        st = focal_loss_set_ignore_index(loss, d->ignore_value);
    }
    if (st == FOCAL_OK && kind_is_prob(k->kind)) {
        st = focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES);
    }
    if (st == FOCAL_OK && kind_has_ls(k->kind)) {
        st = focal_loss_set_label_smoothing(loss, SG_LABEL_SMOOTHING);
    }
    if (st == FOCAL_OK) {
        st = focal_loss_set_threads(loss, 1);
    }
    if (st != FOCAL_OK) {
        focal_loss_destroy(loss);
        return st;
    }
    *out = loss;
    return FOCAL_OK;
}

static focal_status sg_forward(const focal_loss *loss, const sg_data *d, double *out)
{
    if (d->dense != NULL) {
        return focal_forward_dense_f64(loss, d->n, d->c, d->inner, d->x, d->dense, d->weight, out);
    }
    return focal_forward_f64(loss, d->n, d->c, d->inner, d->x, d->target, d->weight, out);
}

static focal_status sg_backward(const focal_loss *loss, const sg_data *d, const double *up,
                                double *grad)
{
    if (d->dense != NULL) {
        return focal_backward_dense_f64(loss, d->n, d->c, d->inner, d->x, d->dense, d->weight, up,
                                        grad);
    }
    return focal_backward_f64(loss, d->n, d->c, d->inner, d->x, d->target, d->weight, up, grad);
}

static focal_status sg_fused(const focal_loss *loss, const sg_data *d, double *out, double *grad)
{
    if (d->dense != NULL) {
        return focal_forward_backward_dense_f64(loss, d->n, d->c, d->inner, d->x, d->dense,
                                                d->weight, out, grad);
    }
    return focal_forward_backward_f64(loss, d->n, d->c, d->inner, d->x, d->target, d->weight, out,
                                      grad);
}

static int sg_fd_close(double fd, double an)
{
    return isfinite(fd) && isfinite(an) && fabs(fd - an) <= SG_TOL * fmax(1.0, fabs(an));
}

/* Exact zeros the settings force: ignored positions and zero weights. */
static void sg_check_structural_zeros(const sg_case *k, const sg_data *d, const double *out_fwd,
                                      const double *grad_fused, const double *grad_up,
                                      sg_report *rep)
{
    for (int64_t nn = 0; nn < d->n; nn++) {
        for (int64_t s = 0; s < d->inner; s++) {
            size_t p = (size_t)(nn * d->inner + s);
            int ignored =
                d->target != NULL && k->ignore != IGNORE_NONE && d->target[p] == d->ignore_value;
            int zero_weight = d->weight != NULL && d->weight[p] == 0.0;
            if (!ignored && !zero_weight) {
                continue;
            }
            for (int64_t cc = 0; cc < d->c; cc++) {
                size_t e = elem_index(d, nn, cc, s);
                if (grad_fused[e] != 0.0 || grad_up[e] != 0.0) {
                    sg_problem(rep, "%s position %zu: grad[%zu] fused %.17g backward(r) %.17g, "
                               "expected 0",
                               ignored ? "ignored" : "zero-weight", p, e, grad_fused[e],
                               grad_up[e]);
                }
                if (d->out_len > 1 && out_fwd[e] != 0.0) {
                    sg_problem(rep, "%s position %zu: out[%zu] %.17g, expected 0",
                               ignored ? "ignored" : "zero-weight", p, e, out_fwd[e]);
                }
            }
        }
    }
}

static void sg_run_case(const sg_case *k, sg_tally *tally)
{
    numcheck_rng rng;
    numcheck_rng_seed(&rng, k->seed);
    sg_data d;
    memset(&d, 0, sizeof d);
    sg_fill(k, &d, &rng);

    sg_report rep = {k, 0, tally->failed < SG_MAX_PRINTED_CASES};
    tally->cases++;

    focal_loss *loss = NULL;
    focal_status st = sg_configure(k, &d, &loss);
    if (st != FOCAL_OK) {
        sg_problem(&rep, "configuring the context: %s (%s)", focal_status_string(st),
                   focal_last_error());
        tally->failed++;
        sg_free(&d);
        return;
    }

    double *out_fwd = numcheck_alloc(d.out_len, sizeof(double));
    double *out_fused = numcheck_alloc(d.out_len, sizeof(double));
    double *out_plus = numcheck_alloc(d.out_len, sizeof(double));
    double *out_minus = numcheck_alloc(d.out_len, sizeof(double));
    double *grad_fused = numcheck_alloc(d.elems, sizeof(double));
    double *grad_unit = numcheck_alloc(d.elems, sizeof(double));
    double *grad_up = numcheck_alloc(d.elems, sizeof(double));

    focal_status st_fwd = sg_forward(loss, &d, out_fwd);
    focal_status st_fused = sg_fused(loss, &d, out_fused, grad_fused);
    focal_status st_unit = sg_backward(loss, &d, d.ones, grad_unit);
    focal_status st_up = sg_backward(loss, &d, d.upstream, grad_up);
    if (st_fwd != FOCAL_OK || st_fused != FOCAL_OK || st_unit != FOCAL_OK || st_up != FOCAL_OK) {
        sg_problem(&rep, "status forward %d fused %d backward(unit) %d backward(r) %d: %s",
                   (int)st_fwd, (int)st_fused, (int)st_unit, (int)st_up, focal_last_error());
        goto done;
    }

    for (size_t i = 0; i < d.out_len; i++) {
        if (memcmp(&out_fwd[i], &out_fused[i], sizeof(double)) != 0) {
            sg_problem(&rep, "fused out[%zu] = %a differs bitwise from forward out %a", i,
                       out_fused[i], out_fwd[i]);
        }
    }
    for (size_t i = 0; i < d.elems; i++) {
        if (memcmp(&grad_unit[i], &grad_fused[i], sizeof(double)) != 0) {
            sg_problem(&rep,
                       "fused grad[%zu] = %a differs bitwise from backward(unit upstream) %a", i,
                       grad_fused[i], grad_unit[i]);
        }
    }
    sg_check_structural_zeros(k, &d, out_fwd, grad_fused, grad_up, &rep);

    for (size_t i = 0; i < d.elems; i++) {
        double x0 = d.x[i];
        double h = SG_STEP * fmax(1.0, fabs(x0));
        double xp = x0 + h;
        double xm = x0 - h;
        d.x[i] = xp;
        focal_status sp = sg_forward(loss, &d, out_plus);
        d.x[i] = xm;
        focal_status sm = sg_forward(loss, &d, out_minus);
        d.x[i] = x0;
        if (sp != FOCAL_OK || sm != FOCAL_OK) {
            sg_problem(&rep, "forward at x[%zu] +- h: status %d / %d: %s", i, (int)sp, (int)sm,
                       focal_last_error());
            continue;
        }
        double dx = xp - xm;
        double fd_up = 0.0;
        double fd_unit = 0.0;
        for (size_t s = 0; s < d.out_len; s++) {
            double diff = out_plus[s] - out_minus[s];
            fd_up += d.upstream[s] * diff;
            fd_unit += diff;
        }
        fd_up /= dx;
        fd_unit /= dx;
        tally->fd_checks++;
        if (!sg_fd_close(fd_up, grad_up[i])) {
            sg_problem(&rep, "backward(r) grad[%zu] = %.12g, central difference %.12g (x = %.6g)",
                       i, grad_up[i], fd_up, x0);
        }
        if (!sg_fd_close(fd_unit, grad_fused[i])) {
            sg_problem(&rep, "fused grad[%zu] = %.12g, central difference %.12g (x = %.6g)", i,
                       grad_fused[i], fd_unit, x0);
        }
    }

done:
    if (rep.problems > 0) {
        tally->failed++;
        if (rep.print && rep.problems > 4) {
            print_error("    ... %zu problems in this case\n", rep.problems);
        }
    }
    focal_loss_destroy(loss);
    free(out_fwd);
    free(out_fused);
    free(out_plus);
    free(out_minus);
    free(grad_fused);
    free(grad_unit);
    free(grad_up);
    sg_free(&d);
}

static uint64_t sg_seed(const sg_shape *sh, size_t counter)
{
    return UINT64_C(0x5167a0f0ca1) ^ ((uint64_t)sh->c << 40) ^ ((uint64_t)sh->inner << 24) ^
           (uint64_t)counter;
}

/* The full product of the grid; ignore_index only varies for index
 * targets, where it applies. */
static void sg_full_grid(const sg_shape *sh)
{
    sg_tally tally = {0, 0, 0};
    size_t counter = 0;
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        int ignores = kind_is_dense((sg_kind)kind) ? 1 : IGNORE_COUNT;
        for (size_t g = 0; g < kind_params((sg_kind)kind); g++) {
            for (int a = 0; a < ALPHA_COUNT; a++) {
                for (size_t r = 0; r < SG_REDUCTION_COUNT; r++) {
                    for (int w = 0; w < 2; w++) {
                        for (int ig = 0; ig < ignores; ig++) {
                            sg_case k = {sh, (sg_kind)kind, g, (sg_alpha)a, r, w, (sg_ignore)ig,
                                         sg_seed(sh, counter++)};
                            sg_run_case(&k, &tally);
                        }
                    }
                }
            }
        }
    }
    if (tally.failed > 0) {
        print_error("%s: %zu of %zu cases failed (%zu finite-difference checks)\n", sh->name,
                    tally.failed, tally.cases, tally.fd_checks);
    }
    assert_true(tally.cases > 0);
    assert_int_equal(tally.failed, 0);
}

static const sg_shape shape_2d = {"(4,5)", 4, 5, 1};
static const sg_shape shape_4d = {"(2,3,2,3)", 2, 3, 6};
static const sg_shape shape_c1 = {"(3,1,1,2) C=1", 3, 1, 2};

static void test_sigmoid_gradcheck_nc(void **state)
{
    (void)state;
    sg_full_grid(&shape_2d);
}

static void test_sigmoid_gradcheck_nchw(void **state)
{
    (void)state;
    sg_full_grid(&shape_4d);
}

static void test_sigmoid_gradcheck_one_class(void **state)
{
    (void)state;
    sg_full_grid(&shape_c1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigmoid_gradcheck_nc),
        cmocka_unit_test(test_sigmoid_gradcheck_nchw),
        cmocka_unit_test(test_sigmoid_gradcheck_one_class),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
