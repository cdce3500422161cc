/*
 * Sigmoid-mode numerics against closed forms evaluated here in long double
 * (never from libfocal), in float32 and float64: index against dense
 * targets, logits of magnitude up to 1e4 with gamma in (0, 1) at p_t -> 1,
 * FL* and binary cross-entropy, Keras' BinaryFocalCrossentropy with
 * probabilities, clipped probabilities, NaN locality, -inf masking, zero
 * denominators and SUM_OVER_POSITIVES, the prior bias, and bitwise
 * determinism across thread counts.
 *
 * Tolerances: |got - ref| <= rtol |ref| + atol with
 *   float64: rtol 1e-12, atol 1e-14 + 4 DBL_EPSILON max|x|
 *   float32: rtol 2e-5,  atol 2e-6  + 4 FLT_EPSILON max|x|
 * as in the softmax suite: room for a chain of exp/log/pow roundings, and
 * an absolute floor for results that vanish below the precision of values
 * of order one. The large-logit cases use the same rtol but an atol of the
 * smallest normal number: their inputs are exact in both precisions and
 * the stable forms of API.md keep every digit (of 1 - p_t, log p, and the
 * gradient where it decays like exp(-|x|)).
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

#define MAX_PRINT 6

typedef enum prec { PREC_F64, PREC_F32 } prec;

static const prec both_precs[] = {PREC_F64, PREC_F32};

static const char *prec_name(prec p)
{
    return p == PREC_F64 ? "f64" : "f32";
}

static double round_to(double v, prec p)
{
    return p == PREC_F32 ? (double)(float)v : v;
}

static const char *reduction_name(focal_reduction r)
{
    switch (r) {
    case FOCAL_REDUCTION_NONE: return "NONE";
    case FOCAL_REDUCTION_MEAN: return "MEAN";
    case FOCAL_REDUCTION_SUM: return "SUM";
    case FOCAL_REDUCTION_WEIGHTED_MEAN: return "WEIGHTED_MEAN";
    case FOCAL_REDUCTION_SUM_OVER_POSITIVES: return "SUM_OVER_POSITIVES";
    }
    return "?";
}

/* ------------------------------------------------------------------------
 * Calling the library in either precision through double buffers. For f32
 * the double inputs must already be representable as float.
 * ------------------------------------------------------------------------ */

typedef struct job {
    const focal_loss *loss;
    prec p;
    int64_t n, c, inner;
    const double *x;
    const int64_t *target; /* index targets, or NULL */
    const double *dense;   /* dense targets, or NULL */
    const double *weight;  /* or NULL */
} job;

static size_t job_elems(const job *j)
{
    return (size_t)(j->n * j->c * j->inner);
}

static size_t job_positions(const job *j)
{
    return (size_t)(j->n * j->inner);
}

static float *narrow(const double *a, size_t n)
{
    if (a == NULL) {
        return NULL;
    }
    float *f = numcheck_alloc(n, sizeof *f);
    for (size_t i = 0; i < n; i++) {
        f[i] = (float)a[i];
    }
    return f;
}

static void widen(double *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = (double)src[i];
    }
}

static focal_status job_forward(const job *j, double *out, size_t out_len)
{
    if (j->p == PREC_F64) {
        return j->dense != NULL
                   ? focal_forward_dense_f64(j->loss, j->n, j->c, j->inner, j->x, j->dense,
                                             j->weight, out)
                   : focal_forward_f64(j->loss, j->n, j->c, j->inner, j->x, j->target, j->weight,
                                       out);
    }
    float *x = narrow(j->x, job_elems(j));
    float *d = narrow(j->dense, job_elems(j));
    float *w = narrow(j->weight, job_positions(j));
    float *o = numcheck_alloc(out_len, sizeof *o);
    focal_status st = d != NULL ? focal_forward_dense_f32(j->loss, j->n, j->c, j->inner, x, d, w, o)
                                : focal_forward_f32(j->loss, j->n, j->c, j->inner, x, j->target, w, o);
    if (st == FOCAL_OK) {
        widen(out, o, out_len);
    }
    free(x);
    free(d);
    free(w);
    free(o);
    return st;
}

static focal_status job_backward(const job *j, const double *up, size_t up_len, double *grad)
{
    if (j->p == PREC_F64) {
        return j->dense != NULL
                   ? focal_backward_dense_f64(j->loss, j->n, j->c, j->inner, j->x, j->dense,
                                              j->weight, up, grad)
                   : focal_backward_f64(j->loss, j->n, j->c, j->inner, j->x, j->target, j->weight,
                                        up, grad);
    }
    float *x = narrow(j->x, job_elems(j));
    float *d = narrow(j->dense, job_elems(j));
    float *w = narrow(j->weight, job_positions(j));
    float *u = narrow(up, up_len);
    float *g = numcheck_alloc(job_elems(j), sizeof *g);
    focal_status st =
        d != NULL ? focal_backward_dense_f32(j->loss, j->n, j->c, j->inner, x, d, w, u, g)
                  : focal_backward_f32(j->loss, j->n, j->c, j->inner, x, j->target, w, u, g);
    if (st == FOCAL_OK) {
        widen(grad, g, job_elems(j));
    }
    free(x);
    free(d);
    free(w);
    free(u);
    free(g);
    return st;
}

static focal_status job_fused(const job *j, double *out, size_t out_len, double *grad)
{
    if (j->p == PREC_F64) {
        return j->dense != NULL
                   ? focal_forward_backward_dense_f64(j->loss, j->n, j->c, j->inner, j->x,
                                                      j->dense, j->weight, out, grad)
                   : focal_forward_backward_f64(j->loss, j->n, j->c, j->inner, j->x, j->target,
                                                j->weight, out, grad);
    }
    float *x = narrow(j->x, job_elems(j));
    float *d = narrow(j->dense, job_elems(j));
    float *w = narrow(j->weight, job_positions(j));
    float *o = numcheck_alloc(out_len, sizeof *o);
    float *g = numcheck_alloc(job_elems(j), sizeof *g);
    focal_status st =
        d != NULL ? focal_forward_backward_dense_f32(j->loss, j->n, j->c, j->inner, x, d, w, o, g)
                  : focal_forward_backward_f32(j->loss, j->n, j->c, j->inner, x, j->target, w, o, g);
    if (st == FOCAL_OK) {
        widen(out, o, out_len);
        widen(grad, g, job_elems(j));
    }
    free(x);
    free(d);
    free(w);
    free(o);
    free(g);
    return st;
}

/* ------------------------------------------------------------------------
 * One setting, used to configure a context and to evaluate the closed form
 * ------------------------------------------------------------------------ */

typedef struct setup {
    const char *label;
    int64_t n, c, inner;
    const double *x;
    const int64_t *target; /* index targets, or NULL */
    const double *dense;   /* dense targets, or NULL */
    const double *weight;  /* or NULL */
    const double *alpha_vec;
    int alpha_scalar_set;
    double alpha_scalar;
    double gamma;
    int star;              /* FL* */
    double beta;
    int ignore_set;
    int64_t ignore;
    double ls;
    int probs;
    double eps;            /* 0: the default 1e-7 */
    focal_reduction red;
    int tiny_relative;     /* atol = the smallest normal number */
} setup;

static size_t setup_elems(const setup *s)
{
    return (size_t)(s->n * s->c * s->inner);
}

static size_t setup_positions(const setup *s)
{
    return (size_t)(s->n * s->inner);
}

static size_t setup_out_len(const setup *s)
{
    return s->red == FOCAL_REDUCTION_NONE ? setup_elems(s) : 1;
}

static focal_status setup_configure(const setup *s, focal_loss **out)
{
    focal_loss *loss = NULL;
    focal_status st = focal_loss_create(&loss, FOCAL_MODE_SIGMOID);
    if (st != FOCAL_OK) {
        return st;
    }
    st = focal_loss_set_gamma(loss, s->gamma);
    if (st == FOCAL_OK && s->star) {
        st = focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR);
    }
    if (st == FOCAL_OK && s->beta != 0.0) {
        st = focal_loss_set_beta(loss, s->beta);
    }
    if (st == FOCAL_OK && s->alpha_vec != NULL) {
        st = focal_loss_set_alpha_vector(loss, s->alpha_vec, s->c);
    }
    if (st == FOCAL_OK && s->alpha_scalar_set) {
        st = focal_loss_set_alpha(loss, s->alpha_scalar);
    }
    if (st == FOCAL_OK && s->ignore_set) {
        st = focal_loss_set_ignore_index(loss, s->ignore);
    }
    if (st == FOCAL_OK && s->ls != 0.0) {
        st = focal_loss_set_label_smoothing(loss, s->ls);
    }
    if (st == FOCAL_OK && s->probs) {
        st = focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES);
    }
    if (st == FOCAL_OK && s->eps != 0.0) {
        st = focal_loss_set_epsilon(loss, s->eps);
    }
    if (st == FOCAL_OK) {
        st = focal_loss_set_reduction(loss, s->red);
    }
    if (st != FOCAL_OK) {
        focal_loss_destroy(loss);
        return st;
    }
    *out = loss;
    return FOCAL_OK;
}

/* softplus(z) = log(1 + e^z), without overflow. */
static long double ld_softplus(long double z)
{
    return z > 0 ? z + log1pl(expl(-z)) : log1pl(expl(z));
}

/* sigmoid(z) = exp(-softplus(-z)). */
static long double ld_sigmoid(long double z)
{
    return expl(-ld_softplus(-z));
}

/*
 * One element: loss and d loss / d input for input v (logit or
 * probability), smoothed target y and alpha_t a, written the textbook way:
 *   FL:  m = 1 - p_t = y (1 - p) + (1 - y) p, CE = -(y log p + (1 - y) log(1 - p)),
 *        loss = a m^g CE,
 *        d/dx = a [g m^(g-1) (dm/dx) CE + m^g (dCE/dx)],
 *        dm/dx = (1 - 2y) p (1 - p), dCE/dx = p - y = (1 - y) p - y (1 - p);
 *        with probabilities dm/dp = 1 - 2y, dCE/dp = (1 - y) / (1 - p) - y / p.
 *   FL*: z = g x (2y - 1) + beta, loss = a softplus(-z) / g,
 *        d/dx = -a (2y - 1) sigmoid(-z).
 * In long double m^(g-1) stays finite for every logit used here (m >=
 * e^-1e4 ~ 1e-4343); the g m^(g-1) dm CE term is taken as 0 where m is 0.
 * *zero is set where the gradient is 0 by construction (clipped input).
 */
