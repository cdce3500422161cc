/*
 * Finite-difference gradient checks, softmax mode, float64.
 *
 * For every case of a settings grid (shape, gamma, alpha, reduction,
 * weights, ignore_index, kind of target and input) the analytic gradients
 * of focal_backward_f64 and focal_forward_backward_f64 are compared with
 * central differences of focal_forward_f64, element by element. The fused
 * call must also agree bitwise with the separate ones: its out with
 * forward's, its gradient with backward's under a unit upstream gradient.
 *
 * Tolerance: |fd - an| <= 1e-6 * max(1, |an|), step h = 1e-6 * max(1, |x|).
 * The central difference errs by h^2 |f'''| / 6 (truncation) plus about
 * u |f| / h (rounding, u a few ulps of the library's own forward pass).
 * On this grid |x| <= 3, |f| stays below ~1e2 and |f'''| below ~1e3
 * (probabilities stay inside [0.05, 0.95], so (1 - p)^gamma is smooth), so
 * both terms stay below ~1e-7: 1e-6 leaves an order of magnitude of room
 * and still catches any wrong term, which would be O(1e-3) or more.
 * With reduction NONE the objective is sum_s r_s * out_s for a random r;
 * only the perturbed position's out changes, so the difference is taken
 * per position and the other positions cancel exactly.
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

#define GC_TOL 1e-6
#define GC_STEP 1e-6
#define GC_LABEL_SMOOTHING 0.1
#define GC_IGNORE_OUTSIDE ((int64_t)-100)
/* Failing cases whose details are printed; the rest are only counted. */
#define GC_MAX_PRINTED_CASES 25

typedef enum gc_kind {
    KIND_INDEX,         /* logits, class indices */
    KIND_INDEX_LS,      /* logits, class indices, label smoothing */
    KIND_DENSE_SOFT,    /* logits, dense rows summing to one */
    KIND_DENSE_RAW,     /* logits, dense values in [0, 1] not summing to one */
    KIND_PROB_INDEX,    /* probabilities, class indices */
    KIND_PROB_INDEX_LS, /* probabilities, class indices, label smoothing */
    KIND_PROB_DENSE,    /* probabilities, dense values not summing to one */
    KIND_COUNT
} gc_kind;

static const char *const gc_kind_names[KIND_COUNT] = {
    "logits/index", "logits/index+ls", "logits/dense-soft", "logits/dense-raw",
    "probs/index",  "probs/index+ls",  "probs/dense-raw",
};

typedef enum gc_alpha { ALPHA_NONE, ALPHA_SCALAR, ALPHA_VECTOR, ALPHA_COUNT } gc_alpha;
static const char *const gc_alpha_names[ALPHA_COUNT] = {"none", "scalar", "vector"};

typedef enum gc_ignore { IGNORE_NONE, IGNORE_OUTSIDE, IGNORE_INSIDE, IGNORE_COUNT } gc_ignore;
static const char *const gc_ignore_names[IGNORE_COUNT] = {"none", "-100", "class c-1"};

static const double gc_gammas[] = {0.0, 0.5, 1.0, 2.0, 3.7};
#define GC_GAMMA_COUNT (sizeof gc_gammas / sizeof gc_gammas[0])

static const focal_reduction gc_reductions[] = {
    FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN, FOCAL_REDUCTION_SUM, FOCAL_REDUCTION_WEIGHTED_MEAN};
static const char *const gc_reduction_names[] = {"NONE", "MEAN", "SUM", "WEIGHTED_MEAN"};
#define GC_REDUCTION_COUNT (sizeof gc_reductions / sizeof gc_reductions[0])

typedef struct gc_shape {
    const char *name;
    int64_t n, c, inner;
    size_t fd_subset; /* 0: every element; else this many elements */
} gc_shape;

typedef struct gc_case {
    const gc_shape *shape;
    gc_kind kind;
    size_t gamma;     /* index into gc_gammas */
    gc_alpha alpha;
    size_t reduction; /* index into gc_reductions */
    int weighted;
    gc_ignore ignore;
    uint64_t seed;
} gc_case;

typedef struct gc_tally {
    size_t cases;
    size_t failed;
    size_t fd_checks;
} gc_tally;

static int kind_is_dense(gc_kind k)
{
    return k == KIND_DENSE_SOFT || k == KIND_DENSE_RAW || k == KIND_PROB_DENSE;
}

static int kind_is_prob(gc_kind k)
{
    return k == KIND_PROB_INDEX || k == KIND_PROB_INDEX_LS || k == KIND_PROB_DENSE;
}

