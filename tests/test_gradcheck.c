/*
 * Finite-difference gradient checks, softmax and sigmoid modes, float64.
 *
 * For every case of a settings grid (mode, shape, kind of target and input,
 * gamma or FL*'s (gamma, beta), alpha, reduction, weights, ignore_index)
 * the analytic gradients of focal_backward*_f64 (random upstream gradient)
 * and focal_forward_backward*_f64 are compared with central differences of
 * focal_forward*_f64, element by element. The fused call must also agree
 * bitwise with the separate ones: its out with forward's, its gradient
 * with backward's under a unit upstream gradient. Ignored positions and
 * zero weights must give exact zeros.
 *
 * Tolerance: |fd - an| <= 1e-6 * max(1, |an|), step h = 1e-6 * max(1, |x|).
 * The central difference errs by h^2 |f'''| / 6 (truncation) plus about
 * u |f| / h (rounding, u a few ulps of the library's own forward pass).
 * On these grids logits stay in [-3, 3] and probabilities in [0.05, 0.95],
 * so (1 - p_t)^gamma is smooth even for gamma = 0.5 (sigmoid: 1 - p_t >=
 * 0.047), |f| stays below ~1e2 and |f'''| below ~1e3 (softmax) or ~1e2
 * (sigmoid), so both terms stay below ~1e-7: 1e-6 leaves an order of
 * magnitude of room and still catches any wrong term, which would be
 * O(1e-3) or more.
 * With reduction NONE the objective is sum_i r_i * out_i for a random r;
 * only the outputs of the perturbed position (softmax) or element
 * (sigmoid) change, so the other outputs cancel exactly.
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

#define GC_TOL 1e-6
#define GC_STEP 1e-6
#define GC_LABEL_SMOOTHING 0.1
#define GC_IGNORE_OUTSIDE ((int64_t)-100)
/* Failing cases whose details are printed; the rest are only counted. */
#define GC_MAX_PRINTED_CASES 25

/* ------------------------------------------------------------------------
 * The grid's axes
 * ------------------------------------------------------------------------ */

/* How the targets of a kind are drawn. */
typedef enum gc_targets {
    TARGETS_INDEX,      /* class indices (sigmoid: and background c) */
    TARGETS_ROWS_SOFT,  /* softmax: dense rows summing to one */
    TARGETS_ROWS_RAW,   /* softmax: dense values in [0, 1] not summing to one */
    TARGETS_HARD,       /* sigmoid: dense 0/1 */
    TARGETS_SOFT,       /* sigmoid: dense in [0, 1], some exactly 0 or 1 */
} gc_targets;

typedef struct gc_kind {
    const char *name;
    gc_targets targets;
    int probs;          /* probabilities input */
    int ls;             /* label smoothing */
    int star;           /* FL* */
} gc_kind;

static const gc_kind softmax_kinds[] = {
    {"logits/index", TARGETS_INDEX, 0, 0, 0},
    {"logits/index+ls", TARGETS_INDEX, 0, 1, 0},
    {"logits/dense-soft", TARGETS_ROWS_SOFT, 0, 0, 0},
    {"logits/dense-raw", TARGETS_ROWS_RAW, 0, 0, 0},
    {"probs/index", TARGETS_INDEX, 1, 0, 0},
    {"probs/index+ls", TARGETS_INDEX, 1, 1, 0},
    {"probs/dense-raw", TARGETS_ROWS_RAW, 1, 0, 0},
};

static const gc_kind sigmoid_kinds[] = {
    {"logits/index", TARGETS_INDEX, 0, 0, 0},
    {"logits/index+ls", TARGETS_INDEX, 0, 1, 0},
    {"logits/dense-hard", TARGETS_HARD, 0, 0, 0},
    {"logits/dense-soft", TARGETS_SOFT, 0, 0, 0},
    {"logits/dense-soft+ls", TARGETS_SOFT, 0, 1, 0},
    {"probs/index", TARGETS_INDEX, 1, 0, 0},
    {"probs/dense-soft", TARGETS_SOFT, 1, 0, 0},
    {"probs/dense-soft+ls", TARGETS_SOFT, 1, 1, 0},
    {"FL*/index", TARGETS_INDEX, 0, 0, 1},
    {"FL*/dense-soft", TARGETS_SOFT, 0, 0, 1},
    {"FL*/index+ls", TARGETS_INDEX, 0, 1, 1},
};