static void element_closed_form(const setup *s, long double v, long double y, long double a,
                                long double lo, long double hi, long double *loss,
                                long double *grad, int *zero)
{
    const long double g = (long double)s->gamma;
    *zero = 0;
    if (s->star) {
        const long double sgn = 2.0L * y - 1.0L;
        const long double z = g * v * sgn + (long double)s->beta;
        *loss = a * ld_softplus(-z) / g;
        *grad = -a * sgn * ld_sigmoid(-z);
        return;
    }
    long double p, q, lp, lq, dm, dce;
    if (s->probs) {
        p = v < lo ? lo : (v > hi ? hi : v);
        q = 1.0L - p;
        lp = logl(p);
        lq = log1pl(-p);
        dm = 1.0L - 2.0L * y;
        dce = (1.0L - y) / q - y / p;
    } else {
        lp = -ld_softplus(-v);
        lq = -ld_softplus(v);
        p = expl(lp);
        q = expl(lq);
        dm = (1.0L - 2.0L * y) * p * q;
        dce = (1.0L - y) * p - y * q;
    }
    const long double ce = -(y * lp + (1.0L - y) * lq);
    const long double m = y * q + (1.0L - y) * p;
    const long double mg = powl(m, g);
    *loss = a * mg * ce;
    const long double first = (g == 0.0L || m == 0.0L) ? 0.0L : g * powl(m, g - 1.0L) * dm * ce;
    *grad = a * (first + mg * dce);
    if (s->probs && !(v >= lo && v <= hi)) {
        *grad = 0.0L;
        *zero = 1;
    }
}

static long double class_alpha(const setup *s, int64_t cls, int *has)
{
    *has = 1;
    if (s->alpha_vec != NULL) {
        return (long double)s->alpha_vec[cls];
    }
    if (s->alpha_scalar_set) {
        return (long double)s->alpha_scalar;
    }
    *has = 0;
    return 1.0L;
}

/*
 * The reference out (per element for NONE, else one value) and gradient
 * (unit upstream) of s on x / dense / weight (already rounded to the
 * precision p). zero[e] marks the elements whose gradient is exactly 0.
 */
static void reference(const setup *s, prec p, const double *x, const double *dense,
                      const double *weight, double *out, double *grad, unsigned char *zero)
{
    const int64_t c = s->c;
    const size_t elems = setup_elems(s);
    long double *acc = numcheck_alloc(elems, sizeof *acc);
    const double eps = s->eps != 0.0 ? s->eps : 1e-7;
    const long double lo = (long double)round_to(eps, p);
    const long double hi = (long double)round_to(1.0 - eps, p);
    const long double ls = (long double)s->ls;
    long double sum = 0.0L, count = 0.0L, wsum = 0.0L, positives = 0.0L;

    memset(zero, 0, elems);
    for (int64_t nn = 0; nn < s->n; nn++) {
        for (int64_t sp = 0; sp < s->inner; sp++) {
            const size_t pos = (size_t)(nn * s->inner + sp);
            const long double w = weight != NULL ? (long double)weight[pos] : 1.0L;
            const int ignored = s->target != NULL && s->ignore_set && s->target[pos] == s->ignore;
            if (!ignored) {
                count += (long double)c;
                if (s->target != NULL && s->target[pos] < c) {
                    positives += 1.0L;
                }
            }
            for (int64_t k = 0; k < c; k++) {
                const size_t e = (size_t)((nn * c + k) * s->inner + sp);
                if (s->red == FOCAL_REDUCTION_NONE) {
                    out[e] = 0.0;
                }
                if (ignored) {
                    acc[e] = 0.0L;
                    zero[e] = 1;
                    continue;
                }
                const long double raw = dense != NULL ? (long double)dense[e]
                                                      : (s->target[pos] == k ? 1.0L : 0.0L);
                if (dense != NULL) {
                    positives += raw;
                }
                const long double y = raw * (1.0L - ls) + ls / 2.0L;
                int has_alpha;
                const long double ac = class_alpha(s, k, &has_alpha);
                const long double at = has_alpha ? ac * y + (1.0L - ac) * (1.0L - y) : 1.0L;
                long double l, g;
                int z;
                element_closed_form(s, (long double)x[e], y, at, lo, hi, &l, &g, &z);
                sum += w * l;
                wsum += w * at;
                if (s->red == FOCAL_REDUCTION_NONE) {
                    out[e] = (double)(w * l);
                }
                acc[e] = w * g;
                zero[e] = (unsigned char)(z || w == 0.0L);
            }
        }
    }
    long double scale = 1.0L;
    switch (s->red) {
    case FOCAL_REDUCTION_MEAN:
        scale = count > 0.0L ? 1.0L / count : 0.0L;
        break;
    case FOCAL_REDUCTION_WEIGHTED_MEAN:
        scale = wsum != 0.0L ? 1.0L / wsum : 0.0L;
        break;
    case FOCAL_REDUCTION_SUM_OVER_POSITIVES:
        scale = 1.0L / (positives > 1.0L ? positives : 1.0L);
        break;
    case FOCAL_REDUCTION_NONE:
    case FOCAL_REDUCTION_SUM:
        break;
    }
    if (s->red != FOCAL_REDUCTION_NONE) {
        out[0] = (double)(sum * scale);
    }
    for (size_t e = 0; e < elems; e++) {
        grad[e] = (double)(acc[e] * scale);
    }
    free(acc);
}

/* Forward, fused and backward (unit upstream) for s in precision p against
 * the closed form. Returns the number of problems, each printed. */
static size_t run_compare(const setup *s, prec p)
{
    const size_t elems = setup_elems(s);
    const size_t positions = setup_positions(s);
    const size_t out_len = setup_out_len(s);
    char label[320];
    snprintf(label, sizeof label, "%s [%s%s gamma %g%s %s%s%s]", s->label, prec_name(p),
             s->star ? " FL*" : "", s->gamma, s->probs ? " probabilities" : "",
             reduction_name(s->red), s->ls != 0.0 ? " label smoothing" : "",
             s->tiny_relative ? ", relative to tiny values" : "");

    double *x = numcheck_alloc(elems, sizeof *x);
    double *dense = s->dense != NULL ? numcheck_alloc(elems, sizeof *dense) : NULL;
    double *weight = s->weight != NULL ? numcheck_alloc(positions, sizeof *weight) : NULL;
    double xmax = 0.0;
    for (size_t i = 0; i < elems; i++) {
        x[i] = round_to(s->x[i], p);
        if (isfinite(x[i]) && fabs(x[i]) > xmax) {
            xmax = fabs(x[i]);
        }
        if (dense != NULL) {
            dense[i] = round_to(s->dense[i], p);
        }
    }
    for (size_t i = 0; weight != NULL && i < positions; i++) {
        weight[i] = round_to(s->weight[i], p);
    }
    const double rtol = p == PREC_F64 ? 1e-12 : 2e-5;
    double atol = p == PREC_F64 ? 1e-14 + 4.0 * DBL_EPSILON * xmax : 2e-6 + 4.0 * FLT_EPSILON * xmax;
    if (s->tiny_relative) {
        atol = p == PREC_F64 ? DBL_MIN : FLT_MIN;
    }

    double *out_ref = numcheck_alloc(out_len, sizeof *out_ref);
    double *grad_ref = numcheck_alloc(elems, sizeof *grad_ref);
    unsigned char *zero = numcheck_alloc(elems, 1);
    reference(s, p, x, dense, weight, out_ref, grad_ref, zero);

    size_t bad = 0;
    focal_loss *loss = NULL;
    focal_status st = setup_configure(s, &loss);
    if (st != FOCAL_OK) {
        print_error("%s: configuring the context failed: %s (%s)\n", label,
                    focal_status_string(st), focal_last_error());
        bad++;
    } else {
        job j = {loss, p, s->n, s->c, s->inner, x, s->target, dense, weight};
        double *out_f = numcheck_alloc(out_len, sizeof *out_f);
        double *out_fb = numcheck_alloc(out_len, sizeof *out_fb);
        double *grad_fb = numcheck_alloc(elems, sizeof *grad_fb);
        double *grad_b = numcheck_alloc(elems, sizeof *grad_b);
        double *ones = numcheck_alloc(out_len, sizeof *ones);
        for (size_t i = 0; i < out_len; i++) {
            ones[i] = 1.0;
        }
        focal_status s1 = job_forward(&j, out_f, out_len);
        focal_status s2 = job_fused(&j, out_fb, out_len, grad_fb);
        focal_status s3 = job_backward(&j, ones, out_len, grad_b);
        if (s1 != FOCAL_OK || s2 != FOCAL_OK || s3 != FOCAL_OK) {
            print_error("%s: status forward %d fused %d backward %d (%s)\n", label, (int)s1,
                        (int)s2, (int)s3, focal_last_error());
            bad++;
        } else {
            char what[400];
            for (size_t i = 0; i < out_len; i++) {
                if (!isfinite(out_f[i]) || !isfinite(out_fb[i])) {
                    print_error("%s: out[%zu] forward %g fused %g is not finite\n", label, i,
                                out_f[i], out_fb[i]);
                    bad++;
                }
            }
            for (size_t e = 0; e < elems; e++) {
                if (!isfinite(grad_fb[e]) || !isfinite(grad_b[e])) {
                    print_error("%s: grad[%zu] fused %g backward %g is not finite\n", label, e,
                                grad_fb[e], grad_b[e]);
                    bad++;
                }
            }
            snprintf(what, sizeof what, "%s forward out", label);
            bad += numcheck_report_close(what, out_f, out_ref, out_len, rtol, atol, MAX_PRINT);
            snprintf(what, sizeof what, "%s fused out", label);
            bad += numcheck_report_close(what, out_fb, out_ref, out_len, rtol, atol, MAX_PRINT);
            snprintf(what, sizeof what, "%s fused grad", label);
            bad += numcheck_report_close(what, grad_fb, grad_ref, elems, rtol, atol, MAX_PRINT);
            snprintf(what, sizeof what, "%s backward grad", label);
            bad += numcheck_report_close(what, grad_b, grad_ref, elems, rtol, atol, MAX_PRINT);
            for (size_t e = 0; e < elems; e++) {
                if (zero[e] && (grad_fb[e] != 0.0 || grad_b[e] != 0.0)) {
                    print_error("%s grad[%zu]: fused %.17g backward %.17g, expected exactly 0\n",
                                label, e, grad_fb[e], grad_b[e]);
                    bad++;
                }
            }
        }
        free(out_f);
        free(out_fb);
        free(grad_fb);
        free(grad_b);
        free(ones);
    }
    focal_loss_destroy(loss);
    free(x);
    free(dense);
    free(weight);
    free(out_ref);
    free(grad_ref);
    free(zero);
    return bad;
}