static int kind_has_ls(gc_kind k)
{
    return k == KIND_INDEX_LS || k == KIND_PROB_INDEX_LS;
}

static void gc_describe(const gc_case *k, char *buf, size_t size)
{
    snprintf(buf, size,
             "shape %s kind %s gamma %g alpha %s reduction %s weights %s ignore %s seed %llu",
             k->shape->name, gc_kind_names[k->kind], gc_gammas[k->gamma], gc_alpha_names[k->alpha],
             gc_reduction_names[k->reduction], k->weighted ? "yes" : "no",
             gc_ignore_names[k->ignore], (unsigned long long)k->seed);
}

/* One failing case prints a header once, then its first few problems. */
typedef struct gc_report {
    const gc_case *k;
    size_t problems;
    int print;
} gc_report;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void gc_problem(gc_report *rep, const char *fmt, ...)
{
    if (rep->print) {
        if (rep->problems == 0) {
            char desc[256];
            gc_describe(rep->k, desc, sizeof desc);
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

typedef struct gc_data {
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
} gc_data;

static size_t elem_index(const gc_data *d, int64_t nn, int64_t cc, int64_t s)
{
    return (size_t)((nn * d->c + cc) * d->inner + s);
}

static void gc_fill(const gc_case *k, gc_data *d, numcheck_rng *rng)
{
    const gc_shape *sh = k->shape;
    d->n = sh->n;
    d->c = sh->c;
    d->inner = sh->inner;
    d->elems = (size_t)(sh->n * sh->c * sh->inner);
    d->positions = (size_t)(sh->n * sh->inner);
    d->out_len = gc_reductions[k->reduction] == FOCAL_REDUCTION_NONE ? d->positions : 1;

    d->x = numcheck_alloc(d->elems, sizeof *d->x);
    for (size_t i = 0; i < d->elems; i++) {
        d->x[i] = kind_is_prob(k->kind) ? numcheck_rng_uniform(rng, 0.05, 0.95)
                                        : numcheck_rng_uniform(rng, -3.0, 3.0);
    }

    d->ignore_value = k->ignore == IGNORE_OUTSIDE ? GC_IGNORE_OUTSIDE : d->c - 1;
    if (kind_is_dense(k->kind)) {
        d->dense = numcheck_alloc(d->elems, sizeof *d->dense);
        for (int64_t nn = 0; nn < d->n; nn++) {
            for (int64_t s = 0; s < d->inner; s++) {
                size_t p = (size_t)(nn * d->inner + s);
                double sum = 0.0;
                for (int64_t cc = 0; cc < d->c; cc++) {
                    double v = k->kind == KIND_DENSE_SOFT ? exp(numcheck_rng_uniform(rng, -2.0, 2.0))
                                                          : numcheck_rng_uniform(rng, 0.0, 1.0);
                    d->dense[elem_index(d, nn, cc, s)] = v;
                    sum += v;
                }
                /* Soft rows sum to one; raw rows are capped at 2.5 so the
                 * loss stays O(10) even with 300 classes. */
                double scale = k->kind == KIND_DENSE_SOFT ? 1.0 / sum : (sum > 2.5 ? 2.5 / sum : 1.0);
                for (int64_t cc = 0; cc < d->c; cc++) {
                    d->dense[elem_index(d, nn, cc, s)] *= scale;
                }
                /* A few special rows: one-hot (soft), all zero and exact
                 * 0 / 1 entries (raw). */
                if (p == 1 && d->positions > 2) {
                    int64_t hot = numcheck_rng_below(rng, d->c);
                    for (int64_t cc = 0; cc < d->c; cc++) {
                        d->dense[elem_index(d, nn, cc, s)] =
                            k->kind == KIND_DENSE_SOFT ? (cc == hot ? 1.0 : 0.0) : 0.0;
                    }
                } else if (p == 2 && d->positions > 2 && k->kind != KIND_DENSE_SOFT) {
                    d->dense[elem_index(d, nn, 0, s)] = 1.0;
                    if (d->c > 1) {
                        d->dense[elem_index(d, nn, d->c - 1, s)] = 0.0;
                    }
                }
            }
        }
    } else {
        d->target = numcheck_alloc(d->positions, sizeof *d->target);
        for (size_t p = 0; p < d->positions; p++) {
            int64_t t = numcheck_rng_below(rng, d->c);
            if (k->ignore != IGNORE_NONE && p != 0 && numcheck_rng_uniform(rng, 0.0, 1.0) < 0.25) {
                t = d->ignore_value;
            }
            if (k->ignore == IGNORE_INSIDE && p == 0 && d->c > 1) {
                t = numcheck_rng_below(rng, d->c - 1);
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
        d->alpha_vec[cc] = numcheck_rng_uniform(rng, 0.25, 1.5);
    }
    d->alpha_scalar = numcheck_rng_uniform(rng, 0.2, 1.3);

    d->upstream = numcheck_alloc(d->out_len, sizeof *d->upstream);
    d->ones = numcheck_alloc(d->out_len, sizeof *d->ones);
    for (size_t i = 0; i < d->out_len; i++) {
        d->upstream[i] = d->out_len > 1 ? numcheck_rng_uniform(rng, -1.0, 1.0)
                                        : numcheck_rng_uniform(rng, 0.5, 2.0);
        d->ones[i] = 1.0;
    }
}

static void gc_free(gc_data *d)
{
    free(d->x);
    free(d->target);
    free(d->dense);
    free(d->weight);
    free(d->alpha_vec);
    free(d->upstream);
    free(d->ones);
}

static focal_status gc_configure(const gc_case *k, const gc_data *d, focal_loss **out)
{
    focal_loss *loss = NULL;
    focal_status st = focal_loss_create(&loss, FOCAL_MODE_SOFTMAX);
    if (st != FOCAL_OK) {
        return st;
    }
    st = focal_loss_set_gamma(loss, gc_gammas[k->gamma]);
    if (st == FOCAL_OK && k->alpha == ALPHA_SCALAR) {
        st = focal_loss_set_alpha(loss, d->alpha_scalar);
    }
    if (st == FOCAL_OK && k->alpha == ALPHA_VECTOR) {
        st = focal_loss_set_alpha_vector(loss, d->alpha_vec, d->c);
    }
    if (st == FOCAL_OK) {
        st = focal_loss_set_reduction(loss, gc_reductions[k->reduction]);
    }
    if (st == FOCAL_OK && k->ignore != IGNORE_NONE) {
        st = focal_loss_set_ignore_index(loss, d->ignore_value);
    }
    if (st == FOCAL_OK && kind_is_prob(k->kind)) {
        st = focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES);
    }
    if (st == FOCAL_OK && kind_has_ls(k->kind)) {
        st = focal_loss_set_label_smoothing(loss, GC_LABEL_SMOOTHING);
    }
    /* Thousands of tiny calls: threads would only add overhead, and the
     * thread count cannot change results (checked in test_numerics). */
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

static focal_status gc_forward(const focal_loss *loss, const gc_data *d, double *out)
{
    if (d->dense != NULL) {
        return focal_forward_dense_f64(loss, d->n, d->c, d->inner, d->x, d->dense, d->weight, out);
    }
    return focal_forward_f64(loss, d->n, d->c, d->inner, d->x, d->target, d->weight, out);
}

static focal_status gc_backward(const focal_loss *loss, const gc_data *d, const double *up,
                                double *grad)
{
    if (d->dense != NULL) {
        return focal_backward_dense_f64(loss, d->n, d->c, d->inner, d->x, d->dense, d->weight, up,
                                        grad);
    }
    return focal_backward_f64(loss, d->n, d->c, d->inner, d->x, d->target, d->weight, up, grad);
}

static focal_status gc_fused(const focal_loss *loss, const gc_data *d, double *out, double *grad)
{
    if (d->dense != NULL) {
        return focal_forward_backward_dense_f64(loss, d->n, d->c, d->inner, d->x, d->dense,
                                                d->weight, out, grad);
    }
    return focal_forward_backward_f64(loss, d->n, d->c, d->inner, d->x, d->target, d->weight, out,
                                      grad);
}

/* The elements to difference: all of them, or the target elements of every
 * position (the most sensitive ones) followed by random elements. */
static size_t gc_pick_elements(const gc_case *k, const gc_data *d, numcheck_rng *rng, size_t *idx)
{
    size_t count = 0;
    if (k->shape->fd_subset == 0 || k->shape->fd_subset >= d->elems) {
        for (size_t i = 0; i < d->elems; i++) {
            idx[count++] = i;
        }
        return count;
    }
    if (d->target != NULL) {
        for (int64_t nn = 0; nn < d->n; nn++) {
            for (int64_t s = 0; s < d->inner; s++) {
                int64_t t = d->target[nn * d->inner + s];
                if (t >= 0 && t < d->c) {
                    idx[count++] = elem_index(d, nn, t, s);
                }
            }
        }
    }
    while (count < k->shape->fd_subset) {
        idx[count++] = (size_t)numcheck_rng_below(rng, (int64_t)d->elems);
    }
    return count;
}

static int gc_fd_close(double fd, double an)
{
    return isfinite(fd) && isfinite(an) && fabs(fd - an) <= GC_TOL * fmax(1.0, fabs(an));
}

static void gc_run_case(const gc_case *k, gc_tally *tally)
{
    numcheck_rng rng;
    numcheck_rng_seed(&rng, k->seed);
    gc_data d;
    memset(&d, 0, sizeof d);
    gc_fill(k, &d, &rng);

    gc_report rep = {k, 0, tally->failed < GC_MAX_PRINTED_CASES};
    tally->cases++;

    focal_loss *loss = NULL;
    focal_status st = gc_configure(k, &d, &loss);
    if (st != FOCAL_OK) {
        gc_problem(&rep, "configuring the context: %s (%s)", focal_status_string(st),
                   focal_last_error());
        tally->failed++;
        gc_free(&d);
        return;
    }

    double *out_fwd = numcheck_alloc(d.out_len, sizeof(double));
    double *out_fused = numcheck_alloc(d.out_len, sizeof(double));
    double *out_plus = numcheck_alloc(d.out_len, sizeof(double));
    double *out_minus = numcheck_alloc(d.out_len, sizeof(double));
    double *grad_fused = numcheck_alloc(d.elems, sizeof(double));
    double *grad_unit = numcheck_alloc(d.elems, sizeof(double));
    double *grad_up = numcheck_alloc(d.elems, sizeof(double));
    size_t *idx = numcheck_alloc(d.elems + (size_t)k->shape->fd_subset, sizeof(size_t));

    focal_status st_fwd = gc_forward(loss, &d, out_fwd);
    focal_status st_fused = gc_fused(loss, &d, out_fused, grad_fused);
    focal_status st_unit = gc_backward(loss, &d, d.ones, grad_unit);
    focal_status st_up = gc_backward(loss, &d, d.upstream, grad_up);
    if (st_fwd != FOCAL_OK || st_fused != FOCAL_OK || st_unit != FOCAL_OK || st_up != FOCAL_OK) {
        gc_problem(&rep, "status forward %d fused %d backward(unit) %d backward(r) %d: %s",
                   (int)st_fwd, (int)st_fused, (int)st_unit, (int)st_up, focal_last_error());
        goto done;
    }

    for (size_t i = 0; i < d.out_len; i++) {
        if (memcmp(&out_fwd[i], &out_fused[i], sizeof(double)) != 0) {
            gc_problem(&rep, "fused out[%zu] = %a differs bitwise from forward out %a", i,
                       out_fused[i], out_fwd[i]);
        }
    }
    for (size_t i = 0; i < d.elems; i++) {
        if (memcmp(&grad_unit[i], &grad_fused[i], sizeof(double)) != 0) {
            gc_problem(&rep,
                       "fused grad[%zu] = %a differs bitwise from backward(unit upstream) %a", i,
                       grad_fused[i], grad_unit[i]);
        }
    }

    /* Ignored positions and zero weights contribute nothing: their
     * gradient is exactly zero, not merely small. */
    for (int64_t nn = 0; nn < d.n; nn++) {
        for (int64_t s = 0; s < d.inner; s++) {
            size_t p = (size_t)(nn * d.inner + s);
            int ignored = d.target != NULL && k->ignore != IGNORE_NONE && d.target[p] == d.ignore_value;
            int zero_weight = d.weight != NULL && d.weight[p] == 0.0;
            if (!ignored && !zero_weight) {
                continue;
            }
            for (int64_t cc = 0; cc < d.c; cc++) {
                size_t e = elem_index(&d, nn, cc, s);
                if (grad_fused[e] != 0.0 || grad_up[e] != 0.0) {
                    gc_problem(&rep, "%s position %zu: grad[%zu] fused %.17g backward(r) %.17g, expected 0",
                               ignored ? "ignored" : "zero-weight", p, e, grad_fused[e], grad_up[e]);
                }
            }
            if (d.out_len > 1 && out_fwd[p] != 0.0) {
                gc_problem(&rep, "%s position %zu: out %.17g, expected 0",
                           ignored ? "ignored" : "zero-weight", p, out_fwd[p]);
            }
        }
    }

    size_t count = gc_pick_elements(k, &d, &rng, idx);
    for (size_t j = 0; j < count; j++) {
        size_t i = idx[j];
        double x0 = d.x[i];
        double h = GC_STEP * fmax(1.0, fabs(x0));
        double xp = x0 + h;
        double xm = x0 - h;
        d.x[i] = xp;
        focal_status sp = gc_forward(loss, &d, out_plus);
        d.x[i] = xm;
        focal_status sm = gc_forward(loss, &d, out_minus);
        d.x[i] = x0;
        if (sp != FOCAL_OK || sm != FOCAL_OK) {
            gc_problem(&rep, "forward at x[%zu] +- h: status %d / %d: %s", i, (int)sp, (int)sm,
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
        if (!gc_fd_close(fd_up, grad_up[i])) {
            gc_problem(&rep, "backward(r) grad[%zu] = %.12g, central difference %.12g (x = %.6g)",
                       i, grad_up[i], fd_up, x0);
        }
        if (!gc_fd_close(fd_unit, grad_fused[i])) {
            gc_problem(&rep, "fused grad[%zu] = %.12g, central difference %.12g (x = %.6g)", i,
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
    free(idx);
    gc_free(&d);
}

static uint64_t gc_seed(const gc_shape *sh, size_t counter)
{
    return UINT64_C(0x5eed0f0ca1) ^ ((uint64_t)sh->c << 40) ^ ((uint64_t)sh->inner << 24) ^
           (uint64_t)counter;
}

static void gc_finish(const gc_shape *sh, const gc_tally *tally)
{
    if (tally->failed > 0) {
        print_error("%s: %zu of %zu cases failed (%zu finite-difference checks)\n", sh->name,
                    tally->failed, tally->cases, tally->fd_checks);
    }
    assert_true(tally->cases > 0);
    assert_int_equal(tally->failed, 0);
}

/* The full product of the grid; ignore_index only varies for index
 * targets, where it applies. */
static void gc_full_grid(const gc_shape *sh)
{
    gc_tally tally = {0, 0, 0};
    size_t counter = 0;
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        int ignores = kind_is_dense((gc_kind)kind) ? 1 : IGNORE_COUNT;
        for (size_t g = 0; g < GC_GAMMA_COUNT; g++) {
            for (int a = 0; a < ALPHA_COUNT; a++) {
                for (size_t r = 0; r < GC_REDUCTION_COUNT; r++) {
                    for (int w = 0; w < 2; w++) {
                        for (int ig = 0; ig < ignores; ig++) {
                            gc_case k = {sh, (gc_kind)kind, g, (gc_alpha)a, r, w, (gc_ignore)ig,
                                         gc_seed(sh, counter++)};
                            gc_run_case(&k, &tally);
                        }
                    }
                }
            }
        }
    }
    gc_finish(sh, &tally);
}

/* Every (kind, gamma, reduction) triple once; alpha, weights and
 * ignore_index cycle so that each of their values meets every kind. */
static void gc_covering_grid(const gc_shape *sh)
{
    gc_tally tally = {0, 0, 0};
    size_t counter = 0;
    for (int kind = 0; kind < KIND_COUNT; kind++) {
        for (size_t g = 0; g < GC_GAMMA_COUNT; g++) {
            for (size_t r = 0; r < GC_REDUCTION_COUNT; r++) {
                size_t i = counter++;
                gc_ignore ig = kind_is_dense((gc_kind)kind) ? IGNORE_NONE
                                                            : (gc_ignore)((i / 2) % IGNORE_COUNT);
                gc_case k = {sh, (gc_kind)kind, g, (gc_alpha)(i % ALPHA_COUNT), r,
                             (int)((i / 3) % 2), ig, gc_seed(sh, i)};
                gc_run_case(&k, &tally);
            }
        }
    }
    gc_finish(sh, &tally);
}

static const gc_shape shape_2d = {"(4,5)", 4, 5, 1, 0};
static const gc_shape shape_4d = {"(2,3,2,3)", 2, 3, 6, 0};
static const gc_shape shape_5d = {"(1,3,2,2,2)", 1, 3, 8, 0};
static const gc_shape shape_c1 = {"(3,1,1,2) C=1", 3, 1, 2, 0};
static const gc_shape shape_wide = {"(2,300)", 2, 300, 1, 40};

static void test_gradcheck_nc(void **state)
{
    (void)state;
    gc_full_grid(&shape_2d);
}

static void test_gradcheck_nchw(void **state)
{
    (void)state;
    gc_full_grid(&shape_4d);
}

static void test_gradcheck_ncdhw(void **state)
{
    (void)state;
    gc_full_grid(&shape_5d);
}

static void test_gradcheck_one_class(void **state)
{
    (void)state;
    gc_full_grid(&shape_c1);
}

static void test_gradcheck_many_classes(void **state)
{
    (void)state;
    gc_covering_grid(&shape_wide);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcheck_nc),
        cmocka_unit_test(test_gradcheck_nchw),
        cmocka_unit_test(test_gradcheck_ncdhw),
        cmocka_unit_test(test_gradcheck_one_class),
        cmocka_unit_test(test_gradcheck_many_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