/* The focusing parameters: gamma for FL, (gamma, beta) pairs for FL*. */
static const double gc_gammas[] = {0.0, 0.5, 1.0, 2.0, 3.7};
#define GC_GAMMA_COUNT (sizeof gc_gammas / sizeof gc_gammas[0])
static const double gc_star_params[][2] = {{1.0, 0.0}, {1.0, 1.5}, {2.0, 0.0}, {2.0, 1.5}};
#define GC_STAR_COUNT (sizeof gc_star_params / sizeof gc_star_params[0])

static size_t kind_params(const gc_kind *k)
{
    return k->star ? GC_STAR_COUNT : GC_GAMMA_COUNT;
}

static double param_gamma(const gc_kind *k, size_t i)
{
    return k->star ? gc_star_params[i][0] : gc_gammas[i];
}

static double param_beta(const gc_kind *k, size_t i)
{
    return k->star ? gc_star_params[i][1] : 0.0;
}

typedef enum gc_alpha { ALPHA_NONE, ALPHA_SCALAR, ALPHA_VECTOR, ALPHA_COUNT } gc_alpha;
static const char *const gc_alpha_names[ALPHA_COUNT] = {"none", "scalar", "vector"};

typedef enum gc_ignore { IGNORE_NONE, IGNORE_OUTSIDE, IGNORE_INSIDE, IGNORE_COUNT } gc_ignore;
static const char *const gc_ignore_names[IGNORE_COUNT] = {"none", "-100", "class c-1"};

/* A mode runs the first reduction_count of these. */
static const focal_reduction gc_reductions[] = {
    FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN, FOCAL_REDUCTION_SUM,
    FOCAL_REDUCTION_WEIGHTED_MEAN, FOCAL_REDUCTION_SUM_OVER_POSITIVES};

/* What differs between the modes: their kinds and reductions, the ranges
 * alpha is drawn from (sigmoid's alpha weighs positives against negatives
 * and stays in (0, 1)), the seeds, and the length of a NONE output. */
typedef struct gc_mode {
    focal_mode mode;
    const gc_kind *kinds;
    size_t kind_count;
    size_t reduction_count;
    double alpha_vec_lo, alpha_vec_hi;
    double alpha_scalar_lo, alpha_scalar_hi;
    uint64_t seed_base;
    int none_per_element; /* NONE: one value per element, else per position */
} gc_mode;

static const gc_mode mode_softmax = {
    FOCAL_MODE_SOFTMAX, softmax_kinds, sizeof softmax_kinds / sizeof softmax_kinds[0],
    4, 0.25, 1.5, 0.2, 1.3, UINT64_C(0x5eed0f0ca1), 0};

static const gc_mode mode_sigmoid = {
    FOCAL_MODE_SIGMOID, sigmoid_kinds, sizeof sigmoid_kinds / sizeof sigmoid_kinds[0],
    5, 0.1, 0.9, 0.15, 0.85, UINT64_C(0x5167a0f0ca1), 1};

typedef struct gc_shape {
    const char *name;
    int64_t n, c, inner;
    size_t fd_subset; /* 0: every element; else this many elements */
} gc_shape;