/* ------------------------------------------------------------------------
 * The closed form over a grid of ordinary inputs
 * ------------------------------------------------------------------------ */

static void test_closed_form_grid(void **state)
{
    (void)state;
    enum { N = 3, C = 4, INNER = 5, ELEMS = N * C * INNER, POS = N * INNER };
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0x5197001d);
    double logits[ELEMS], probs[ELEMS], dense[ELEMS], weight[POS];
    int64_t target[POS];
    for (size_t i = 0; i < ELEMS; i++) {
        logits[i] = numcheck_rng_uniform(&rng, -6.0, 6.0);
        probs[i] = numcheck_rng_uniform(&rng, 0.01, 0.99);
        double u = numcheck_rng_uniform(&rng, 0.0, 1.0);
        dense[i] = u < 0.2 ? 0.0 : u < 0.35 ? 1.0 : numcheck_rng_uniform(&rng, 0.0, 1.0);
    }
    for (size_t i = 0; i < POS; i++) {
        /* Classes, background (C) and ignored (-100). */
        double u = numcheck_rng_uniform(&rng, 0.0, 1.0);
        target[i] = u < 0.2 ? -100 : u < 0.45 ? C : numcheck_rng_below(&rng, C);
        weight[i] = numcheck_rng_uniform(&rng, 0.0, 2.0);
    }
    weight[3] = 0.0;
    static const double alpha[C] = {0.25, 0.75, 0.5, 0.1};
    static const double gammas[] = {0.0, 0.5, 2.0, 3.7};
    static const double star_params[][2] = {{1.0, 0.0}, {2.0, 1.5}, {0.5, -1.0}};
    static const focal_reduction reds[] = {
        FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN, FOCAL_REDUCTION_SUM,
        FOCAL_REDUCTION_WEIGHTED_MEAN, FOCAL_REDUCTION_SUM_OVER_POSITIVES};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (int input = 0; input < 3; input++) { /* logits, probabilities, FL* */
            size_t params = input == 2 ? 3 : 4;
            for (size_t gi = 0; gi < params; gi++) {
                for (int dense_targets = 0; dense_targets < 2; dense_targets++) {
                    for (int a = 0; a < 3; a++) {
                        for (size_t ri = 0; ri < 5; ri++) {
                            for (int variant = 0; variant < 2; variant++) {
                                setup s = {0};
                                s.label = dense_targets ? "grid, dense targets" : "grid, index targets";
                                s.n = N;
                                s.c = C;
                                s.inner = INNER;
                                s.x = input == 1 ? probs : logits;
                                s.probs = input == 1;
                                s.star = input == 2;
                                s.gamma = input == 2 ? star_params[gi][0] : gammas[gi];
                                s.beta = input == 2 ? star_params[gi][1] : 0.0;
                                s.target = dense_targets ? NULL : target;
                                s.dense = dense_targets ? dense : NULL;
                                s.ignore_set = !dense_targets;
                                s.ignore = -100;
                                s.alpha_scalar_set = a == 1;
                                s.alpha_scalar = 0.25;
                                s.alpha_vec = a == 2 ? alpha : NULL;
                                s.red = reds[ri];
                                /* Variant 1: weights and label smoothing. */
                                s.weight = variant ? weight : NULL;
                                s.ls = variant ? 0.1 : 0.0;
                                bad += run_compare(&s, both_precs[pi]);
                            }
                        }
                    }
                }
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Index targets against the dense one-hot targets they stand for
 * ------------------------------------------------------------------------ */

static size_t equivalence_case(prec p, focal_reduction red, int with_ignored, int alpha_kind,
                               int variant, double ls)
{
    enum { N = 3, C = 4, INNER = 5, ELEMS = N * C * INNER, POS = N * INNER };
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0xe9a1 + (uint64_t)red * 131 + (uint64_t)variant * 7);
    double x[ELEMS], dense[ELEMS], w_index[POS], w_dense[POS], up[ELEMS];
    int64_t target[POS];
    for (size_t i = 0; i < ELEMS; i++) {
        x[i] = round_to(variant == 1 ? numcheck_rng_uniform(&rng, 0.02, 0.98)
                                     : numcheck_rng_uniform(&rng, -5.0, 5.0),
                        p);
        up[i] = round_to(numcheck_rng_uniform(&rng, -1.0, 1.0), p);
    }
    for (size_t i = 0; i < POS; i++) {
        double u = numcheck_rng_uniform(&rng, 0.0, 1.0);
        target[i] = u < 0.3 ? C : numcheck_rng_below(&rng, C);
        if (with_ignored && (i == 2 || i == 7 || i == 11)) {
            target[i] = -1;
        }
        w_index[i] = round_to(numcheck_rng_uniform(&rng, 0.25, 2.0), p);
        w_dense[i] = target[i] == -1 ? 0.0 : w_index[i];
    }
    for (int64_t nn = 0; nn < N; nn++) {
        for (int64_t k = 0; k < C; k++) {
            for (int64_t s = 0; s < INNER; s++) {
                dense[(nn * C + k) * INNER + s] = target[nn * INNER + s] == k ? 1.0 : 0.0;
            }
        }
    }
    static const double alpha[C] = {0.25, 0.6, 0.9, 0.4};
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, red), FOCAL_OK);
    assert_int_equal(focal_loss_set_ignore_index(loss, -1), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, variant == 2 ? 1.5 : 0.5), FOCAL_OK);
    if (variant == 1) {
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
    } else if (variant == 2) {
        assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
        assert_int_equal(focal_loss_set_beta(loss, 0.5), FOCAL_OK);
    }
    if (alpha_kind == 1) {
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
    } else if (alpha_kind == 2) {
        assert_int_equal(focal_loss_set_alpha_vector(loss, alpha, C), FOCAL_OK);
    }
    if (ls != 0.0) {
        assert_int_equal(focal_loss_set_label_smoothing(loss, ls), FOCAL_OK);
    }
    const size_t out_len = red == FOCAL_REDUCTION_NONE ? ELEMS : 1;
    if (red != FOCAL_REDUCTION_NONE) {
        up[0] = round_to(1.75, p);
    }
    job ji = {loss, p, N, C, INNER, x, target, NULL, with_ignored ? w_index : NULL};
    job jd = {loss, p, N, C, INNER, x, NULL, dense, with_ignored ? w_dense : NULL};
    double out_i[ELEMS], out_d[ELEMS], gf_i[ELEMS], gf_d[ELEMS], gb_i[ELEMS], gb_d[ELEMS];
    double fo_i[ELEMS], fo_d[ELEMS];
    static const char *const variant_names[3] = {"logits", "probabilities", "FL*"};
    char label[200];
    snprintf(label, sizeof label, "index vs dense one-hot [%s %s %s alpha %d ls %g%s]",
             prec_name(p), variant_names[variant], reduction_name(red), alpha_kind, ls,
             with_ignored ? ", ignored positions as weight 0" : "");
    size_t bad = 0;
    focal_status st[6] = {
        job_forward(&ji, out_i, out_len),      job_forward(&jd, out_d, out_len),
        job_fused(&ji, fo_i, out_len, gf_i),   job_fused(&jd, fo_d, out_len, gf_d),
        job_backward(&ji, up, out_len, gb_i),  job_backward(&jd, up, out_len, gb_d),
    };
    for (int i = 0; i < 6; i++) {
        if (st[i] != FOCAL_OK) {
            print_error("%s: call %d returned %d (%s)\n", label, i, (int)st[i], focal_last_error());
            focal_loss_destroy(loss);
            return 1;
        }
    }
    const double rtol = p == PREC_F64 ? 1e-15 : FLT_EPSILON;
    const double atol = p == PREC_F64 ? DBL_MIN : FLT_MIN;
    char what[260];
    snprintf(what, sizeof what, "%s forward out", label);
    bad += numcheck_report_close(what, out_i, out_d, out_len, rtol, atol, MAX_PRINT);
    snprintf(what, sizeof what, "%s fused out", label);
    bad += numcheck_report_close(what, fo_i, fo_d, out_len, rtol, atol, MAX_PRINT);
    snprintf(what, sizeof what, "%s fused grad", label);
    bad += numcheck_report_close(what, gf_i, gf_d, ELEMS, rtol, atol, MAX_PRINT);
    snprintf(what, sizeof what, "%s backward grad", label);
    bad += numcheck_report_close(what, gb_i, gb_d, ELEMS, rtol, atol, MAX_PRINT);
    focal_loss_destroy(loss);
    return bad;
}

