/*
 * Softmax-mode numerics against closed forms evaluated here in long double
 * (never from libfocal), in float32 and float64: logits of magnitude 1e4,
 * gamma in (0, 1) with p_t -> 1, -inf masking, NaN locality, zero
 * denominators, gamma = 0 as cross-entropy (with and without label
 * smoothing), clipped probabilities, and bitwise determinism across thread
 * counts.
 *
 * Tolerances: |got - ref| <= rtol |ref| + atol with
 *   float64: rtol 1e-12, atol 1e-14 + 4 DBL_EPSILON max|x|
 *   float32: rtol 2e-5,  atol 2e-6  + 4 FLT_EPSILON max|x|
 * rtol leaves room for a chain of exp/log/pow roundings (about 4500 ulps
 * in f64, 170 in f32) yet catches any wrong term; the atol floor accepts
 * results that vanish below the precision of values of order one (a
 * gradient of 1e-35 may come out as 0), and its max|x| term is what
 * rounding the inputs by one ulp can change in a result (softmax outputs
 * move by about eps |x|), so a backward-stable implementation passes. The
 * p_t -> 1 cases are also checked relative down to the smallest normal
 * number. Structural zeros (masked classes, clipped probabilities, ignored
 * positions, zero weights) must be exactly zero.
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
/* The closed forms work on rows of at most this many classes. */
#define REF_MAX_C 128

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
    default: return "?";
    }
}

/* ------------------------------------------------------------------------
 * Calling the library in either precision with double buffers. For f32 the
 * double inputs must already be representable as float (see round_to).
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

static float *to_f32(const double *a, size_t n)
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

static void from_f32(double *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dst[i] = (double)src[i];
    }
}

static focal_status job_forward(const job *j, double *out, size_t out_len)
{
    if (j->p == PREC_F64) {
        if (j->dense != NULL) {
            return focal_forward_dense_f64(j->loss, j->n, j->c, j->inner, j->x, j->dense, j->weight,
                                           out);
        }
        return focal_forward_f64(j->loss, j->n, j->c, j->inner, j->x, j->target, j->weight, out);
    }
    float *x = to_f32(j->x, job_elems(j));
    float *d = to_f32(j->dense, job_elems(j));
    float *w = to_f32(j->weight, job_positions(j));
    float *o = numcheck_alloc(out_len, sizeof *o);
    focal_status st = d != NULL ? focal_forward_dense_f32(j->loss, j->n, j->c, j->inner, x, d, w, o)
                                : focal_forward_f32(j->loss, j->n, j->c, j->inner, x, j->target, w, o);
    if (st == FOCAL_OK) {
        from_f32(out, o, out_len);
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
        if (j->dense != NULL) {
            return focal_backward_dense_f64(j->loss, j->n, j->c, j->inner, j->x, j->dense,
                                            j->weight, up, grad);
        }
        return focal_backward_f64(j->loss, j->n, j->c, j->inner, j->x, j->target, j->weight, up,
                                  grad);
    }
    float *x = to_f32(j->x, job_elems(j));
    float *d = to_f32(j->dense, job_elems(j));
    float *w = to_f32(j->weight, job_positions(j));
    float *u = to_f32(up, up_len);
    float *g = numcheck_alloc(job_elems(j), sizeof *g);
    focal_status st =
        d != NULL ? focal_backward_dense_f32(j->loss, j->n, j->c, j->inner, x, d, w, u, g)
                  : focal_backward_f32(j->loss, j->n, j->c, j->inner, x, j->target, w, u, g);
    if (st == FOCAL_OK) {
        from_f32(grad, g, job_elems(j));
    }
    free(x);
    free(d);
    free(w);
    free(u);
    free(g);
    return st;
}

/* out or grad may be NULL, as in the library. */
static focal_status job_fused(const job *j, double *out, size_t out_len, double *grad)
{
    if (j->p == PREC_F64) {
        if (j->dense != NULL) {
            return focal_forward_backward_dense_f64(j->loss, j->n, j->c, j->inner, j->x, j->dense,
                                                    j->weight, out, grad);
        }
        return focal_forward_backward_f64(j->loss, j->n, j->c, j->inner, j->x, j->target,
                                          j->weight, out, grad);
    }
    float *x = to_f32(j->x, job_elems(j));
    float *d = to_f32(j->dense, job_elems(j));
    float *w = to_f32(j->weight, job_positions(j));
    float *o = out != NULL ? numcheck_alloc(out_len, sizeof *o) : NULL;
    float *g = grad != NULL ? numcheck_alloc(job_elems(j), sizeof *g) : NULL;
    focal_status st =
        d != NULL ? focal_forward_backward_dense_f32(j->loss, j->n, j->c, j->inner, x, d, w, o, g)
                  : focal_forward_backward_f32(j->loss, j->n, j->c, j->inner, x, j->target, w, o, g);
    if (st == FOCAL_OK) {
        if (o != NULL) {
            from_f32(out, o, out_len);
        }
        if (g != NULL) {
            from_f32(grad, g, job_elems(j));
        }
    }
    free(x);
    free(d);
    free(w);
    free(o);
    free(g);
    return st;
}

/* ------------------------------------------------------------------------
 * One setting of the loss, used both to configure a context and to
 * evaluate the closed form.
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
    int ignore_set;
    int64_t ignore;
    double ls;
    int probs;
    double eps; /* 0: leave the default */
    focal_reduction red;
    /* Relative accuracy down to the smallest normal number instead of the
     * usual absolute floor (see test_small_gamma_saturated). */
    int tiny_relative;
} setup;