typedef struct gc_case {
    const gc_mode *mode;
    const gc_shape *shape;
    const gc_kind *kind;
    size_t param;     /* index into kind_params(kind) */
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

static int kind_is_dense(const gc_kind *k)
{
    return k->targets != TARGETS_INDEX;
}

static void gc_describe(const gc_case *k, char *buf, size_t size)
{
    snprintf(buf, size,
             "%s shape %s kind %s gamma %g beta %g alpha %s reduction %s weights %s ignore %s "
             "seed %llu",
             names_mode(k->mode->mode), k->shape->name, k->kind->name,
             param_gamma(k->kind, k->param), param_beta(k->kind, k->param),
             gc_alpha_names[k->alpha], names_reduction(gc_reductions[k->reduction]),
             k->weighted ? "yes" : "no", gc_ignore_names[k->ignore], (unsigned long long)k->seed);
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
            char desc[320];
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

/* ------------------------------------------------------------------------
 * The data of one case
 * ------------------------------------------------------------------------ */

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

/* Softmax rows: soft rows sum to one; raw rows are capped at 2.5 so the
 * loss stays O(10) even with 300 classes. A few special rows: one-hot
 * (soft), all zero and exact 0 / 1 entries (raw). */
static void fill_dense_rows(const gc_case *k, gc_data *d, numcheck_rng *rng)
{
    const int soft = k->kind->targets == TARGETS_ROWS_SOFT;
    for (int64_t nn = 0; nn < d->n; nn++) {
        for (int64_t s = 0; s < d->inner; s++) {
            size_t p = (size_t)(nn * d->inner + s);
            double sum = 0.0;
            for (int64_t cc = 0; cc < d->c; cc++) {
                double v = soft ? exp(numcheck_rng_uniform(rng, -2.0, 2.0))
                                : numcheck_rng_uniform(rng, 0.0, 1.0);
                d->dense[elem_index(d, nn, cc, s)] = v;
                sum += v;
            }
            double scale = soft ? 1.0 / sum : (sum > 2.5 ? 2.5 / sum : 1.0);
            for (int64_t cc = 0; cc < d->c; cc++) {
                d->dense[elem_index(d, nn, cc, s)] *= scale;
            }
            if (p == 1 && d->positions > 2) {
                int64_t hot = numcheck_rng_below(rng, d->c);
                for (int64_t cc = 0; cc < d->c; cc++) {
                    d->dense[elem_index(d, nn, cc, s)] = soft ? (cc == hot ? 1.0 : 0.0) : 0.0;
                }
            } else if (p == 2 && d->positions > 2 && !soft) {
                d->dense[elem_index(d, nn, 0, s)] = 1.0;
                if (d->c > 1) {
                    d->dense[elem_index(d, nn, d->c - 1, s)] = 0.0;
                }
            }
        }
    }
}

/* Sigmoid elements, each on its own. */
static void fill_dense_elements(const gc_case *k, gc_data *d, numcheck_rng *rng)
{
    for (size_t i = 0; i < d->elems; i++) {
        double u = numcheck_rng_uniform(rng, 0.0, 1.0);
        if (k->kind->targets == TARGETS_HARD) {
            d->dense[i] = u < 0.35 ? 1.0 : 0.0;
        } else if (u < 0.15) {
            d->dense[i] = 0.0;
        } else if (u < 0.3) {
            d->dense[i] = 1.0;
        } else {
            d->dense[i] = numcheck_rng_uniform(rng, 0.0, 1.0);
        }
    }
}

/* Softmax: classes in [0, c); a quarter of the positions after the first
 * ignored when an ignore_index is set; with the ignore index inside the
 * class range, position 0 keeps a class other than it. */
static void fill_index_softmax(const gc_case *k, gc_data *d, numcheck_rng *rng)
{
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

/* Sigmoid: targets in [0, c], c being background; position 0 is a
 * positive, position 1 background, the rest random, and a quarter of the
 * later ones ignored when an ignore_index is set. */
static void fill_index_sigmoid(const gc_case *k, gc_data *d, numcheck_rng *rng)
{
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

static void gc_fill(const gc_case *k, gc_data *d, numcheck_rng *rng)
{
    const gc_shape *sh = k->shape;
    const gc_mode *m = k->mode;
    d->n = sh->n;
    d->c = sh->c;
    d->inner = sh->inner;
    d->elems = (size_t)(sh->n * sh->c * sh->inner);
    d->positions = (size_t)(sh->n * sh->inner);
    d->out_len = gc_reductions[k->reduction] != FOCAL_REDUCTION_NONE ? 1
                 : m->none_per_element                               ? d->elems
                                                                     : d->positions;

    d->x = numcheck_alloc(d->elems, sizeof *d->x);
    for (size_t i = 0; i < d->elems; i++) {
        d->x[i] = k->kind->probs ? numcheck_rng_uniform(rng, 0.05, 0.95)
                                 : numcheck_rng_uniform(rng, -3.0, 3.0);
    }

    d->ignore_value = k->ignore == IGNORE_OUTSIDE ? GC_IGNORE_OUTSIDE : d->c - 1;
    if (kind_is_dense(k->kind)) {
        d->dense = numcheck_alloc(d->elems, sizeof *d->dense);
        if (m->mode == FOCAL_MODE_SOFTMAX) {
            fill_dense_rows(k, d, rng);
        } else {
            fill_dense_elements(k, d, rng);
        }
    } else {
        d->target = numcheck_alloc(d->positions, sizeof *d->target);
        if (m->mode == FOCAL_MODE_SOFTMAX) {
            fill_index_softmax(k, d, rng);
        } else {
            fill_index_sigmoid(k, d, rng);
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
        d->alpha_vec[cc] = numcheck_rng_uniform(rng, m->alpha_vec_lo, m->alpha_vec_hi);
    }
    d->alpha_scalar = numcheck_rng_uniform(rng, m->alpha_scalar_lo, m->alpha_scalar_hi);

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
    focal_status st = focal_loss_create(&loss, k->mode->mode);
    if (st != FOCAL_OK) {
        return st;
    }
    st = focal_loss_set_gamma(loss, param_gamma(k->kind, k->param));
    if (st == FOCAL_OK && k->kind->star) {
        st = focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR);
    }
    if (st == FOCAL_OK && k->kind->star) {
        st = focal_loss_set_beta(loss, param_beta(k->kind, k->param));
    }
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
    if (st == FOCAL_OK && k->kind->probs) {
        st = focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES);
    }
    if (st == FOCAL_OK && k->kind->ls) {
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

/* ------------------------------------------------------------------------
 * One case
 * ------------------------------------------------------------------------ */

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

/* Ignored positions and zero weights contribute nothing: their gradient
 * (and a NONE output of theirs) is exactly zero, not merely small. */
static void gc_check_structural_zeros(const gc_case *k, const gc_data *d, const double *out_fwd,
                                      const double *grad_fused, const double *grad_up,
                                      gc_report *rep)
{
    const int per_element = k->mode->none_per_element;
    for (int64_t nn = 0; nn < d->n; nn++) {
        for (int64_t s = 0; s < d->inner; s++) {
            size_t p = (size_t)(nn * d->inner + s);
            int ignored =
                d->target != NULL && k->ignore != IGNORE_NONE && d->target[p] == d->ignore_value;
            int zero_weight = d->weight != NULL && d->weight[p] == 0.0;
            if (!ignored && !zero_weight) {
                continue;
            }
            const char *why = ignored ? "ignored" : "zero-weight";
            for (int64_t cc = 0; cc < d->c; cc++) {
                size_t e = elem_index(d, nn, cc, s);
                if (grad_fused[e] != 0.0 || grad_up[e] != 0.0) {
                    gc_problem(rep, "%s position %zu: grad[%zu] fused %.17g backward(r) %.17g, "
                               "expected 0",
                               why, p, e, grad_fused[e], grad_up[e]);
                }
                if (per_element && d->out_len > 1 && out_fwd[e] != 0.0) {
                    gc_problem(rep, "%s position %zu: out[%zu] %.17g, expected 0", why, p, e,
                               out_fwd[e]);
                }
            }
            if (!per_element && d->out_len > 1 && out_fwd[p] != 0.0) {
                gc_problem(rep, "%s position %zu: out %.17g, expected 0", why, p, out_fwd[p]);
            }
        }
    }
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
    gc_check_structural_zeros(k, &d, out_fwd, grad_fused, grad_up, &rep);

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
        /* The step actually taken, after rounding x0 +- h. */
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

/* ------------------------------------------------------------------------
 * Grids
 * ------------------------------------------------------------------------ */

static uint64_t gc_seed(const gc_mode *m, const gc_shape *sh, size_t counter)
{
    return m->seed_base ^ ((uint64_t)sh->c << 40) ^ ((uint64_t)sh->inner << 24) ^
           (uint64_t)counter;
}

static void gc_finish(const gc_mode *m, const gc_shape *sh, const gc_tally *tally)
{
    if (tally->failed > 0) {
        print_error("%s %s: %zu of %zu cases failed (%zu finite-difference checks)\n",
                    names_mode(m->mode), sh->name, tally->failed, tally->cases, tally->fd_checks);
    }
    assert_true(tally->cases > 0);
    assert_int_equal(tally->failed, 0);
}

/* The full product of the grid; ignore_index only varies for index
 * targets, where it applies. */
static void gc_full_grid(const gc_mode *m, const gc_shape *sh)
{
    gc_tally tally = {0, 0, 0};
    size_t counter = 0;
    for (size_t kind = 0; kind < m->kind_count; kind++) {
        const gc_kind *kd = &m->kinds[kind];
        int ignores = kind_is_dense(kd) ? 1 : IGNORE_COUNT;
        for (size_t g = 0; g < kind_params(kd); g++) {
            for (int a = 0; a < ALPHA_COUNT; a++) {
                for (size_t r = 0; r < m->reduction_count; r++) {
                    for (int w = 0; w < 2; w++) {
                        for (int ig = 0; ig < ignores; ig++) {
                            gc_case k = {m, sh, kd, g, (gc_alpha)a, r, w, (gc_ignore)ig,
                                         gc_seed(m, sh, counter++)};
                            gc_run_case(&k, &tally);
                        }
                    }
                }
            }
        }
    }
    gc_finish(m, sh, &tally);
}

/* Every (kind, parameter, reduction) triple once; alpha, weights and
 * ignore_index cycle so that each of their values meets every kind. */
static void gc_covering_grid(const gc_mode *m, const gc_shape *sh)
{
    gc_tally tally = {0, 0, 0};
    size_t counter = 0;
    for (size_t kind = 0; kind < m->kind_count; kind++) {
        const gc_kind *kd = &m->kinds[kind];
        for (size_t g = 0; g < kind_params(kd); g++) {
            for (size_t r = 0; r < m->reduction_count; r++) {
                size_t i = counter++;
                gc_ignore ig =
                    kind_is_dense(kd) ? IGNORE_NONE : (gc_ignore)((i / 2) % IGNORE_COUNT);
                gc_case k = {m, sh, kd, g, (gc_alpha)(i % ALPHA_COUNT), r, (int)((i / 3) % 2), ig,
                             gc_seed(m, sh, i)};
                gc_run_case(&k, &tally);
            }
        }
    }
    gc_finish(m, sh, &tally);
}

static const gc_shape shape_2d = {"(4,5)", 4, 5, 1, 0};
static const gc_shape shape_4d = {"(2,3,2,3)", 2, 3, 6, 0};
static const gc_shape shape_5d = {"(1,3,2,2,2)", 1, 3, 8, 0};
static const gc_shape shape_c1 = {"(3,1,1,2) C=1", 3, 1, 2, 0};
static const gc_shape shape_wide = {"(2,300)", 2, 300, 1, 40};

/* One cmocka test per (mode, shape): the full grid where it is affordable,
 * the covering grid for 300 classes. */
typedef struct gc_test {
    const char *name;
    const gc_mode *mode;
    const gc_shape *shape;
    int covering;
} gc_test;

static const gc_test gc_tests[] = {
    {"softmax_nc", &mode_softmax, &shape_2d, 0},
    {"softmax_nchw", &mode_softmax, &shape_4d, 0},
    {"softmax_ncdhw", &mode_softmax, &shape_5d, 0},
    {"softmax_one_class", &mode_softmax, &shape_c1, 0},
    {"softmax_many_classes", &mode_softmax, &shape_wide, 1},
    {"sigmoid_nc", &mode_sigmoid, &shape_2d, 0},
    {"sigmoid_nchw", &mode_sigmoid, &shape_4d, 0},
    {"sigmoid_one_class", &mode_sigmoid, &shape_c1, 0},
};
#define GC_TEST_COUNT (sizeof gc_tests / sizeof gc_tests[0])

static void test_gradcheck(void **state)
{
    const gc_test *t = *state;
    if (t->covering) {
        gc_covering_grid(t->mode, t->shape);
    } else {
        gc_full_grid(t->mode, t->shape);
    }
}

int main(void)
{
    struct CMUnitTest tests[GC_TEST_COUNT];
    for (size_t i = 0; i < GC_TEST_COUNT; i++) {
        struct CMUnitTest t = {gc_tests[i].name, test_gradcheck, NULL, NULL,
                               (void *)&gc_tests[i]};
        tests[i] = t;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