static void test_index_dense_equivalence(void **state)
{
    (void)state;
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (int variant = 0; variant < 3; variant++) {
            for (int a = 0; a < 3; a++) {
                for (int l = 0; l < 2; l++) {
                    double ls = l ? 0.2 : 0.0;
                    prec p = both_precs[pi];
                    /* Ignored positions: only where a weight of 0 on the
                     * dense side reproduces them. */
                    bad += equivalence_case(p, FOCAL_REDUCTION_NONE, 1, a, variant, ls);
                    bad += equivalence_case(p, FOCAL_REDUCTION_SUM, 1, a, variant, ls);
                    bad += equivalence_case(p, FOCAL_REDUCTION_NONE, 0, a, variant, ls);
                    bad += equivalence_case(p, FOCAL_REDUCTION_SUM, 0, a, variant, ls);
                    bad += equivalence_case(p, FOCAL_REDUCTION_MEAN, 0, a, variant, ls);
                    bad += equivalence_case(p, FOCAL_REDUCTION_WEIGHTED_MEAN, 0, a, variant, ls);
                    bad += equivalence_case(p, FOCAL_REDUCTION_SUM_OVER_POSITIVES, 0, a, variant,
                                            ls);
                }
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Logits of magnitude 1e4, 1e3, 100 and 40
 * ------------------------------------------------------------------------ */

static const double extreme_row[8] = {1e4, -1e4, 1e3, -1e3, 100.0, -100.0, 40.0, -40.0};

static void test_extreme_logits(void **state)
{
    (void)state;
    /* Dense: rows with y = 0, 1 and 0.3, each over the eight logits. Index:
     * the same logits with C = 1 as positives (target 0) and background
     * (target 1 = C). */
    double x_dense[3 * 8], y_dense[3 * 8], x_index[16];
    int64_t t_index[16];
    static const double ys[3] = {0.0, 1.0, 0.3};
    for (size_t r = 0; r < 3; r++) {
        for (size_t k = 0; k < 8; k++) {
            x_dense[r * 8 + k] = extreme_row[k];
            y_dense[r * 8 + k] = ys[r];
        }
    }
    for (size_t i = 0; i < 16; i++) {
        x_index[i] = extreme_row[i % 8];
        t_index[i] = i < 8 ? 0 : 1;
    }
    static const double alpha8[8] = {0.25, 0.5, 0.75, 0.1, 0.9, 0.3, 0.6, 0.4};
    static const double gammas[] = {0.0, 0.25, 0.5, 0.9, 2.0};
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_SUM,
                                           FOCAL_REDUCTION_MEAN,
                                           FOCAL_REDUCTION_SUM_OVER_POSITIVES};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < sizeof gammas / sizeof gammas[0]; gi++) {
            for (int a = 0; a < 3; a++) {
                for (size_t ri = 0; ri < sizeof reds / sizeof reds[0]; ri++) {
                    for (int idx = 0; idx < 2; idx++) {
                        setup s = {0};
                        s.label = idx ? "extreme logits, index targets (C = 1)"
                                      : "extreme logits, dense targets 0 / 1 / 0.3";
                        s.n = idx ? 16 : 3;
                        s.c = idx ? 1 : 8;
                        s.inner = 1;
                        s.x = idx ? x_index : x_dense;
                        s.target = idx ? t_index : NULL;
                        s.dense = idx ? NULL : y_dense;
                        s.gamma = gammas[gi];
                        s.alpha_scalar_set = a == 1;
                        s.alpha_scalar = 0.25;
                        s.alpha_vec = a == 2 ? (idx ? alpha8 + 2 : alpha8) : NULL;
                        s.red = reds[ri];
                        s.tiny_relative = 1;
                        bad += run_compare(&s, both_precs[pi]);
                    }
                }
            }
        }
    }

    /* A few values by hand, independent of element_closed_form: with
     * alpha 0.25, y = 0 at x = 1e4 costs (1 - 0.25) * 1e4 with gradient
     * 0.75 (p = 1 to every digit); y = 1 at x = -1e4 costs 0.25 * 1e4 with
     * gradient -0.25; the right answers (y = 1 at 1e4, y = 0 at -1e4) cost
     * 0 with gradient 0. */
    for (size_t pi = 0; pi < 2; pi++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
        assert_int_equal(focal_loss_set_gamma(loss, 0.5), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
        static const double x[4] = {1e4, -1e4, 1e4, -1e4};
        static const double y[4] = {0.0, 1.0, 1.0, 0.0};
        static const double want_out[4] = {7500.0, 2500.0, 0.0, 0.0};
        static const double want_grad[4] = {0.75, -0.25, 0.0, 0.0};
        job j = {loss, both_precs[pi], 1, 4, 1, x, NULL, y, NULL};
        double out[4], grad[4];
        assert_int_equal(job_fused(&j, out, 4, grad), FOCAL_OK);
        double tol = both_precs[pi] == PREC_F64 ? 1e-12 : 1e-5;
        for (size_t i = 0; i < 4; i++) {
            if (!(fabs(out[i] - want_out[i]) <= tol * fmax(1.0, want_out[i]) &&
                  fabs(grad[i] - want_grad[i]) <= tol)) {
                print_error("extreme logits by hand [%s]: x = %g, y = %g: out %.17g grad %.17g, "
                            "expected %g, %g\n",
                            prec_name(both_precs[pi]), x[i], y[i], out[i], grad[i], want_out[i],
                            want_grad[i]);
                bad++;
            }
        }
        focal_loss_destroy(loss);
    }
    assert_int_equal(bad, 0);
}

/* gamma in (0, 1) with p_t -> 1: the gradient's limit is finite and is the
 * factored form of API.md; checked here relative down to the smallest
 * normal number with gaps where 1 - p_t is far below the precision of 1. */
static void test_small_gamma_saturated(void **state)
{
    (void)state;
    static const double gaps[] = {5.0, 20.0, 37.0, 50.0, 88.0, 700.0, 745.0, 800.0};
    enum { G = sizeof gaps / sizeof gaps[0] };
    double x[2 * G], y[2 * G];
    for (size_t i = 0; i < G; i++) {
        /* Right answers: y = 1 at +gap, y = 0 at -gap. */
        x[i] = gaps[i];
        y[i] = 1.0;
        x[G + i] = -gaps[i];
        y[G + i] = 0.0;
    }
    static const double gammas[] = {0.1, 0.25, 0.5, 0.9};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < sizeof gammas / sizeof gammas[0]; gi++) {
            for (int r = 0; r < 2; r++) {
                setup s = {0};
                s.label = "p_t -> 1";
                s.n = 2;
                s.c = G;
                s.inner = 1;
                s.x = x;
                s.dense = y;
                s.gamma = gammas[gi];
                s.alpha_scalar_set = 1;
                s.alpha_scalar = 0.25;
                s.red = r ? FOCAL_REDUCTION_SUM : FOCAL_REDUCTION_NONE;
                s.tiny_relative = 1;
                bad += run_compare(&s, both_precs[pi]);
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * FL*
 * ------------------------------------------------------------------------ */

static void test_fl_star(void **state)
{
    (void)state;
    enum { N = 4, C = 3, INNER = 2, ELEMS = N * C * INNER, POS = N * INNER };
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0xf15);
    double x[ELEMS], dense[ELEMS], w[POS];
    int64_t target[POS];
    for (size_t i = 0; i < ELEMS; i++) {
        x[i] = numcheck_rng_uniform(&rng, -8.0, 8.0);
        dense[i] = i % 5 == 0 ? 1.0 : i % 7 == 0 ? 0.0 : numcheck_rng_uniform(&rng, 0.0, 1.0);
    }
    for (size_t i = 0; i < POS; i++) {
        target[i] = i == 5 ? -100 : numcheck_rng_below(&rng, C + 1);
        w[i] = numcheck_rng_uniform(&rng, 0.5, 1.5);
    }
    static const double alpha[C] = {0.25, 0.5, 0.8};
    static const double gammas[] = {0.5, 1.0, 2.0, 3.0};
    static const double betas[] = {0.0, 1.5, -1.0};
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN,
                                           FOCAL_REDUCTION_WEIGHTED_MEAN,
                                           FOCAL_REDUCTION_SUM_OVER_POSITIVES};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 4; gi++) {
            for (size_t bi = 0; bi < 3; bi++) {
                for (int a = 0; a < 3; a++) {
                    for (size_t ri = 0; ri < 4; ri++) {
                        for (int d = 0; d < 2; d++) {
                            setup s = {0};
                            s.label = d ? "FL*, dense targets" : "FL*, index targets";
                            s.n = N;
                            s.c = C;
                            s.inner = INNER;
                            s.x = x;
                            s.dense = d ? dense : NULL;
                            s.target = d ? NULL : target;
                            s.ignore_set = 1;
                            s.ignore = -100;
                            s.weight = w;
                            s.star = 1;
                            s.gamma = gammas[gi];
                            s.beta = betas[bi];
                            s.alpha_scalar_set = a == 1;
                            s.alpha_scalar = 0.25;
                            s.alpha_vec = a == 2 ? alpha : NULL;
                            s.red = reds[ri];
                            s.ls = (gi + bi) % 2 ? 0.1 : 0.0;
                            bad += run_compare(&s, both_precs[pi]);
                        }
                    }
                }
            }
        }
    }

    /* Large |x|: log sigmoid(gamma x_t + beta) must not overflow. */
    double xl[3 * 8], yl[3 * 8];
    static const double ys[3] = {0.0, 1.0, 0.3};
    for (size_t r = 0; r < 3; r++) {
        for (size_t k = 0; k < 8; k++) {
            xl[r * 8 + k] = extreme_row[k];
            yl[r * 8 + k] = ys[r];
        }
    }
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 4; gi++) {
            for (size_t bi = 0; bi < 3; bi++) {
                for (int r = 0; r < 2; r++) {
                    setup s = {0};
                    s.label = "FL*, extreme logits";
                    s.n = 3;
                    s.c = 8;
                    s.inner = 1;
                    s.x = xl;
                    s.dense = yl;
                    s.star = 1;
                    s.gamma = gammas[gi];
                    s.beta = betas[bi];
                    s.alpha_scalar_set = 1;
                    s.alpha_scalar = 0.25;
                    s.red = r ? FOCAL_REDUCTION_SUM : FOCAL_REDUCTION_NONE;
                    s.tiny_relative = 1;
                    bad += run_compare(&s, both_precs[pi]);
                }
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* Binary cross-entropy with logits, written out:
 *   loss = y softplus(-x) + (1 - y) softplus(x),  d/dx = sigmoid(x) - y.
 * FL* with gamma 1, beta 0 and no alpha is it for hard labels (x_t = +-x);
 * FL with gamma 0 and no alpha is it for any label in [0, 1]. */
static size_t bce_case(prec p, focal_reduction red, int star, int dense_targets)
{
    enum { N = 2, C = 6, INNER = 2, ELEMS = N * C * INNER, POS = N * INNER };
    static const double x_src[ELEMS] = {
        -1e4, 1e4,  -40.0, 40.0, 0.0,   2.5,  -2.5, 0.125, 7.0,  -7.0,  100.0, -100.0,
        1e3,  -1e3, 0.5,   -0.5, 15.0, -15.0, 3.0,  -3.0,  1e-3, -1e-3, 30.0,  -30.0,
    };
    static const int64_t t_src[POS] = {0, 6, 3, 5};
    double x[ELEMS], y[ELEMS];
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0xbce);
    for (size_t i = 0; i < ELEMS; i++) {
        x[i] = round_to(x_src[i], p);
        double u = numcheck_rng_uniform(&rng, 0.0, 1.0);
        /* FL* needs hard labels to be BCE; FL gamma 0 takes soft ones. */
        y[i] = star ? (u < 0.5 ? 1.0 : 0.0) : round_to(u, p);
    }
    for (int64_t nn = 0; dense_targets == 0 && nn < N; nn++) {
        for (int64_t k = 0; k < C; k++) {
            for (int64_t s = 0; s < INNER; s++) {
                y[(nn * C + k) * INNER + s] = t_src[nn * INNER + s] == k ? 1.0 : 0.0;
            }
        }
    }
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, red), FOCAL_OK);
    if (star) {
        assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
        assert_int_equal(focal_loss_set_gamma(loss, 1.0), FOCAL_OK);
    } else {
        assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
    }
    const size_t out_len = red == FOCAL_REDUCTION_NONE ? ELEMS : 1;
    double ref_out[ELEMS], ref_grad[ELEMS];
    long double sum = 0.0L;
    for (size_t i = 0; i < ELEMS; i++) {
        long double xl = (long double)x[i], yl = (long double)y[i];
        long double l = yl * ld_softplus(-xl) + (1.0L - yl) * ld_softplus(xl);
        sum += l;
        if (red == FOCAL_REDUCTION_NONE) {
            ref_out[i] = (double)l;
        }
        /* sigmoid(x) - y without cancellation for y in {0, 1}. */
        long double g = yl == 1.0L ? -ld_sigmoid(-xl) : ld_sigmoid(xl) - yl;
        ref_grad[i] = (double)(red == FOCAL_REDUCTION_MEAN ? g / (long double)ELEMS : g);
    }
    if (red != FOCAL_REDUCTION_NONE) {
        ref_out[0] = (double)(red == FOCAL_REDUCTION_MEAN ? sum / (long double)ELEMS : sum);
    }
    job j = {loss, p, N, C, INNER, x, dense_targets ? NULL : t_src, dense_targets ? y : NULL, NULL};
    double out[ELEMS], grad[ELEMS];
    char label[160];
    snprintf(label, sizeof label, "binary cross-entropy via %s [%s %s %s]",
             star ? "FL* gamma 1 beta 0" : "FL gamma 0", prec_name(p), reduction_name(red),
             dense_targets ? "dense" : "index");
    size_t bad = 0;
    focal_status st = job_fused(&j, out, out_len, grad);
    if (st != FOCAL_OK) {
        print_error("%s: status %d (%s)\n", label, (int)st, focal_last_error());
        bad++;
    } else {
        const double rtol = p == PREC_F64 ? 1e-12 : 2e-5;
        const double atol = p == PREC_F64 ? DBL_MIN : FLT_MIN;
        char what[200];
        snprintf(what, sizeof what, "%s out", label);
        bad += numcheck_report_close(what, out, ref_out, out_len, rtol, atol, MAX_PRINT);
        snprintf(what, sizeof what, "%s grad", label);
        bad += numcheck_report_close(what, grad, ref_grad, ELEMS, rtol, atol, MAX_PRINT);
    }
    focal_loss_destroy(loss);
    return bad;
}