static focal_status setup_configure(const setup *s, focal_loss **out)
{
    focal_loss *loss = NULL;
    focal_status st = focal_loss_create(&loss, FOCAL_MODE_SOFTMAX);
    if (st != FOCAL_OK) {
        return st;
    }
    st = focal_loss_set_gamma(loss, s->gamma);
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

static long double class_alpha(const setup *s, int64_t cls)
{
    if (s->alpha_vec != NULL) {
        return (long double)s->alpha_vec[cls];
    }
    if (s->alpha_scalar_set) {
        return (long double)s->alpha_scalar;
    }
    return 1.0L;
}

/*
 * FL for one row of logits x[0..c) and target t, by the closed form
 *   q = 1 - p_t = sum_{j != t} p_j,  l = log p_t,
 *   loss = -a q^g l,  dL/dx_t = -G,  dL/dx_j = G p_j / q,
 *   G = a q^g (q - g p_t l),
 * where p_j / q is the softmax over the classes other than t. When x_t is
 * the largest logit, S = sum_{j != t} exp(x_j - x_t) <= c - 1 gives
 * p_t = 1 / (1 + S), q = S / (1 + S), l = -log1p(S) and
 * G = a q^g (S + g log1p(S)) / (1 + S), all without cancellation however
 * close p_t is to 1.
 */
static void closed_form_fl(size_t c, const long double *x, size_t t, long double a, long double g,
                           long double *loss, long double *grad)
{
    long double xt = x[t];
    int t_is_max = 1;
    long double m_other = -INFINITY;
    for (size_t j = 0; j < c; j++) {
        if (j != t) {
            if (x[j] > xt) {
                t_is_max = 0;
            }
            if (x[j] > m_other) {
                m_other = x[j];
            }
        }
    }
    long double z_other = 0.0L;
    for (size_t j = 0; j < c; j++) {
        if (j != t) {
            z_other += expl(x[j] - m_other);
        }
    }

    long double q, l, big_g;
    if (t_is_max) {
        long double s = 0.0L;
        for (size_t j = 0; j < c; j++) {
            if (j != t) {
                s += expl(x[j] - xt);
            }
        }
        q = s / (1.0L + s);
        l = -log1pl(s);
        big_g = a * powl(q, g) * (s + g * log1pl(s)) / (1.0L + s);
    } else {
        long double z = expl(xt - m_other) + z_other;
        l = xt - m_other - logl(z);
        long double pt = expl(l);
        q = 1.0L - pt;
        big_g = a * powl(q, g) * (q - g * pt * l);
    }
    *loss = -a * powl(q, g) * l;
    for (size_t j = 0; j < c; j++) {
        if (j == t) {
            grad[j] = -big_g;
        } else {
            grad[j] = big_g * (expl(x[j] - m_other) / z_other);
        }
    }
}

/*
 * The Keras form sum_c y_c a_c (1 - p_c)^g (-log p_c) for logits (softmax
 * p) or probabilities (clipped p, not renormalised). With f(p) =
 * (1 - p)^g (-log p): f'(p) = -g (1 - p)^(g-1) (-log p) - (1 - p)^g / p.
 * Logits: dL/dx_k = y_k a_k f'(p_k) p_k - p_k sum_c y_c a_c f'(p_c) p_c.
 * Probabilities: dL/dx_k = y_k a_k f'(p_k) inside (eps, 1 - eps), else 0.
 * Classes with y_c = 0 contribute nothing (and may have p_c = 0).
 */
static void closed_form_keras(const setup *s, size_t c, const long double *x, const long double *y,
                              long double eps, long double *loss, long double *grad,
                              unsigned char *zero)
{
    long double g = (long double)s->gamma;
    long double p[REF_MAX_C];
    long double logp[REF_MAX_C];
    if (s->probs) {
        for (size_t k = 0; k < c; k++) {
            long double v = x[k] < eps ? eps : (x[k] > 1.0L - eps ? 1.0L - eps : x[k]);
            p[k] = v;
            logp[k] = logl(v);
        }
    } else {
        long double m = -INFINITY;
        for (size_t k = 0; k < c; k++) {
            if (x[k] > m) {
                m = x[k];
            }
        }
        long double z = 0.0L;
        for (size_t k = 0; k < c; k++) {
            z += expl(x[k] - m);
        }
        for (size_t k = 0; k < c; k++) {
            logp[k] = x[k] - m - logl(z);
            p[k] = expl(logp[k]);
        }
    }
    long double total = 0.0L;
    long double sum_d = 0.0L;
    long double dfp[REF_MAX_C];
    for (size_t k = 0; k < c; k++) {
        dfp[k] = 0.0L;
        if (y[k] == 0.0L) {
            continue;
        }
        long double a = class_alpha(s, (int64_t)k);
        long double one_minus = 1.0L - p[k];
        total += y[k] * a * powl(one_minus, g) * (-logp[k]);
        long double first = g == 0.0L ? 0.0L : -g * powl(one_minus, g - 1.0L) * (-logp[k]);
        long double fprime = first - powl(one_minus, g) / p[k];
        dfp[k] = y[k] * a * fprime;
        sum_d += dfp[k] * p[k];
    }
    *loss = total;
    for (size_t k = 0; k < c; k++) {
        if (s->probs) {
            int inside = x[k] > eps && x[k] < 1.0L - eps;
            grad[k] = inside ? dfp[k] : 0.0L;
            zero[k] = (unsigned char)(!inside || y[k] == 0.0L);
        } else {
            grad[k] = dfp[k] * p[k] - p[k] * sum_d;
            zero[k] = (unsigned char)(isinf(x[k]) && x[k] < 0);
        }
    }
}

/*
 * The reference out (per position for NONE, else one value) and gradient
 * (for a unit upstream gradient) of s, evaluated on x / dense / weight
 * (the precision-rounded copies). zero[e] marks elements whose gradient is
 * structurally zero.
 */
static void reference(const setup *s, const double *x, const double *dense, const double *weight,
                      double *out, double *grad, unsigned char *zero)
{
    const size_t c = (size_t)s->c;
    const size_t elems = (size_t)(s->n * s->c * s->inner);
    long double *g_acc = numcheck_alloc(elems, sizeof *g_acc);
    long double row[REF_MAX_C], yrow[REF_MAX_C], grow[REF_MAX_C], sub[REF_MAX_C], gsub[REF_MAX_C];
    unsigned char zrow[REF_MAX_C];
    size_t map[REF_MAX_C];
    assert_true(s->c >= 1 && s->c <= REF_MAX_C);
    long double sum = 0.0L;
    long double count = 0.0L;
    long double wsum = 0.0L;
    long double eps = s->eps != 0.0 ? (long double)s->eps : 1e-7L;

    memset(zero, 0, elems);
    for (int64_t nn = 0; nn < s->n; nn++) {
        for (int64_t sp = 0; sp < s->inner; sp++) {
            size_t pos = (size_t)(nn * s->inner + sp);
            long double w = weight != NULL ? (long double)weight[pos] : 1.0L;
            for (size_t k = 0; k < c; k++) {
                row[k] = (long double)x[((size_t)nn * c + k) * (size_t)s->inner + (size_t)sp];
                zrow[k] = 0;
            }
            if (s->red == FOCAL_REDUCTION_NONE) {
                out[pos] = 0.0;
            }
            int ignored = s->target != NULL && s->ignore_set && s->target[pos] == s->ignore;
            long double loss = 0.0L;
            long double alpha_t = 0.0L;
            if (ignored) {
                for (size_t k = 0; k < c; k++) {
                    grow[k] = 0.0L;
                    zrow[k] = 1;
                }
            } else if (s->target != NULL && s->ls == 0.0 && !s->probs) {
                size_t t = (size_t)s->target[pos];
                /* The loss over the unmasked classes only. */
                size_t kept = 0, t_sub = 0;
                for (size_t k = 0; k < c; k++) {
                    if (k == t || !(isinf(row[k]) && row[k] < 0)) {
                        if (k == t) {
                            t_sub = kept;
                        }
                        map[kept] = k;
                        sub[kept++] = row[k];
                    }
                }
                alpha_t = class_alpha(s, (int64_t)t);
                closed_form_fl(kept, sub, t_sub, alpha_t, (long double)s->gamma, &loss, gsub);
                for (size_t k = 0; k < c; k++) {
                    grow[k] = 0.0L;
                    zrow[k] = 1;
                }
                for (size_t k = 0; k < kept; k++) {
                    grow[map[k]] = gsub[k];
                    zrow[map[k]] = 0;
                }
            } else {
                if (dense != NULL) {
                    for (size_t k = 0; k < c; k++) {
                        yrow[k] = (long double)dense[((size_t)nn * c + k) * (size_t)s->inner + (size_t)sp];
                    }
                } else {
                    size_t t = (size_t)s->target[pos];
                    for (size_t k = 0; k < c; k++) {
                        yrow[k] = (long double)s->ls / (long double)c +
                                  (k == t ? 1.0L - (long double)s->ls : 0.0L);
                    }
                }
                closed_form_keras(s, c, row, yrow, eps, &loss, grow, zrow);
                if (dense != NULL) {
                    for (size_t k = 0; k < c; k++) {
                        alpha_t += yrow[k] * class_alpha(s, (int64_t)k);
                    }
                } else {
                    alpha_t = class_alpha(s, s->target[pos]);
                }
            }
            if (!ignored) {
                count += 1.0L;
                wsum += w * alpha_t;
                sum += w * loss;
                if (s->red == FOCAL_REDUCTION_NONE) {
                    out[pos] = (double)(w * loss);
                }
            }
            for (size_t k = 0; k < c; k++) {
                size_t e = ((size_t)nn * c + k) * (size_t)s->inner + (size_t)sp;
                g_acc[e] = w * grow[k];
                zero[e] = (unsigned char)(zrow[k] || w == 0.0L);
            }
        }
    }
    long double scale = 1.0L;
    if (s->red == FOCAL_REDUCTION_MEAN) {
        scale = count > 0.0L ? 1.0L / count : 0.0L;
    } else if (s->red == FOCAL_REDUCTION_WEIGHTED_MEAN) {
        scale = wsum != 0.0L ? 1.0L / wsum : 0.0L;
    }
    if (s->red != FOCAL_REDUCTION_NONE) {
        out[0] = (double)(sum * scale);
    }
    for (size_t e = 0; e < elems; e++) {
        grad[e] = (double)(g_acc[e] * scale);
    }
    free(g_acc);
}

/* Runs forward, fused and backward (unit upstream) for s in precision p
 * and compares everything with the closed form. Returns the number of
 * problems, each printed. */
static size_t run_compare(const setup *s, prec p)
{
    const size_t elems = (size_t)(s->n * s->c * s->inner);
    const size_t positions = (size_t)(s->n * s->inner);
    const size_t out_len = s->red == FOCAL_REDUCTION_NONE ? positions : 1;
    char label[256];
    snprintf(label, sizeof label, "%s [%s gamma %g %s%s]", s->label, prec_name(p), s->gamma,
             reduction_name(s->red), s->tiny_relative ? ", relative to tiny values" : "");

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
    double rtol = p == PREC_F64 ? 1e-12 : 2e-5;
    double atol = p == PREC_F64 ? 1e-14 + 4.0 * DBL_EPSILON * xmax : 2e-6 + 4.0 * FLT_EPSILON * xmax;
    if (s->tiny_relative) {
        atol = p == PREC_F64 ? DBL_MIN : FLT_MIN;
    }

    double *out_ref = numcheck_alloc(out_len, sizeof *out_ref);
    double *grad_ref = numcheck_alloc(elems, sizeof *grad_ref);
    unsigned char *zero = numcheck_alloc(elems, 1);
    reference(s, x, dense, weight, out_ref, grad_ref, zero);

    size_t bad = 0;
    focal_loss *loss = NULL;
    focal_status st = setup_configure(s, &loss);
    if (st != FOCAL_OK) {
        print_error("%s: configuring the context failed: %s (%s)\n", label, focal_status_string(st),
                    focal_last_error());
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
            char what[320];
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
                    if (bad < MAX_PRINT) {
                        print_error("%s grad[%zu]: fused %.17g backward %.17g, expected exactly 0\n",
                                    label, e, grad_fb[e], grad_b[e]);
                    }
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
 * Logits of magnitude 1e4
 * ------------------------------------------------------------------------ */

static void test_large_logits(void **state)
{
    (void)state;
    /* (N = 7, C = 3): rows of magnitude 1e4 with every class as target. */
    static const double x[7 * 3] = {
        1e4,  -1e4, 0.0,       /* t = 0: above the others by >= 1e4 */
        1e4,  -1e4, 0.0,       /* t = 1: below the max by 2e4 */
        1e4,  -1e4, 0.0,       /* t = 2: below the max by 1e4 */
        -1e4, -9999.0, -9999.5, /* large offset, O(1) differences */
        -1e4, -9999.0, -9999.5,
        1e4,  1e4,  -1e4,      /* a tie for the max */
        1e4,  1e4,  -1e4,
    };
    static const int64_t target[7] = {0, 1, 2, 0, 2, 1, 2};
    static const double alpha[3] = {0.25, 0.5, 1.5};
    static const double gammas[] = {0.0, 0.5, 2.0, 3.7};
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_SUM};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < sizeof gammas / sizeof gammas[0]; gi++) {
            for (int a = 0; a < 2; a++) {
                for (size_t ri = 0; ri < 2; ri++) {
                    setup s = {0};
                    s.label = a ? "large logits, alpha vector" : "large logits";
                    s.n = 7;
                    s.c = 3;
                    s.inner = 1;
                    s.x = x;
                    s.target = target;
                    s.alpha_vec = a ? alpha : NULL;
                    s.gamma = gammas[gi];
                    s.red = reds[ri];
                    bad += run_compare(&s, both_precs[pi]);
                }
            }
        }
    }

    /* The same rows by hand, independent of closed_form_fl: row 1 (below
     * by 2e4) has CE = 2e4 (the log-sum-exp correction is below the
     * precision), focal factor 1, gradient (+a, -a, 0); row 0 has loss and
     * gradient 0 to every digit a double holds. */
    for (size_t pi = 0; pi < 2; pi++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
        assert_int_equal(focal_loss_set_gamma(loss, 2.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha(loss, 0.25), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
        job j = {loss, both_precs[pi], 3, 3, 1, x, target, NULL, NULL};
        double out[3], grad[9];
        assert_int_equal(job_fused(&j, out, 3, grad), FOCAL_OK);
        double tol = both_precs[pi] == PREC_F64 ? 1e-12 : 1e-5;
        for (size_t i = 0; i < 9; i++) {
            assert_true(isfinite(grad[i]));
        }
        assert_true(fabs(out[0]) <= tol && fabs(grad[0]) <= tol && fabs(grad[1]) <= tol &&
                    fabs(grad[2]) <= tol);
        if (!(fabs(out[1] - 0.25 * 2e4) <= 0.25 * 2e4 * tol && fabs(grad[3] - 0.25) <= tol &&
              fabs(grad[4] + 0.25) <= tol && fabs(grad[5]) <= tol)) {
            print_error("large logits by hand [%s]: row 1 out %.17g grad (%.17g, %.17g, %.17g), "
                        "expected 5000, (0.25, -0.25, 0)\n",
                        prec_name(both_precs[pi]), out[1], grad[3], grad[4], grad[5]);
            bad++;
        }
        if (!(fabs(out[2] - 0.25 * 1e4) <= 0.25 * 1e4 * tol && fabs(grad[6] - 0.25) <= tol &&
              fabs(grad[7]) <= tol && fabs(grad[8] + 0.25) <= tol)) {
            print_error("large logits by hand [%s]: row 2 out %.17g grad (%.17g, %.17g, %.17g), "
                        "expected 2500, (0.25, 0, -0.25)\n",
                        prec_name(both_precs[pi]), out[2], grad[6], grad[7], grad[8]);
            bad++;
        }
        focal_loss_destroy(loss);
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * gamma in (0, 1) with p_t -> 1
 * ------------------------------------------------------------------------ */

static void test_small_gamma_saturated(void **state)
{
    (void)state;
    static const double gammas[] = {0.1, 0.5, 0.9};
    /* p_t rounds to 1 in double from a gap of about 37 on, and at 800
     * even 1 - p_t underflows; (1 - p_t)^(gamma - 1) is then infinite
     * while the gradient tends to 0 like a (1 + gamma) q^(1 + gamma).
     * Each case runs twice: with the usual tolerance (finite, and right
     * to the precision of values of order one), and relative down to the
     * smallest normal number, which holds when 1 - p_t, log p_t and the
     * softmax over the other classes are computed directly as API.md
     * asks, and fails when 1 - p_t or log p_t lose their digits to
     * cancellation against 1. The inputs are exact in both precisions. */
    static const double gaps[] = {5.0, 15.0, 30.0, 50.0, 100.0, 800.0};
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 3; gi++) {
            for (size_t ki = 0; ki < sizeof gaps / sizeof gaps[0]; ki++) {
                for (int a = 0; a < 2; a++) {
                    for (size_t ri = 0; ri < 2; ri++) {
                        double gap = gaps[ki];
                        /* (N = 1, C = 5, inner = 2), the two positions
                         * interleaved as in an NCHW tensor. */
                        double x[10];
                        static const double pos0[5] = {0.0, -0.75, 0.0, 0.375, -1.25};
                        static const double pos1[5] = {0.0, 0.375, -1.25, 0.0, -0.75};
                        for (size_t cc = 0; cc < 5; cc++) {
                            x[cc * 2 + 0] = pos0[cc];
                            x[cc * 2 + 1] = pos1[cc];
                        }
                        x[2 * 2 + 0] = gap; /* position 0: target 2 */
                        x[0 * 2 + 1] = gap; /* position 1: target 0 */
                        static const int64_t target[2] = {2, 0};
                        char label[96];
                        snprintf(label, sizeof label, "p_t -> 1, gap %g%s", gap,
                                 a ? ", alpha 0.25" : "");
                        setup s = {0};
                        s.label = label;
                        s.n = 1;
                        s.c = 5;
                        s.inner = 2;
                        s.x = x;
                        s.target = target;
                        s.alpha_scalar_set = a;
                        s.alpha_scalar = 0.25;
                        s.gamma = gammas[gi];
                        s.red = reds[ri];
                        bad += run_compare(&s, both_precs[pi]);
                        s.tiny_relative = 1;
                        bad += run_compare(&s, both_precs[pi]);
                    }
                }
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * -inf logits on non-target classes
 * ------------------------------------------------------------------------ */

static void fill_masked(double *x)
{
    /* (N = 2, C = 5, inner = 2); element (n, c, s) at (n*5 + c)*2 + s. */
    static const double rows[4][5] = {
        {1.0, -INFINITY, 0.25, -INFINITY, -0.5},      /* target 0 */
        {-INFINITY, 2.0, -1.0, 0.5, -INFINITY},       /* target 3 */
        {-INFINITY, -INFINITY, 0.75, -INFINITY, -INFINITY}, /* target 2, alone */
        {0.5, 1.5, -INFINITY, -2.0, 3.0},             /* target 1, below the max */
    };
    for (int64_t nn = 0; nn < 2; nn++) {
        for (int64_t sp = 0; sp < 2; sp++) {
            const double *r = rows[nn * 2 + sp];
            for (int64_t cc = 0; cc < 5; cc++) {
                x[(nn * 5 + cc) * 2 + sp] = r[cc];
            }
        }
    }
}

static void test_masked_logits(void **state)
{
    (void)state;
    double x[20];
    fill_masked(x);
    static const int64_t target[4] = {0, 3, 2, 1};
    static const double alpha[5] = {0.5, 1.25, 0.75, 2.0, 1.0};
    static const double gammas[] = {0.0, 0.5, 2.0};
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN,
                                           FOCAL_REDUCTION_WEIGHTED_MEAN};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 3; gi++) {
            for (int a = 0; a < 2; a++) {
                for (size_t ri = 0; ri < 3; ri++) {
                    setup s = {0};
                    s.label = a ? "-inf masking, alpha vector" : "-inf masking";
                    s.n = 2;
                    s.c = 5;
                    s.inner = 2;
                    s.x = x;
                    s.target = target;
                    s.alpha_vec = a ? alpha : NULL;
                    s.gamma = gammas[gi];
                    s.red = reds[ri];
                    bad += run_compare(&s, both_precs[pi]);
                }
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* Dense targets: a masked class is a non-target class when its target
 * value is 0; its term vanishes rather than becoming 0 * inf. */
static void test_masked_logits_dense(void **state)
{
    (void)state;
    double x[20];
    fill_masked(x);
    double y[20];
    static const double yrows[4][5] = {
        {0.7, 0.0, 0.2, 0.0, 0.1},
        {0.0, 0.5, 0.25, 0.25, 0.0},
        {0.0, 0.0, 1.0, 0.0, 0.0},
        {0.25, 0.5, 0.0, 0.0, 0.25},
    };
    for (int64_t nn = 0; nn < 2; nn++) {
        for (int64_t sp = 0; sp < 2; sp++) {
            for (int64_t cc = 0; cc < 5; cc++) {
                y[(nn * 5 + cc) * 2 + sp] = yrows[nn * 2 + sp][cc];
            }
        }
    }
    static const double gammas[] = {0.0, 2.0};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 2; gi++) {
            setup s = {0};
            s.label = "-inf masking, dense targets";
            s.n = 2;
            s.c = 5;
            s.inner = 2;
            s.x = x;
            s.dense = y;
            s.gamma = gammas[gi];
            s.red = FOCAL_REDUCTION_NONE;
            bad += run_compare(&s, both_precs[pi]);
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * NaN locality
 * ------------------------------------------------------------------------ */

/* mode 0: index targets; 1: dense targets; 2: index targets with label
 * smoothing (the dense path of the library). */
static size_t nan_case(prec p, focal_reduction red, size_t nan_class, int mode, const char *where)
{
    /* (N = 3, C = 4, inner = 3); the NaN goes to position (n = 1, s = 1),
     * whose target is class 0 (dense: every class has a share). */
    enum { N = 3, C = 4, INNER = 3, ELEMS = N * C * INNER, POS = N * INNER };
    const size_t nan_pos = 1 * INNER + 1;
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0xa11ce);
    double x[ELEMS], x_clean[ELEMS], w[POS], y[ELEMS];
    int64_t target[POS];
    for (size_t i = 0; i < ELEMS; i++) {
        x[i] = round_to(numcheck_rng_uniform(&rng, -3.0, 3.0), p);
        y[i] = round_to(numcheck_rng_uniform(&rng, 0.05, 0.3), p);
    }
    for (size_t i = 0; i < POS; i++) {
        target[i] = numcheck_rng_below(&rng, C);
        w[i] = round_to(numcheck_rng_uniform(&rng, 0.5, 2.0), p);
    }
    target[nan_pos] = 0;
    memcpy(x_clean, x, sizeof x);
    x[(1 * C + nan_class) * INNER + 1] = NAN;
    x_clean[(1 * C + nan_class) * INNER + 1] = 0.0;

    static const double alpha[C] = {0.25, 1.0, 0.5, 2.0};
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, 2.0), FOCAL_OK);
    assert_int_equal(focal_loss_set_alpha_vector(loss, alpha, C), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, red), FOCAL_OK);
    if (mode == 2) {
        assert_int_equal(focal_loss_set_label_smoothing(loss, 0.1), FOCAL_OK);
    }

    const size_t out_len = red == FOCAL_REDUCTION_NONE ? POS : 1;
    double out_f[POS], out_fb[POS], out_c[POS], grad_fb[ELEMS], grad_b[ELEMS], grad_c[ELEMS];
    double ones[POS];
    for (size_t i = 0; i < POS; i++) {
        ones[i] = 1.0;
    }
    job j = {loss, p, N, C, INNER, x, mode == 1 ? NULL : target, mode == 1 ? y : NULL, w};
    job jc = {loss, p, N, C, INNER, x_clean, mode == 1 ? NULL : target, mode == 1 ? y : NULL, w};
    static const char *const mode_names[3] = {"index", "dense", "index+ls"};
    char label[128];
    snprintf(label, sizeof label, "NaN in %s [%s %s %s]", where, prec_name(p), mode_names[mode],
             reduction_name(red));
    size_t bad = 0;
    focal_status s1 = job_forward(&j, out_f, out_len);
    focal_status s2 = job_fused(&j, out_fb, out_len, grad_fb);
    focal_status s3 = job_backward(&j, ones, out_len, grad_b);
    focal_status s4 = job_fused(&jc, out_c, out_len, grad_c);
    if (s1 != FOCAL_OK || s2 != FOCAL_OK || s3 != FOCAL_OK || s4 != FOCAL_OK) {
        print_error("%s: status forward %d fused %d backward %d clean %d, expected FOCAL_OK\n",
                    label, (int)s1, (int)s2, (int)s3, (int)s4);
        focal_loss_destroy(loss);
        return 1;
    }

    for (size_t i = 0; i < out_len; i++) {
        int touched = out_len == 1 || i == nan_pos;
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
    for (size_t nn = 0; nn < N; nn++) {
        for (size_t cc = 0; cc < C; cc++) {
            for (size_t sp = 0; sp < INNER; sp++) {
                size_t e = (nn * C + cc) * INNER + sp;
                int touched = nn * INNER + sp == nan_pos;
                const double got[2] = {grad_fb[e], grad_b[e]};
                for (int k = 0; k < 2; k++) {
                    if (touched ? !isnan(got[k])
                                : memcmp(&got[k], &grad_c[e], sizeof(double)) != 0) {
                        print_error("%s: %s grad[%zu] = %.17g, expected %s%.17g\n", label,
                                    k ? "backward" : "fused", e, got[k],
                                    touched ? "NaN, not " : "the clean run's ",
                                    touched ? got[k] : grad_c[e]);
                        bad++;
                    }
                }
            }
        }
    }
    focal_loss_destroy(loss);
    return bad;
}

static void test_nan_locality(void **state)
{
    (void)state;
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        /* With NONE nothing but the NaN position is touched. With MEAN the
         * reduced value is, but the other positions' gradient is not: the
         * denominator counts positions and does not depend on any loss. */
        prec p = both_precs[pi];
        bad += nan_case(p, FOCAL_REDUCTION_NONE, 2, 0, "a non-target logit");
        bad += nan_case(p, FOCAL_REDUCTION_NONE, 0, 0, "the target logit");
        bad += nan_case(p, FOCAL_REDUCTION_MEAN, 2, 0, "a non-target logit");
        bad += nan_case(p, FOCAL_REDUCTION_MEAN, 0, 0, "the target logit");
        bad += nan_case(p, FOCAL_REDUCTION_WEIGHTED_MEAN, 3, 0, "a non-target logit");
        bad += nan_case(p, FOCAL_REDUCTION_NONE, 2, 1, "a logit");
        bad += nan_case(p, FOCAL_REDUCTION_MEAN, 0, 1, "a logit");
        bad += nan_case(p, FOCAL_REDUCTION_NONE, 2, 2, "a non-target logit");
        bad += nan_case(p, FOCAL_REDUCTION_MEAN, 0, 2, "the target logit");
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Zero denominators
 * ------------------------------------------------------------------------ */

static size_t zero_case(const char *what, prec p, focal_reduction red, const int64_t *target,
                        const double *dense, const double *weight, const double *alpha)
{
    enum { N = 2, C = 3, INNER = 2, ELEMS = N * C * INNER, POS = N * INNER };
    static const double x_src[ELEMS] = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5,
                                        3.0, -2.0, 0.0, 1.0,  -0.5,  0.125};
    double x[ELEMS];
    for (size_t i = 0; i < ELEMS; i++) {
        x[i] = round_to(x_src[i], p);
    }
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, red), FOCAL_OK);
    if (target != NULL) {
        assert_int_equal(focal_loss_set_ignore_index(loss, -100), FOCAL_OK);
    }
    if (alpha != NULL) {
        assert_int_equal(focal_loss_set_alpha_vector(loss, alpha, C), FOCAL_OK);
    }
    char label[160];
    snprintf(label, sizeof label, "zero denominator: %s [%s %s]", what, prec_name(p),
             reduction_name(red));
    job j = {loss, p, N, C, INNER, x, target, dense, weight};
    const size_t out_len = red == FOCAL_REDUCTION_NONE ? POS : 1;
    double out_f[POS], out_fb[POS], grad_fb[ELEMS], grad_b[ELEMS], up[POS];
    for (size_t i = 0; i < POS; i++) {
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
    static const int64_t some_targets[4] = {0, 2, 1, 2};
    static const double zero_weights[4] = {0.0, 0.0, 0.0, 0.0};
    static const double zero_alpha[3] = {0.0, 0.0, 0.0};
    static const double zero_dense[12] = {0};
    static const double some_alpha[3] = {0.5, 1.0, 2.0};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        prec p = both_precs[pi];
        bad += zero_case("all positions ignored", p, FOCAL_REDUCTION_MEAN, all_ignored, NULL, NULL, NULL);
        bad += zero_case("all positions ignored", p, FOCAL_REDUCTION_WEIGHTED_MEAN, all_ignored, NULL,
                         NULL, NULL);
        bad += zero_case("all positions ignored, alpha vector", p, FOCAL_REDUCTION_WEIGHTED_MEAN,
                         all_ignored, NULL, NULL, some_alpha);
        bad += zero_case("all positions ignored", p, FOCAL_REDUCTION_SUM, all_ignored, NULL, NULL, NULL);
        bad += zero_case("all positions ignored", p, FOCAL_REDUCTION_NONE, all_ignored, NULL, NULL, NULL);
        bad += zero_case("all weights zero", p, FOCAL_REDUCTION_WEIGHTED_MEAN, some_targets, NULL,
                         zero_weights, NULL);
        bad += zero_case("all weights zero, alpha vector", p, FOCAL_REDUCTION_WEIGHTED_MEAN,
                         some_targets, NULL, zero_weights, some_alpha);
        bad += zero_case("all weights zero", p, FOCAL_REDUCTION_MEAN, some_targets, NULL, zero_weights,
                         NULL);
        bad += zero_case("alpha vector all zero", p, FOCAL_REDUCTION_WEIGHTED_MEAN, some_targets, NULL,
                         NULL, zero_alpha);
        bad += zero_case("dense targets all zero", p, FOCAL_REDUCTION_WEIGHTED_MEAN, NULL, zero_dense,
                         NULL, some_alpha);
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * gamma = 0 is cross-entropy
 * ------------------------------------------------------------------------ */

/* -log softmax and its gradient written out directly, reduced as
 * torch.nn.functional.cross_entropy(weight=alpha, ignore_index=-100) does
 * for MEAN (its default, which is this library's WEIGHTED_MEAN), with
 * per-position weights on top. */
static size_t ce_case(prec p, focal_reduction red, int use_alpha, int use_weight)
{
    enum { N = 3, C = 4, INNER = 2, ELEMS = N * C * INNER, POS = N * INNER };
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0xce);
    double x[ELEMS], w[POS];
    int64_t target[POS];
    static const double alpha[C] = {0.3, 1.0, 2.0, 0.7};
    for (size_t i = 0; i < ELEMS; i++) {
        /* Multiples of 1/64: exact in float and double. */
        x[i] = floor(numcheck_rng_uniform(&rng, -4.0, 4.0) * 64.0) / 64.0;
    }
    for (size_t i = 0; i < POS; i++) {
        target[i] = numcheck_rng_below(&rng, C);
        w[i] = round_to(numcheck_rng_uniform(&rng, 0.25, 3.0), p);
    }
    target[3] = -100;

    long double sum = 0.0L, count = 0.0L, wsum = 0.0L;
    long double out_l[POS], grad_l[ELEMS];
    for (size_t nn = 0; nn < N; nn++) {
        for (size_t sp = 0; sp < INNER; sp++) {
            size_t pos = nn * INNER + sp;
            out_l[pos] = 0.0L;
            for (size_t cc = 0; cc < C; cc++) {
                grad_l[(nn * C + cc) * INNER + sp] = 0.0L;
            }
            if (target[pos] == -100) {
                continue;
            }
            size_t t = (size_t)target[pos];
            long double m = -INFINITY;
            for (size_t cc = 0; cc < C; cc++) {
                long double v = x[(nn * C + cc) * INNER + sp];
                m = v > m ? v : m;
            }
            long double z = 0.0L;
            for (size_t cc = 0; cc < C; cc++) {
                z += expl((long double)x[(nn * C + cc) * INNER + sp] - m);
            }
            long double lse = m + logl(z);
            long double a = use_alpha ? (long double)alpha[t] : 1.0L;
            long double wt = use_weight ? (long double)w[pos] : 1.0L;
            long double ce = lse - (long double)x[(nn * C + t) * INNER + sp];
            out_l[pos] = wt * a * ce;
            sum += wt * a * ce;
            count += 1.0L;
            wsum += wt * a;
            for (size_t cc = 0; cc < C; cc++) {
                long double pc = expl((long double)x[(nn * C + cc) * INNER + sp] - lse);
                grad_l[(nn * C + cc) * INNER + sp] = wt * a * (pc - (cc == t ? 1.0L : 0.0L));
            }
        }
    }
    long double scale = 1.0L;
    if (red == FOCAL_REDUCTION_MEAN) {
        scale = 1.0L / count;
    } else if (red == FOCAL_REDUCTION_WEIGHTED_MEAN) {
        scale = 1.0L / wsum;
    }
    const size_t out_len = red == FOCAL_REDUCTION_NONE ? POS : 1;
    double out_ref[POS], grad_ref[ELEMS];
    if (red == FOCAL_REDUCTION_NONE) {
        for (size_t i = 0; i < POS; i++) {
            out_ref[i] = (double)out_l[i];
        }
    } else {
        out_ref[0] = (double)(sum * scale);
    }
    for (size_t e = 0; e < ELEMS; e++) {
        grad_ref[e] = (double)(grad_l[e] * scale);
    }

    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
    assert_int_equal(focal_loss_set_ignore_index(loss, -100), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, red), FOCAL_OK);
    if (use_alpha) {
        assert_int_equal(focal_loss_set_alpha_vector(loss, alpha, C), FOCAL_OK);
    }
    job j = {loss, p, N, C, INNER, x, target, NULL, use_weight ? w : NULL};
    double out_fb[POS], grad_fb[ELEMS];
    char label[160];
    snprintf(label, sizeof label, "gamma 0 = cross-entropy%s%s [%s %s]",
             use_alpha ? ", alpha as class weight" : "", use_weight ? ", position weights" : "",
             prec_name(p), reduction_name(red));
    size_t bad = 0;
    focal_status st = job_fused(&j, out_fb, out_len, grad_fb);
    if (st != FOCAL_OK) {
        print_error("%s: status %d (%s)\n", label, (int)st, focal_last_error());
        bad++;
    } else {
        double rtol = p == PREC_F64 ? 1e-12 : 2e-5;
        double atol = p == PREC_F64 ? 1e-14 + 16.0 * DBL_EPSILON : 2e-6 + 16.0 * FLT_EPSILON;
        char what[200];
        snprintf(what, sizeof what, "%s out", label);
        bad += numcheck_report_close(what, out_fb, out_ref, out_len, rtol, atol, MAX_PRINT);
        snprintf(what, sizeof what, "%s grad", label);
        bad += numcheck_report_close(what, grad_fb, grad_ref, ELEMS, rtol, atol, MAX_PRINT);
    }
    focal_loss_destroy(loss);
    return bad;
}

static void test_gamma0_cross_entropy(void **state)
{
    (void)state;
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_SUM,
                                           FOCAL_REDUCTION_MEAN, FOCAL_REDUCTION_WEIGHTED_MEAN};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t ri = 0; ri < 4; ri++) {
            for (int a = 0; a < 2; a++) {
                for (int w = 0; w < 2; w++) {
                    bad += ce_case(both_precs[pi], reds[ri], a, w);
                }
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * gamma = 0 with label smoothing:
 *   (1 - ls) CE + ls / C * sum_c (-log p_c),  gradient p_c - y_c.
 * ------------------------------------------------------------------------ */

static size_t ls_case(prec p, focal_reduction red, double ls)
{
    enum { N = 4, C = 5, ELEMS = N * C };
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0x15);
    double x[ELEMS];
    int64_t target[N] = {0, 4, 2, -100};
    for (size_t i = 0; i < ELEMS; i++) {
        x[i] = floor(numcheck_rng_uniform(&rng, -5.0, 5.0) * 32.0) / 32.0;
    }
    long double out_l[N], grad_l[ELEMS], sum = 0.0L, count = 0.0L;
    for (size_t nn = 0; nn < N; nn++) {
        out_l[nn] = 0.0L;
        for (size_t cc = 0; cc < C; cc++) {
            grad_l[nn * C + cc] = 0.0L;
        }
        if (target[nn] < 0) {
            continue;
        }
        size_t t = (size_t)target[nn];
        long double m = -INFINITY, z = 0.0L;
        for (size_t cc = 0; cc < C; cc++) {
            m = x[nn * C + cc] > m ? x[nn * C + cc] : m;
        }
        for (size_t cc = 0; cc < C; cc++) {
            z += expl((long double)x[nn * C + cc] - m);
        }
        long double lse = m + logl(z);
        long double ce = lse - (long double)x[nn * C + t];
        long double uniform = 0.0L;
        for (size_t cc = 0; cc < C; cc++) {
            uniform += lse - (long double)x[nn * C + cc];
        }
        out_l[nn] = (1.0L - (long double)ls) * ce + (long double)ls / C * uniform;
        sum += out_l[nn];
        count += 1.0L;
        for (size_t cc = 0; cc < C; cc++) {
            long double y = (long double)ls / C + (cc == t ? 1.0L - (long double)ls : 0.0L);
            grad_l[nn * C + cc] = expl((long double)x[nn * C + cc] - lse) - y;
        }
    }
    long double scale = red == FOCAL_REDUCTION_MEAN ? 1.0L / count : 1.0L;
    const size_t out_len = red == FOCAL_REDUCTION_NONE ? N : 1;
    double out_ref[N], grad_ref[ELEMS];
    if (red == FOCAL_REDUCTION_NONE) {
        for (size_t i = 0; i < N; i++) {
            out_ref[i] = (double)out_l[i];
        }
    } else {
        out_ref[0] = (double)(sum * scale);
    }
    for (size_t e = 0; e < ELEMS; e++) {
        grad_ref[e] = (double)(grad_l[e] * scale);
    }

    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
    assert_int_equal(focal_loss_set_label_smoothing(loss, ls), FOCAL_OK);
    assert_int_equal(focal_loss_set_ignore_index(loss, -100), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, red), FOCAL_OK);
    job j = {loss, p, N, C, 1, x, target, NULL, NULL};
    double out_f[N], out_fb[N], grad_fb[ELEMS];
    char label[128];
    snprintf(label, sizeof label, "gamma 0, label smoothing %g [%s %s]", ls, prec_name(p),
             reduction_name(red));
    size_t bad = 0;
    focal_status s1 = job_forward(&j, out_f, out_len);
    focal_status s2 = job_fused(&j, out_fb, out_len, grad_fb);
    if (s1 != FOCAL_OK || s2 != FOCAL_OK) {
        print_error("%s: status forward %d fused %d (%s)\n", label, (int)s1, (int)s2,
                    focal_last_error());
        bad++;
    } else {
        double rtol = p == PREC_F64 ? 1e-12 : 2e-5;
        double atol = p == PREC_F64 ? 1e-14 + 20.0 * DBL_EPSILON : 2e-6 + 20.0 * FLT_EPSILON;
        char what[200];
        snprintf(what, sizeof what, "%s forward out", label);
        bad += numcheck_report_close(what, out_f, out_ref, out_len, rtol, atol, MAX_PRINT);
        snprintf(what, sizeof what, "%s fused out", label);
        bad += numcheck_report_close(what, out_fb, out_ref, out_len, rtol, atol, MAX_PRINT);
        snprintf(what, sizeof what, "%s grad", label);
        bad += numcheck_report_close(what, grad_fb, grad_ref, ELEMS, rtol, atol, MAX_PRINT);
    }
    focal_loss_destroy(loss);
    return bad;
}

static void test_gamma0_label_smoothing(void **state)
{
    (void)state;
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        bad += ls_case(both_precs[pi], FOCAL_REDUCTION_NONE, 0.1);
        bad += ls_case(both_precs[pi], FOCAL_REDUCTION_MEAN, 0.1);
        bad += ls_case(both_precs[pi], FOCAL_REDUCTION_SUM, 0.25);
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * The Keras form for dense targets and for label smoothing with gamma > 0
 * ------------------------------------------------------------------------ */

static void test_dense_keras_form(void **state)
{
    (void)state;
    enum { N = 2, C = 4, INNER = 3, ELEMS = N * C * INNER, POS = N * INNER };
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0xde75e);
    double x[ELEMS], soft[ELEMS], raw[ELEMS], w[POS];
    int64_t target[POS];
    for (size_t nn = 0; nn < N; nn++) {
        for (size_t sp = 0; sp < INNER; sp++) {
            double z = 0.0;
            for (size_t cc = 0; cc < C; cc++) {
                size_t e = (nn * C + cc) * INNER + sp;
                x[e] = floor(numcheck_rng_uniform(&rng, -3.0, 3.0) * 64.0) / 64.0;
                soft[e] = floor(numcheck_rng_uniform(&rng, 0.0, 1.0) * 256.0) / 256.0;
                raw[e] = floor(numcheck_rng_uniform(&rng, 0.0, 1.0) * 256.0) / 256.0;
                z += soft[e];
            }
            /* Renormalise with a power of two where possible; exactness in
             * float is what matters, not the sum being exactly one. */
            for (size_t cc = 0; cc < C; cc++) {
                size_t e = (nn * C + cc) * INNER + sp;
                soft[e] = round_to(soft[e] / z, PREC_F32);
            }
            target[nn * INNER + sp] = numcheck_rng_below(&rng, C);
            w[nn * INNER + sp] = floor(numcheck_rng_uniform(&rng, 0.5, 2.0) * 16.0) / 16.0;
        }
    }
    static const double alpha[C] = {0.25, 0.75, 1.5, 1.0};
    static const double gammas[] = {0.5, 2.0, 3.7};
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_SUM,
                                           FOCAL_REDUCTION_WEIGHTED_MEAN};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 3; gi++) {
            for (size_t ri = 0; ri < 3; ri++) {
                for (int kind = 0; kind < 3; kind++) {
                    setup s = {0};
                    s.n = N;
                    s.c = C;
                    s.inner = INNER;
                    s.x = x;
                    s.weight = w;
                    s.alpha_vec = alpha;
                    s.gamma = gammas[gi];
                    s.red = reds[ri];
                    if (kind == 0) {
                        s.label = "Keras form, soft dense targets";
                        s.dense = soft;
                    } else if (kind == 1) {
                        s.label = "Keras form, raw dense targets";
                        s.dense = raw;
                    } else {
                        /* WEIGHTED_MEAN's alpha_t is not pinned down for
                         * smoothed index targets; leave it out. */
                        if (reds[ri] == FOCAL_REDUCTION_WEIGHTED_MEAN) {
                            continue;
                        }
                        s.label = "Keras form, label smoothing 0.1";
                        s.target = target;
                        s.ls = 0.1;
                    }
                    bad += run_compare(&s, both_precs[pi]);
                }
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Logits around the float32 kernels' range switches
 *
 * The float32 kernels first take e_j = exp(x_j) without a pass for the
 * maximum and redo a position relative to its maximum when its e_t is
 * below 2^-20 or its other classes' mass above 2^100. Positions of every
 * kind side by side, in rows (c > 64) and in class-major planes (c <= 64,
 * a full step of 16 positions and a partial one).
 * ------------------------------------------------------------------------ */

static void fill_range_kind(numcheck_rng *rng, int kind, size_t c, size_t t, double *row)
{
    for (size_t j = 0; j < c; j++)
        row[j] = numcheck_rng_uniform(rng, -3.0, 3.0);
    switch (kind) {
    case 1: /* target far below: e_t underflows the direct range */
        row[t] = -50.0;
        break;
    case 2: /* another class far above: the mass overflows it */
        row[(t + 1) % c] = 100.0;
        break;
    case 3: /* a large target, in range: e_t = e^75 */
        row[t] = 75.0;
        break;
    case 4: /* just inside the range, with a logit whose exp flushes */
        row[t] = -13.0;
        row[(t + 2) % c] = -95.0;
        break;
    case 5: /* everything far below zero */
        for (size_t j = 0; j < c; j++)
            row[j] -= 60.0;
        break;
    case 6: /* just above the mass threshold */
        row[(t + 3) % c] = 70.0;
        break;
    case 7: /* everything below exp's range: only the maximum's scale works */
        for (size_t j = 0; j < c; j++)
            row[j] -= 100.0;
        break;
    default: /* ordinary */
        break;
    }
}

static void test_range_switches(void **state)
{
    (void)state;
    enum { ROWS_N = 16, ROWS_C = 100, PLANE_C = 19, PLANE_INNER = 24 };
    static double xr[ROWS_N * ROWS_C], xp[PLANE_C * PLANE_INNER];
    static int64_t tr[ROWS_N], tp[PLANE_INNER];
    double row[ROWS_C];
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 20261122);
    for (size_t r = 0; r < ROWS_N; r++) {
        tr[r] = numcheck_rng_below(&rng, ROWS_C);
        fill_range_kind(&rng, (int)(r % 8), ROWS_C, (size_t)tr[r], xr + r * ROWS_C);
    }
    for (size_t sp = 0; sp < PLANE_INNER; sp++) {
        tp[sp] = numcheck_rng_below(&rng, PLANE_C);
        fill_range_kind(&rng, (int)(sp % 8), PLANE_C, (size_t)tp[sp], row);
        for (size_t j = 0; j < PLANE_C; j++)
            xp[j * PLANE_INNER + sp] = row[j];
    }
    static const double gammas[] = {0.0, 0.5, 2.0};
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 3; gi++) {
            for (size_t ri = 0; ri < 2; ri++) {
                for (int planes = 0; planes < 2; planes++) {
                    setup s = {0};
                    s.label = planes ? "range switches, planes" : "range switches, rows";
                    s.n = planes ? 1 : ROWS_N;
                    s.c = planes ? PLANE_C : ROWS_C;
                    s.inner = planes ? PLANE_INNER : 1;
                    s.x = planes ? xp : xr;
                    s.target = planes ? tp : tr;
                    s.alpha_scalar_set = 1;
                    s.alpha_scalar = 0.25;
                    s.gamma = gammas[gi];
                    s.red = reds[ri];
                    bad += run_compare(&s, both_precs[pi]);
                }
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Dense targets under a subnormal WEIGHTED_MEAN denominator
 *
 * Rows (0, 0) and (0, tiny): sum(y alpha_t) is the subnormal tiny, the
 * reduced loss is the second row's focal term for class 1, and the
 * gradient is that row's index-target gradient (the first row's is 0).
 * Checked, with logits and with probabilities input, against the same row
 * with index target 1 and MEAN. w * loss of
 * that row is itself subnormal: the rows add their shares of the reduced
 * loss already divided.
 * ------------------------------------------------------------------------ */

static void test_dense_subnormal_denominator(void **state)
{
    (void)state;
    const int64_t target = 1;
    size_t bad = 0;
    for (int probs = 0; probs < 2; probs++) {
        for (int gi = 0; gi < 2; gi++) {
            focal_loss *dense = NULL, *index = NULL;
            assert_int_equal(focal_loss_create(&dense, FOCAL_MODE_SOFTMAX), FOCAL_OK);
            assert_int_equal(focal_loss_set_reduction(dense, FOCAL_REDUCTION_WEIGHTED_MEAN), FOCAL_OK);
            assert_int_equal(focal_loss_create(&index, FOCAL_MODE_SOFTMAX), FOCAL_OK);
            const double gamma = gi ? 0.5 : 2.0;
            assert_int_equal(focal_loss_set_gamma(dense, gamma), FOCAL_OK);
            assert_int_equal(focal_loss_set_gamma(index, gamma), FOCAL_OK);
            if (probs) {
                assert_int_equal(focal_loss_set_input(dense, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
                assert_int_equal(focal_loss_set_input(index, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
            }
            /* Logits, or probabilities (rows of two classes). */
            const double x64[4] = {probs ? 0.25 : 1.125, probs ? 0.75 : -2.875, probs ? 0.375 : 2.875,
                                   probs ? 0.625 : 0.625};
            {
                const double y[4] = {0.0, 0.0, -0.0, 0x1p-1074};
                double out, grad[4], want_out, want_grad[2];
                assert_int_equal(focal_forward_backward_dense_f64(dense, 2, 2, 1, x64, y, NULL, &out, grad),
                                 FOCAL_OK);
                assert_int_equal(
                    focal_forward_backward_f64(index, 1, 2, 1, x64 + 2, &target, NULL, &want_out, want_grad),
                    FOCAL_OK);
                bad += !(fabs(out - want_out) <= 1e-12 * fabs(want_out));
                bad += !(grad[0] == 0 && grad[1] == 0);
                for (int j = 0; j < 2; j++)
                    bad += !(fabs(grad[2 + j] - want_grad[j]) <= 1e-12 * fabs(want_grad[j]));
            }
            {
                const float x[4] = {(float)x64[0], (float)x64[1], (float)x64[2], (float)x64[3]};
                const float y[4] = {0.0f, 0.0f, -0.0f, 0x1p-149f};
                float out, grad[4], want_out, want_grad[2];
                assert_int_equal(focal_forward_backward_dense_f32(dense, 2, 2, 1, x, y, NULL, &out, grad), FOCAL_OK);
                assert_int_equal(
                    focal_forward_backward_f32(index, 1, 2, 1, x + 2, &target, NULL, &want_out, want_grad),
                    FOCAL_OK);
                bad += !(fabsf(out - want_out) <= 1e-5f * fabsf(want_out));
                bad += !(grad[0] == 0 && grad[1] == 0);
                for (int j = 0; j < 2; j++)
                    bad += !(fabsf(grad[2 + j] - want_grad[j]) <= 1e-5f * fabsf(want_grad[j]));
            }
            focal_loss_destroy(dense);
            focal_loss_destroy(index);
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Probabilities input: clipped to [eps, 1 - eps], zero gradient outside
 * ------------------------------------------------------------------------ */

static void test_probabilities_clipped(void **state)
{
    (void)state;
    enum { N = 3, C = 4, ELEMS = N * C };
    /* With eps = 1e-3: 0, 2e-4, 5e-4 are below; 0.9999 and 1 above. */
    static const double x[ELEMS] = {
        0.0,  0.5, 0.9999, 2e-4,
        0.3,  1.0, 0.2,    5e-4,
        0.25, 0.6, 0.1,    0.05,
    };
    static const int64_t targets_a[N] = {0, 1, 1}; /* clipped low, clipped high, inside */
    static const int64_t targets_b[N] = {2, 3, 3}; /* clipped high, clipped low, inside */
    static const double dense[ELEMS] = {
        0.25, 0.25, 0.25, 0.25,
        0.5,  0.25, 0.0,  0.25,
        0.0,  0.75, 0.125, 0.5,
    };
    /* Default eps 1e-7: 0 and 1e-9 below, 1 above. */
    static const double x_default[ELEMS] = {
        0.0,  0.5,  1.0,  1e-9,
        0.3,  0.999, 0.2, 0.05,
        1e-9, 0.6,  0.1,  1.0,
    };
    static const int64_t targets_default[N] = {0, 3, 3};
    static const int64_t targets_default2[N] = {2, 1, 0};
    static const double alpha[C] = {0.5, 1.0, 0.25, 2.0};
    static const double gammas[] = {0.0, 0.5, 2.0};
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_SUM};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 3; gi++) {
            for (size_t ri = 0; ri < 2; ri++) {
                for (int a = 0; a < 2; a++) {
                    for (int v = 0; v < 5; v++) {
                        setup s = {0};
                        s.n = N;
                        s.c = C;
                        s.inner = 1;
                        s.probs = 1;
                        s.alpha_vec = a ? alpha : NULL;
                        s.gamma = gammas[gi];
                        s.red = reds[ri];
                        s.x = x;
                        s.eps = 1e-3;
                        switch (v) {
                        case 0:
                            s.label = "probabilities, eps 1e-3, targets A";
                            s.target = targets_a;
                            break;
                        case 1:
                            s.label = "probabilities, eps 1e-3, targets B";
                            s.target = targets_b;
                            break;
                        case 2:
                            s.label = "probabilities, eps 1e-3, dense targets";
                            s.dense = dense;
                            break;
                        case 3:
                            s.label = "probabilities, default eps";
                            s.x = x_default;
                            s.eps = 0.0;
                            s.target = targets_default;
                            break;
                        default:
                            s.label = "probabilities, default eps, targets 2";
                            s.x = x_default;
                            s.eps = 0.0;
                            s.target = targets_default2;
                            break;
                        }
                        bad += run_compare(&s, both_precs[pi]);
                    }
                }
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Bitwise determinism across thread counts
 * ------------------------------------------------------------------------ */

static size_t determinism_case(prec p, focal_reduction red, int dense_targets, int64_t n,
                               int64_t c, int64_t inner)
{
    const size_t elems = (size_t)(n * c * inner);
    const size_t positions = (size_t)(n * inner);
    const size_t out_len = red == FOCAL_REDUCTION_NONE ? positions : 1;
    numcheck_rng rng;
    numcheck_rng_seed(&rng, 0xde7e + (uint64_t)red * 7 + (uint64_t)dense_targets);
    double *x = numcheck_alloc(elems, sizeof *x);
    double *y = dense_targets ? numcheck_alloc(elems, sizeof *y) : NULL;
    int64_t *target = dense_targets ? NULL : numcheck_alloc(positions, sizeof *target);
    double *w = numcheck_alloc(positions, sizeof *w);
    double *up = numcheck_alloc(out_len, sizeof *up);
    double *alpha = numcheck_alloc((size_t)c, sizeof *alpha);
    for (size_t i = 0; i < elems; i++) {
        x[i] = round_to(numcheck_rng_uniform(&rng, -6.0, 6.0), p);
        if (y != NULL) {
            y[i] = round_to(numcheck_rng_uniform(&rng, 0.0, 2.0 / (double)c), p);
        }
    }
    for (size_t i = 0; i < positions; i++) {
        if (target != NULL) {
            target[i] = numcheck_rng_uniform(&rng, 0.0, 1.0) < 0.05 ? -100 : numcheck_rng_below(&rng, c);
        }
        w[i] = round_to(numcheck_rng_uniform(&rng, 0.0, 2.0), p);
    }
    for (size_t i = 0; i < out_len; i++) {
        up[i] = round_to(numcheck_rng_uniform(&rng, -1.0, 1.0), p);
    }
    for (int64_t k = 0; k < c; k++) {
        alpha[k] = numcheck_rng_uniform(&rng, 0.25, 1.0);
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
        assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
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
        focal_status s2 = job_backward(&j, up, out_len, gb);
        snprintf(label, sizeof label, "threads %d vs 1 [%s %s%s (%lld,%lld,%lld)]", threads[ti],
                 prec_name(p), reduction_name(red), dense_targets ? " dense" : "", (long long)n,
                 (long long)c, (long long)inner);
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
            snprintf(what, sizeof what, "%s backward grad", label);
            bad += numcheck_report_same_bits_f64(what, gradb, gradb_ref, elems, MAX_PRINT);
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
        bad += determinism_case(both_precs[pi], FOCAL_REDUCTION_MEAN, 0, 64, 50, 32 * 32);
        bad += determinism_case(both_precs[pi], FOCAL_REDUCTION_NONE, 0, 64, 50, 32 * 32);
        bad += determinism_case(both_precs[pi], FOCAL_REDUCTION_WEIGHTED_MEAN, 1, 8, 50, 32 * 32);
        bad += determinism_case(both_precs[pi], FOCAL_REDUCTION_SUM, 0, 4096, 37, 1);
    }
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_logits),
        cmocka_unit_test(test_small_gamma_saturated),
        cmocka_unit_test(test_masked_logits),
        cmocka_unit_test(test_masked_logits_dense),
        cmocka_unit_test(test_nan_locality),
        cmocka_unit_test(test_zero_denominator),
        cmocka_unit_test(test_gamma0_cross_entropy),
        cmocka_unit_test(test_gamma0_label_smoothing),
        cmocka_unit_test(test_dense_keras_form),
        cmocka_unit_test(test_range_switches),
        cmocka_unit_test(test_dense_subnormal_denominator),
        cmocka_unit_test(test_probabilities_clipped),
        cmocka_unit_test(test_thread_determinism),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