static void test_binary_cross_entropy(void **state)
{
    (void)state;
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_SUM,
                                           FOCAL_REDUCTION_MEAN};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t ri = 0; ri < 3; ri++) {
            for (int star = 0; star < 2; star++) {
                for (int d = 0; d < 2; d++) {
                    bad += bce_case(both_precs[pi], reds[ri], star, d);
                }
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Keras BinaryFocalCrossentropy
 * ------------------------------------------------------------------------ */

/* Keras' binary_focal_crossentropy step by step (from_logits=False): the
 * labels smoothed, bce on the clipped prediction, p_t on the prediction
 * itself, the focal factor, the class-balancing weight, and the mean over
 * the last axis; the loss object then averages over the batch. */
static long double keras_element(long double y_true, long double y_pred, long double gamma,
                                 int balance, long double alpha, long double ls,
                                 long double eps)
{
    y_true = y_true * (1.0L - ls) + 0.5L * ls;
    long double out = y_pred < eps ? eps : (y_pred > 1.0L - eps ? 1.0L - eps : y_pred);
    long double bce = -(y_true * logl(out) + (1.0L - y_true) * logl(1.0L - out));
    long double p_t = y_true * y_pred + (1.0L - y_true) * (1.0L - y_pred);
    long double focal = powl(1.0L - p_t, gamma);
    long double v = focal * bce;
    if (balance) {
        v *= y_true * alpha + (1.0L - y_true) * (1.0L - alpha);
    }
    return v;
}

static void test_keras_binary_focal(void **state)
{
    (void)state;
    size_t bad = 0;

    /* The documented example: y_true [[0, 1], [0, 0]], y_pred [[0.6, 0.4],
     * [0.4, 0.6]], gamma 2 gives [0.330, 0.206] per sample (3 digits). */
    for (size_t pi = 0; pi < 2; pi++) {
        prec p = both_precs[pi];
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
        assert_int_equal(focal_loss_set_gamma(loss, 2.0), FOCAL_OK);
        static const double y_true[4] = {0, 1, 0, 0};
        double y_pred[4] = {round_to(0.6, p), round_to(0.4, p), round_to(0.4, p), round_to(0.6, p)};
        static const double want[2] = {0.330, 0.206};
        for (size_t r = 0; r < 2; r++) {
            double out = 0.0;
            job j = {loss, p, 1, 2, 1, y_pred + 2 * r, NULL, y_true + 2 * r, NULL};
            assert_int_equal(job_forward(&j, &out, 1), FOCAL_OK);
            if (!(fabs(out - want[r]) <= 5e-4)) {
                print_error("Keras example [%s]: sample %zu gives %.6f, Keras documents %.3f\n",
                            prec_name(p), r, out, want[r]);
                bad++;
            }
        }
        focal_loss_destroy(loss);
    }

    /* The documented logits example: y_true [0, 1, 0, 0], y_pred [-18.6,
     * 0.51, 2.94, -12.8], gamma 2: 0.691; with apply_class_balancing
     * (alpha 0.25): 0.51. */
    for (size_t pi = 0; pi < 2; pi++) {
        prec p = both_precs[pi];
        static const double y_true[4] = {0, 1, 0, 0};
        double y_pred[4] = {round_to(-18.6, p), round_to(0.51, p), round_to(2.94, p),
                            round_to(-12.8, p)};
        for (int balance = 0; balance < 2; balance++) {
            focal_loss *loss = NULL;
            assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
            assert_int_equal(focal_loss_set_gamma(loss, 2.0), FOCAL_OK);
            if (balance) {
                assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
            }
            double out = 0.0;
            job j = {loss, p, 1, 4, 1, y_pred, NULL, y_true, NULL};
            assert_int_equal(job_forward(&j, &out, 1), FOCAL_OK);
            double want = balance ? 0.51 : 0.691;
            if (!(fabs(out - want) <= (balance ? 5e-3 : 5e-4))) {
                print_error("Keras logits example [%s%s]: %.6f, Keras documents %g\n",
                            prec_name(p), balance ? ", class balancing" : "", out, want);
                bad++;
            }
            focal_loss_destroy(loss);
        }
    }

    /* A batch with hard labels against the step-by-step form in long
     * double: MEAN is Keras' batch average, NONE its per-element terms. */
    enum { N = 8, C = 6, ELEMS = N * C };
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0x4e7a5);
    double y_pred_src[ELEMS], y_true[ELEMS];
    for (size_t i = 0; i < ELEMS; i++) {
        y_pred_src[i] = numcheck_rng_uniform(&rng, 0.02, 0.98);
        y_true[i] = numcheck_rng_uniform(&rng, 0.0, 1.0) < 0.4 ? 1.0 : 0.0;
    }
    static const double gammas[] = {0.0, 1.0, 2.0, 3.0};
    for (size_t pi = 0; pi < 2; pi++) {
        prec p = both_precs[pi];
        double y_pred[ELEMS];
        for (size_t i = 0; i < ELEMS; i++) {
            y_pred[i] = round_to(y_pred_src[i], p);
        }
        for (size_t gi = 0; gi < 4; gi++) {
            for (int balance = 0; balance < 2; balance++) {
                for (int l = 0; l < 2; l++) {
                    double ls = l ? 0.1 : 0.0;
                    focal_loss *loss = NULL;
                    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
                    assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES),
                                     FOCAL_OK);
                    assert_int_equal(focal_loss_set_gamma(loss, gammas[gi]), FOCAL_OK);
                    if (balance) {
                        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
                    }
                    if (ls != 0.0) {
                        assert_int_equal(focal_loss_set_label_smoothing(loss, ls), FOCAL_OK);
                    }
                    double ref[ELEMS];
                    long double total = 0.0L;
                    for (size_t i = 0; i < ELEMS; i++) {
                        long double v = keras_element(y_true[i], y_pred[i], gammas[gi], balance,
                                                      0.25L, ls, 1e-7L);
                        ref[i] = (double)v;
                        total += v;
                    }
                    double ref_mean = (double)(total / (long double)ELEMS);
                    double out[ELEMS], mean = 0.0;
                    job j = {loss, p, N, C, 1, y_pred, NULL, y_true, NULL};
                    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_MEAN),
                                     FOCAL_OK);
                    assert_int_equal(job_forward(&j, &mean, 1), FOCAL_OK);
                    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE),
                                     FOCAL_OK);
                    assert_int_equal(job_forward(&j, out, ELEMS), FOCAL_OK);
                    const double rtol = p == PREC_F64 ? 1e-12 : 2e-5;
                    const double atol = p == PREC_F64 ? 1e-14 : 2e-6;
                    char what[160];
                    snprintf(what, sizeof what, "Keras batch [%s gamma %g%s%s] mean",
                             prec_name(p), gammas[gi], balance ? " balanced" : "",
                             l ? " ls 0.1" : "");
                    bad += numcheck_report_close(what, &mean, &ref_mean, 1, rtol, atol, MAX_PRINT);
                    snprintf(what, sizeof what, "Keras batch [%s gamma %g%s%s] per element",
                             prec_name(p), gammas[gi], balance ? " balanced" : "",
                             l ? " ls 0.1" : "");
                    bad += numcheck_report_close(what, out, ref, ELEMS, rtol, atol, MAX_PRINT);
                    focal_loss_destroy(loss);
                }
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* Probabilities outside [eps, 1 - eps] are clipped and pass no gradient;
 * the bounds themselves pass it. eps = 2^-10 makes both bounds exact in
 * float32 and float64, so "at the bound" means the same in both. */
static void test_probabilities_clipped(void **state)
{
    (void)state;
    enum { N = 2, C = 6, ELEMS = N * C };
    static const double eps = 0x1p-10;
    /* 0, 2^-12 and 1e-9 lie below, 1 - 2^-12 and 1 above; 2^-10 and
     * 1 - 2^-10 are the bounds; 0.999 and 0.001 lie just inside. */
    static const double x[ELEMS] = {0.0,        0x1p-12, 0x1p-10, 0.5,   1.0 - 0x1p-10, 1.0,
                                    1.0 - 0x1p-12, 0.3,  0.999,   0.001, 0.7,           1e-9};
    static const double hard[ELEMS] = {1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1};
    static const double hard2[ELEMS] = {0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0};
    static const double soft[ELEMS] = {0.2, 0.7, 0.5, 1.0, 0.25, 0.9,
                                       0.0, 0.6, 0.3, 0.8, 0.1,  0.4};
    static const double gammas[] = {0.0, 0.5, 2.0};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 3; gi++) {
            for (int d = 0; d < 3; d++) {
                for (int r = 0; r < 2; r++) {
                    setup s = {0};
                    s.label = d == 2 ? "clipped probabilities, soft targets"
                                     : "clipped probabilities, hard targets";
                    s.n = N;
                    s.c = C;
                    s.inner = 1;
                    s.x = x;
                    s.dense = d == 0 ? hard : d == 1 ? hard2 : soft;
                    s.probs = 1;
                    s.eps = eps;
                    s.gamma = gammas[gi];
                    s.alpha_scalar_set = 1;
                    s.alpha_scalar = 0.25;
                    s.red = r ? FOCAL_REDUCTION_SUM : FOCAL_REDUCTION_NONE;
                    bad += run_compare(&s, both_precs[pi]);
                }
            }
            /* The default eps 1e-7: 0, 1e-9 and 1 are clipped. */
            setup s = {0};
            s.label = "clipped probabilities, default eps";
            s.n = N;
            s.c = C;
            s.inner = 1;
            s.x = x;
            s.dense = hard;
            s.probs = 1;
            s.gamma = gammas[gi];
            s.red = FOCAL_REDUCTION_NONE;
            bad += run_compare(&s, both_precs[pi]);
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * NaN stays in its element
 * ------------------------------------------------------------------------ */

/* kind 0: logits with index targets, 1: logits with dense targets,
 * 2: probabilities, 3: FL*. */
static size_t nan_case(prec p, focal_reduction red, int kind)
{
    enum { N = 3, C = 4, INNER = 3, ELEMS = N * C * INNER, POS = N * INNER };
    const size_t nan_elem = (1 * C + 2) * INNER + 1;
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0x7a7a + (uint64_t)kind);
    double x[ELEMS], x_clean[ELEMS], y[ELEMS], w[POS], up[ELEMS];
    int64_t target[POS];
    for (size_t i = 0; i < ELEMS; i++) {
        x[i] = round_to(kind == 2 ? numcheck_rng_uniform(&rng, 0.05, 0.95)
                                  : numcheck_rng_uniform(&rng, -3.0, 3.0),
                        p);
        y[i] = round_to(numcheck_rng_uniform(&rng, 0.0, 1.0), p);
        up[i] = round_to(numcheck_rng_uniform(&rng, -1.0, 1.0), p);
    }
    for (size_t i = 0; i < POS; i++) {
        target[i] = numcheck_rng_below(&rng, C + 1);
        w[i] = round_to(numcheck_rng_uniform(&rng, 0.5, 2.0), p);
    }
    memcpy(x_clean, x, sizeof x);
    x[nan_elem] = NAN;

    static const double alpha[C] = {0.25, 0.5, 0.75, 0.4};
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, kind == 3 ? 1.5 : 2.0), FOCAL_OK);
    assert_int_equal(focal_loss_set_alpha_vector(loss, alpha, C), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, red), FOCAL_OK);
    if (kind == 2) {
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
    } else if (kind == 3) {
        assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
    }
    const int use_index = kind == 0;
    const size_t out_len = red == FOCAL_REDUCTION_NONE ? ELEMS : 1;
    if (red != FOCAL_REDUCTION_NONE) {
        up[0] = round_to(0.75, p);
    }
    job j = {loss, p, N, C, INNER, x, use_index ? target : NULL, use_index ? NULL : y, w};
    job jc = {loss, p, N, C, INNER, x_clean, use_index ? target : NULL, use_index ? NULL : y, w};
    static const char *const kind_names[4] = {"logits/index", "logits/dense", "probabilities",
                                              "FL*"};
    char label[128];
    snprintf(label, sizeof label, "NaN in element %zu [%s %s %s]", nan_elem, prec_name(p),
             kind_names[kind], reduction_name(red));
    double out_f[ELEMS], out_fb[ELEMS], out_c[ELEMS], grad_fb[ELEMS], grad_b[ELEMS];
    double grad_c[ELEMS], grad_bc[ELEMS];
    focal_status st[5] = {job_forward(&j, out_f, out_len), job_fused(&j, out_fb, out_len, grad_fb),
                          job_backward(&j, up, out_len, grad_b),
                          job_fused(&jc, out_c, out_len, grad_c),
                          job_backward(&jc, up, out_len, grad_bc)};
    for (int i = 0; i < 5; i++) {
        if (st[i] != FOCAL_OK) {
            print_error("%s: call %d returned %d, expected FOCAL_OK (%s)\n", label, i, (int)st[i],
                        focal_last_error());
            focal_loss_destroy(loss);
            return 1;
        }
    }
    size_t bad = 0;
    for (size_t i = 0; i < out_len; i++) {
        const int touched = out_len == 1 || i == nan_elem;
        const double got[2] = {out_f[i], out_fb[i]};
        for (int k = 0; k < 2; k++) {
            if (touched ? !isnan(got[k]) : memcmp(&got[k], &out_c[i], sizeof(double)) != 0) {
                print_error("%s: %s out[%zu] = %.17g, expected %s%.17g\n", label,
                            k ? "fused" : "forward", i, got[k],
                            touched ? "NaN, not " : "the clean run's ", touched ? got[k] : out_c[i]);
                bad++;
            }
        }
    }
    /* The denominators depend on targets and weights only, so a reduced
     * loss leaves the other elements' gradient as it was. */
    for (size_t e = 0; e < ELEMS; e++) {
        const int touched = e == nan_elem;
        const double got[2] = {grad_fb[e], grad_b[e]};
        const double clean[2] = {grad_c[e], grad_bc[e]};
        for (int k = 0; k < 2; k++) {
            if (touched ? !isnan(got[k]) : memcmp(&got[k], &clean[k], sizeof(double)) != 0) {
                print_error("%s: %s grad[%zu] = %.17g, expected %s%.17g\n", label,
                            k ? "backward" : "fused", e, got[k],
                            touched ? "NaN, not " : "the clean run's ", touched ? got[k] : clean[k]);
                bad++;
            }
        }
    }
    focal_loss_destroy(loss);
    return bad;
}

static void test_nan_locality(void **state)
{
    (void)state;
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN,
                                           FOCAL_REDUCTION_SUM_OVER_POSITIVES};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t ri = 0; ri < 3; ri++) {
            for (int kind = 0; kind < 4; kind++) {
                bad += nan_case(both_precs[pi], reds[ri], kind);
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * -inf logits on negatives (masking)
 * ------------------------------------------------------------------------ */

/* API.md: "-inf logits for non-target classes are valid (masking)". In
 * sigmoid mode a non-target class is a negative (y = 0): p = 0 exactly, so
 * its loss and gradient are 0 and the rest is as if it were absent. */
static void test_masked_logits(void **state)
{
    (void)state;
    enum { N = 2, C = 4, ELEMS = N * C, POS = N };
    static const int64_t target[POS] = {1, C};
    static const double gammas[] = {0.0, 0.5, 2.0};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        prec p = both_precs[pi];
        double x[ELEMS] = {-INFINITY, round_to(0.7, p), round_to(-1.2, p), -INFINITY,
                           round_to(2.5, p), -INFINITY, -INFINITY, round_to(-0.3, p)};
        double y[ELEMS];
        for (int64_t nn = 0; nn < N; nn++) {
            for (int64_t k = 0; k < C; k++) {
                y[nn * C + k] = target[nn] == k ? 1.0 : 0.0;
            }
        }
        for (size_t gi = 0; gi < 3; gi++) {
            for (int d = 0; d < 2; d++) {
                for (int r = 0; r < 2; r++) {
                    focal_reduction red = r ? FOCAL_REDUCTION_SUM : FOCAL_REDUCTION_NONE;
                    focal_loss *loss = NULL;
                    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
                    assert_int_equal(focal_loss_set_gamma(loss, gammas[gi]), FOCAL_OK);
                    assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
                    assert_int_equal(focal_loss_set_reduction(loss, red), FOCAL_OK);
                    /* The reference: the finite elements alone. */
                    double ref_out[ELEMS], ref_grad[ELEMS];
                    long double sum = 0.0L;
                    setup s = {0};
                    s.gamma = gammas[gi];
                    for (size_t e = 0; e < ELEMS; e++) {
                        long double l = 0.0L, g = 0.0L;
                        int z;
                        if (isfinite(x[e])) {
                            long double at = y[e] * 0.25L + (1.0L - y[e]) * 0.75L;
                            element_closed_form(&s, x[e], y[e], at, 0.0L, 1.0L, &l, &g, &z);
                        }
                        sum += l;
                        ref_out[e] = (double)l;
                        ref_grad[e] = (double)g;
                    }
                    if (r) {
                        ref_out[0] = (double)sum;
                    }
                    job j = {loss, p, N, C, 1, x, d ? NULL : target, d ? y : NULL, NULL};
                    double out[ELEMS], grad[ELEMS];
                    size_t out_len = r ? 1 : ELEMS;
                    char what[160];
                    snprintf(what, sizeof what, "-inf on negatives [%s gamma %g %s %s]",
                             prec_name(p), gammas[gi], d ? "dense" : "index", reduction_name(red));
                    focal_status st = job_fused(&j, out, out_len, grad);
                    if (st != FOCAL_OK) {
                        print_error("%s: status %d (%s)\n", what, (int)st, focal_last_error());
                        bad++;
                    } else if (bad == 0) {
                        /* Details for the first failing case only. */
                        const double rtol = p == PREC_F64 ? 1e-12 : 2e-5;
                        const double atol = p == PREC_F64 ? 1e-14 : 2e-6;
                        char w2[200];
                        snprintf(w2, sizeof w2, "%s out", what);
                        bad += numcheck_report_close(w2, out, ref_out, out_len, rtol, atol, 3);
                        snprintf(w2, sizeof w2, "%s grad", what);
                        bad += numcheck_report_close(w2, grad, ref_grad, ELEMS, rtol, atol, 3);
                    } else {
                        const double rtol = p == PREC_F64 ? 1e-12 : 2e-5;
                        const double atol = p == PREC_F64 ? 1e-14 : 2e-6;
                        bad += numcheck_count_close(out, ref_out, out_len, rtol, atol);
                        bad += numcheck_count_close(grad, ref_grad, ELEMS, rtol, atol);
                    }
                    focal_loss_destroy(loss);
                }
            }
        }
    }
    if (bad > 0) {
        print_error("-inf on negatives: %zu mismatches in all (24 cases)\n", bad);
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Denominators: zero, and SUM_OVER_POSITIVES
 * ------------------------------------------------------------------------ */

static size_t zero_case(const char *what, prec p, focal_reduction red, const int64_t *target,
                        const double *dense, const double *weight, int alpha_one)
{
    enum { N = 2, C = 3, INNER = 2, ELEMS = N * C * INNER, POS = N * INNER };
    static const double x_src[ELEMS] = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5,
                                        3.0, -2.0, 0.0, 1.0,  -0.5,  0.125};
    double x[ELEMS];
    for (size_t i = 0; i < ELEMS; i++) {
        x[i] = round_to(x_src[i], p);
    }
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, red), FOCAL_OK);
    assert_int_equal(focal_loss_set_ignore_index(loss, -100), FOCAL_OK);
    if (alpha_one) {
        assert_int_equal(focal_loss_set_alpha(loss, 1.0), FOCAL_OK);
    }
    char label[200];
    snprintf(label, sizeof label, "zero denominator: %s [%s %s]", what, prec_name(p),
             reduction_name(red));
    job j = {loss, p, N, C, INNER, x, target, dense, weight};
    const size_t out_len = red == FOCAL_REDUCTION_NONE ? ELEMS : 1;
    double out_f[ELEMS], out_fb[ELEMS], grad_fb[ELEMS], grad_b[ELEMS], up[ELEMS];
    for (size_t i = 0; i < ELEMS; i++) {
        up[i] = 2.5;
    }
    size_t bad = 0;
    focal_status s1 = job_forward(&j, out_f, out_len);
    focal_status s2 = job_fused(&j, out_fb, out_len, grad_fb);
    focal_status s3 = job_backward(&j, up, out_len, grad_b);
    if (s1 != FOCAL_OK || s2 != FOCAL_OK || s3 != FOCAL_OK) {
        print_error("%s: status forward %d fused %d backward %d (%s)\n", label, (int)s1, (int)s2,
                    (int)s3, focal_last_error());
        bad++;
    } else {
        for (size_t i = 0; i < out_len; i++) {
            if (out_f[i] != 0.0 || out_fb[i] != 0.0) {
                print_error("%s: out[%zu] forward %.17g fused %.17g, expected 0\n", label, i,
                            out_f[i], out_fb[i]);
                bad++;
            }
        }
        for (size_t e = 0; e < ELEMS; e++) {
            if (grad_fb[e] != 0.0 || grad_b[e] != 0.0) {
                print_error("%s: grad[%zu] fused %.17g backward %.17g, expected 0\n", label, e,
                            grad_fb[e], grad_b[e]);
                bad++;
            }
        }
    }
    focal_loss_destroy(loss);
    return bad;
}

static void test_zero_denominator(void **state)
{
    (void)state;
    static const int64_t all_ignored[4] = {-100, -100, -100, -100};
    static const int64_t background[4] = {3, 3, 3, 3};
    static const int64_t some_targets[4] = {0, 3, 1, 2};
    static const double zero_weights[4] = {0.0, 0.0, 0.0, 0.0};
    static const double dense_zero[12] = {0.0};
    static const focal_reduction all_reds[] = {
        FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN, FOCAL_REDUCTION_SUM,
        FOCAL_REDUCTION_WEIGHTED_MEAN, FOCAL_REDUCTION_SUM_OVER_POSITIVES};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        prec p = both_precs[pi];
        for (size_t ri = 0; ri < 5; ri++) {
            bad += zero_case("all positions ignored", p, all_reds[ri], all_ignored, NULL, NULL, 0);
        }
        bad += zero_case("all weights zero", p, FOCAL_REDUCTION_WEIGHTED_MEAN, some_targets, NULL,
                         zero_weights, 0);
        bad += zero_case("all weights zero", p, FOCAL_REDUCTION_MEAN, some_targets, NULL,
                         zero_weights, 0);
        /* alpha 1 weighs negatives by 1 - alpha = 0: with background only
         * every alpha_t is 0; the same with dense targets all 0 (no
         * weights: the float32 kernel's one-stretch form). */
        bad += zero_case("alpha 1, background only", p, FOCAL_REDUCTION_WEIGHTED_MEAN, background,
                         NULL, NULL, 1);
        bad += zero_case("alpha 1, dense targets all 0", p, FOCAL_REDUCTION_WEIGHTED_MEAN, NULL,
                         dense_zero, NULL, 1);
    }
    assert_int_equal(bad, 0);
}

static void test_sum_over_positives(void **state)
{
    (void)state;
    enum { N = 3, C = 5, INNER = 2, ELEMS = N * C * INNER, POS = N * INNER };
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0x505);
    double x[ELEMS], w[POS], d03[ELEMS], d75[ELEMS], dzero[ELEMS];
    for (size_t i = 0; i < ELEMS; i++) {
        x[i] = numcheck_rng_uniform(&rng, -4.0, 4.0);
        dzero[i] = 0.0;
        d03[i] = 0.0;
        d75[i] = 0.25; /* 30 elements of 0.25: 7.5 */
    }
    /* Three soft entries summing to 0.3: below 1, so the denominator is 1. */
    d03[3] = 0.125;
    d03[17] = 0.125;
    d03[28] = 0.05;
    for (size_t i = 0; i < POS; i++) {
        w[i] = numcheck_rng_uniform(&rng, 0.5, 1.5);
    }
    static const int64_t no_positives[POS] = {5, 5, -1, 5, 5, 5};
    static const int64_t three_positives[POS] = {0, 5, 4, -1, 2, 5};
    /* Positives that equal the ignore index are not positives. */
    static const int64_t ignored_class[POS] = {3, 3, 1, 5, 3, 0};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (int a = 0; a < 2; a++) {
            for (int weighted = 0; weighted < 2; weighted++) {
                for (int v = 0; v < 6; v++) {
                    setup s = {0};
                    s.n = N;
                    s.c = C;
                    s.inner = INNER;
                    s.x = x;
                    s.weight = weighted ? w : NULL;
                    s.gamma = 2.0;
                    s.alpha_scalar_set = a;
                    s.alpha_scalar = 0.25;
                    s.red = FOCAL_REDUCTION_SUM_OVER_POSITIVES;
                    s.ignore_set = 1;
                    s.ignore = -1;
                    switch (v) {
                    case 0:
                        s.label = "SUM_OVER_POSITIVES, no positives (denominator 1)";
                        s.target = no_positives;
                        break;
                    case 1:
                        s.label = "SUM_OVER_POSITIVES, 3 positives";
                        s.target = three_positives;
                        break;
                    case 2:
                        s.label = "SUM_OVER_POSITIVES, ignore_index 3 is a class";
                        s.target = ignored_class;
                        s.ignore = 3;
                        break;
                    case 3:
                        s.label = "SUM_OVER_POSITIVES, dense targets summing to 0.3 (denominator 1)";
                        s.dense = d03;
                        break;
                    case 4:
                        s.label = "SUM_OVER_POSITIVES, dense targets summing to 7.5";
                        s.dense = d75;
                        break;
                    default:
                        s.label = "SUM_OVER_POSITIVES, dense targets all 0 (denominator 1)";
                        s.dense = dzero;
                        break;
                    }
                    bad += run_compare(&s, both_precs[pi]);
                }
            }
        }
    }

    /* The same denominators seen directly: SUM_OVER_POSITIVES against SUM
     * of the very same call. */
    for (size_t pi = 0; pi < 2; pi++) {
        prec p = both_precs[pi];
        double xr[ELEMS];
        for (size_t i = 0; i < ELEMS; i++) {
            xr[i] = round_to(x[i], p);
        }
        static const struct {
            const char *what;
            int dense;
            double denominator;
        } cases[] = {{"no positives", 0, 1.0}, {"dense sum 0.3", 1, 1.0}, {"dense sum 7.5", 2, 7.5}};
        for (size_t k = 0; k < 3; k++) {
            focal_loss *loss = NULL;
            assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
            assert_int_equal(focal_loss_set_ignore_index(loss, -1), FOCAL_OK);
            job j = {loss, p, N, C, INNER, xr, cases[k].dense == 0 ? no_positives : NULL,
                     cases[k].dense == 1 ? d03 : cases[k].dense == 2 ? d75 : NULL, NULL};
            double sum = 0.0, sop = 0.0;
            assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM), FOCAL_OK);
            assert_int_equal(job_forward(&j, &sum, 1), FOCAL_OK);
            assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_SUM_OVER_POSITIVES),
                             FOCAL_OK);
            assert_int_equal(job_forward(&j, &sop, 1), FOCAL_OK);
            double want = sum / cases[k].denominator;
            double tol = p == PREC_F64 ? 1e-15 : 2.0 * FLT_EPSILON;
            if (!(fabs(sop - want) <= tol * fabs(want))) {
                print_error("SUM_OVER_POSITIVES, %s [%s]: %.17g, SUM / %g = %.17g\n",
                            cases[k].what, prec_name(p), sop, cases[k].denominator, want);
                bad++;
            }
            focal_loss_destroy(loss);
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * The prior bias
 * ------------------------------------------------------------------------ */

static void test_prior_bias(void **state)
{
    (void)state;
    static const double priors[] = {0.01, 0.5, 0.99, 1e-6, 0.25};
    size_t bad = 0;
    for (size_t i = 0; i < sizeof priors / sizeof priors[0]; i++) {
        const double prior = priors[i];
        double bias = NAN;
        assert_int_equal(focal_prior_bias(prior, &bias), FOCAL_OK);
        const long double want = logl((long double)prior / (1.0L - (long double)prior));
        if (!(fabsl((long double)bias - want) <= 1e-15L * fabsl(want) + 1e-300L)) {
            print_error("focal_prior_bias(%g) = %.17g, log(prior / (1 - prior)) = %.17Lg\n", prior,
                        bias, want);
            bad++;
        }
        const long double back = ld_sigmoid((long double)bias);
        if (!(fabsl(back - (long double)prior) <= 1e-15L * (long double)prior)) {
            print_error("sigmoid(focal_prior_bias(%g)) = %.17Lg\n", prior, back);
            bad++;
        }
    }
    double bias = 0.0;
    assert_int_equal(focal_prior_bias(0.01, &bias), FOCAL_OK);
    if (!(fabs(bias - log(0.01 / 0.99)) <= 1e-15 * fabs(log(0.01 / 0.99)))) {
        print_error("focal_prior_bias(0.01) = %.17g, log(0.01 / 0.99) = %.17g\n", bias,
                    log(0.01 / 0.99));
        bad++;
    }
    /* Seen through the loss: a logit of that bias on a positive with gamma
     * 0 costs -log(0.01), on a negative -log(0.99). */
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
    const double x[2] = {bias, bias};
    const double y[2] = {1.0, 0.0};
    double out[2];
    assert_int_equal(focal_forward_dense_f64(loss, 1, 2, 1, x, y, NULL, out), FOCAL_OK);
    if (!(fabs(out[0] + log(0.01)) <= 1e-14 && fabs(out[1] + log(0.99)) <= 1e-14)) {
        print_error("cross-entropy at the prior bias: %.17g and %.17g, expected %.17g and %.17g\n",
                    out[0], out[1], -log(0.01), -log(0.99));
        bad++;
    }
    focal_loss_destroy(loss);
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Bitwise determinism across thread counts
 * ------------------------------------------------------------------------ */

/* Every thread count against threads = 1: the fused call always, the
 * backward call (random upstream) when with_backward is set. */
static size_t determinism_case(prec p, focal_reduction red, int dense_targets, int64_t n,
                               int64_t c, int64_t inner, int with_backward)
{
    const size_t elems = (size_t)(n * c * inner);
    const size_t positions = (size_t)(n * inner);
    const size_t out_len = red == FOCAL_REDUCTION_NONE ? elems : 1;
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0x51de7 + (uint64_t)red * 7 + (uint64_t)dense_targets);
    double *x = numcheck_alloc(elems, sizeof *x);
    double *y = dense_targets ? numcheck_alloc(elems, sizeof *y) : NULL;
    int64_t *target = dense_targets ? NULL : numcheck_alloc(positions, sizeof *target);
    double *w = numcheck_alloc(positions, sizeof *w);
    double *up = numcheck_alloc(out_len, sizeof *up);
    double *alpha = numcheck_alloc((size_t)c, sizeof *alpha);
    for (size_t i = 0; i < elems; i++) {
        x[i] = round_to(numcheck_rng_uniform(&rng, -6.0, 6.0), p);
        if (y != NULL) {
            double u = numcheck_rng_uniform(&rng, 0.0, 1.0);
            y[i] = u < 0.97 ? 0.0 : round_to(numcheck_rng_uniform(&rng, 0.0, 1.0), p);
        }
    }
    for (size_t i = 0; i < positions; i++) {
        if (target != NULL) {
            double u = numcheck_rng_uniform(&rng, 0.0, 1.0);
            target[i] = u < 0.05 ? -100 : u < 0.6 ? c : numcheck_rng_below(&rng, c);
        }
        w[i] = round_to(numcheck_rng_uniform(&rng, 0.0, 2.0), p);
    }
    for (size_t i = 0; i < out_len; i++) {
        up[i] = round_to(numcheck_rng_uniform(&rng, -1.0, 1.0), p);
    }
    for (int64_t k = 0; k < c; k++) {
        alpha[k] = numcheck_rng_uniform(&rng, 0.1, 0.9);
    }

    static const int threads[] = {1, 2, 3, 4, 7};
    double *out_ref = numcheck_alloc(out_len, sizeof *out_ref);
    double *grad_ref = numcheck_alloc(elems, sizeof *grad_ref);
    double *gradb_ref = numcheck_alloc(elems, sizeof *gradb_ref);
    double *out = numcheck_alloc(out_len, sizeof *out);
    double *grad = numcheck_alloc(elems, sizeof *grad);
    double *gradb = numcheck_alloc(elems, sizeof *gradb);
    char label[160];
    size_t bad = 0;
    for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
        assert_int_equal(focal_loss_set_gamma(loss, 2.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha_vector(loss, alpha, c), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, red), FOCAL_OK);
        if (!dense_targets) {
            assert_int_equal(focal_loss_set_ignore_index(loss, -100), FOCAL_OK);
        }
        assert_int_equal(focal_loss_set_threads(loss, threads[ti]), FOCAL_OK);
        job j = {loss, p, n, c, inner, x, target, y, w};
        double *o = ti == 0 ? out_ref : out;
        double *g = ti == 0 ? grad_ref : grad;
        double *gb = ti == 0 ? gradb_ref : gradb;
        focal_status s1 = job_fused(&j, o, out_len, g);
        focal_status s2 = with_backward ? job_backward(&j, up, out_len, gb) : FOCAL_OK;
        snprintf(label, sizeof label, "threads %d vs 1 [%s %s%s (%lld,%lld,%lld)]", threads[ti],
                 prec_name(p), reduction_name(red), dense_targets ? " dense" : " index",
                 (long long)n, (long long)c, (long long)inner);
        if (s1 != FOCAL_OK || s2 != FOCAL_OK) {
            print_error("%s: status fused %d backward %d (%s)\n", label, (int)s1, (int)s2,
                        focal_last_error());
            bad++;
        } else if (ti > 0) {
            char what[200];
            snprintf(what, sizeof what, "%s out", label);
            bad += numcheck_report_same_bits_f64(what, out, out_ref, out_len, MAX_PRINT);
            snprintf(what, sizeof what, "%s fused grad", label);
            bad += numcheck_report_same_bits_f64(what, grad, grad_ref, elems, MAX_PRINT);
            if (with_backward) {
                snprintf(what, sizeof what, "%s backward grad", label);
                bad += numcheck_report_same_bits_f64(what, gradb, gradb_ref, elems, MAX_PRINT);
            }
        } else {
            for (size_t i = 0; i < out_len; i++) {
                if (!isfinite(out_ref[i])) {
                    print_error("%s: out[%zu] = %g is not finite\n", label, i, out_ref[i]);
                    bad++;
                    break;
                }
            }
        }
        focal_loss_destroy(loss);
    }
    free(x);
    free(y);
    free(target);
    free(w);
    free(up);
    free(alpha);
    free(out_ref);
    free(grad_ref);
    free(gradb_ref);
    free(out);
    free(grad);
    free(gradb);
    return bad;
}

static void test_thread_determinism(void **state)
{
    (void)state;
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        prec p = both_precs[pi];
        /* 10000 x 80 is 400 tiles in 256 chunks of one or two tiles. */
        for (int dense = 0; dense < 2; dense++) {
            bad += determinism_case(p, FOCAL_REDUCTION_MEAN, dense, 10000, 80, 1, 1);
            bad += determinism_case(p, FOCAL_REDUCTION_SUM_OVER_POSITIVES, dense, 10000, 80, 1, 0);
        }
        /* Per-element outputs and upstream gradients across an NCHW layout. */
        bad += determinism_case(p, FOCAL_REDUCTION_NONE, 0, 4, 80, 32 * 32, 1);
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_closed_form_grid),
        cmocka_unit_test(test_index_dense_equivalence),
        cmocka_unit_test(test_extreme_logits),
        cmocka_unit_test(test_small_gamma_saturated),
        cmocka_unit_test(test_fl_star),
        cmocka_unit_test(test_binary_cross_entropy),
        cmocka_unit_test(test_keras_binary_focal),
        cmocka_unit_test(test_probabilities_clipped),
        cmocka_unit_test(test_nan_locality),
        cmocka_unit_test(test_masked_logits),
        cmocka_unit_test(test_zero_denominator),
        cmocka_unit_test(test_sum_over_positives),
        cmocka_unit_test(test_prior_bias),
        cmocka_unit_test(test_thread_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
