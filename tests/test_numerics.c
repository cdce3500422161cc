/*
 * Numerics of both modes, in float32 and float64, against references
 * evaluated here in long double (never from libfocal): closed forms of the
 * loss and its gradient, written-out cross-entropy and Keras forms, and the
 * library's own results only where the check is a property of them (a clean
 * run for NaN locality, threads = 1 for determinism, index targets against
 * the dense one-hot targets they stand for).
 *
 * Concerns, each one cmocka test per mode ("<concern>/<mode>"): logits of
 * magnitude up to 1e4, gamma in (0, 1) with p_t -> 1, -inf masking, NaN
 * locality, zero denominators, cross-entropy (gamma 0; sigmoid: also FL*
 * with gamma 1), the Keras forms, clipped probabilities, bitwise
 * determinism across thread counts; softmax's range switches of the
 * float32 kernels and a subnormal WEIGHTED_MEAN denominator; sigmoid's
 * closed-form grid, index/dense equivalence, FL*, SUM_OVER_POSITIVES and
 * the prior bias.
 *
 * Tolerances: |got - ref| <= rtol |ref| + atol with
 *   float64: rtol 1e-12, atol 1e-14 + 4 DBL_EPSILON max|x|
 *   float32: rtol 2e-5,  atol 2e-6  + 4 FLT_EPSILON max|x|
 * rtol leaves room for a chain of exp/log/pow roundings (about 4500 ulps
 * in f64, 170 in f32) yet catches any wrong term; the atol floor accepts
 * results that vanish below the precision of values of order one (a
 * gradient of 1e-35 may come out as 0), and its max|x| term is what
 * rounding the inputs by one ulp can change in a result (softmax outputs
 * move by about eps |x|), so a backward-stable implementation passes.
 * Cases marked "relative to tiny values" (p_t -> 1, sigmoid's large
 * logits) use the same rtol but an atol of the smallest normal number:
 * their inputs are exact in both precisions and the stable forms of API.md
 * keep every digit (of 1 - p_t, log p, and the gradient where it decays
 * like exp(-|x|)). Structural zeros (masked classes, clipped
 * probabilities, ignored positions, zero weights) must be exactly zero.
 * Tests with their own written-out reference state their tolerance there.
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

#include "names.h"
#include "numcheck.h"
#include "proc.h"

#define MAX_PRINT 6
/* The softmax closed forms work on rows of at most this many classes. */
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

/* The values a NONE output holds: one per position in softmax mode, one per
 * element in sigmoid mode. */
static size_t none_out_len(focal_mode mode, size_t positions, size_t elems)
{
    return mode == FOCAL_MODE_SOFTMAX ? positions : elems;
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
 * evaluate the closed form of its mode.
 * ------------------------------------------------------------------------ */

typedef struct setup {
    const char *label;
    focal_mode mode;
    int64_t n, c, inner;
    const double *x;
    const int64_t *target; /* index targets, or NULL */
    const double *dense;   /* dense targets, or NULL */
    const double *weight;  /* or NULL */
    const double *alpha_vec;
    int alpha_scalar_set;
    double alpha_scalar;
    double gamma;
    int star;              /* FL* (sigmoid) */
    double beta;
    int ignore_set;
    int64_t ignore;
    double ls;
    int probs;
    double eps;            /* 0: leave the default (1e-7) */
    focal_reduction red;
    /* Relative accuracy down to the smallest normal number instead of the
     * usual absolute floor (see the header). */
    int tiny_relative;
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
    if (s->red != FOCAL_REDUCTION_NONE) {
        return 1;
    }
    return none_out_len(s->mode, setup_positions(s), setup_elems(s));
}

static focal_status setup_configure(const setup *s, focal_loss **out)
{
    focal_loss *loss = NULL;
    focal_status st = focal_loss_create(&loss, s->mode);
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

/* ------------------------------------------------------------------------
 * Softmax mode: closed forms
 * ------------------------------------------------------------------------ */

static long double softmax_class_alpha(const setup *s, int64_t cls)
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
        long double a = softmax_class_alpha(s, (int64_t)k);
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
static void reference_softmax(const setup *s, const double *x, const double *dense,
                              const double *weight, double *out, double *grad,
                              unsigned char *zero)
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
                alpha_t = softmax_class_alpha(s, (int64_t)t);
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
                        alpha_t += yrow[k] * softmax_class_alpha(s, (int64_t)k);
                    }
                } else {
                    alpha_t = softmax_class_alpha(s, s->target[pos]);
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

/* ------------------------------------------------------------------------
 * Sigmoid mode: closed forms
 * ------------------------------------------------------------------------ */

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

static long double sigmoid_class_alpha(const setup *s, int64_t cls, int *has)
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
static void reference_sigmoid(const setup *s, prec p, const double *x, const double *dense,
                              const double *weight, double *out, double *grad,
                              unsigned char *zero)
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
                const long double ac = sigmoid_class_alpha(s, k, &has_alpha);
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
    case FOCAL_REDUCTION_DIVISOR:
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

/* ------------------------------------------------------------------------
 * One setting against its closed form
 * ------------------------------------------------------------------------ */

/* Forward, fused and backward (unit upstream) for s in precision p against
 * the closed form of its mode: every output finite, close to the reference,
 * and exactly 0 where the reference is 0 by construction. Returns the
 * number of problems, each printed. */
static size_t run_compare(const setup *s, prec p)
{
    const size_t elems = setup_elems(s);
    const size_t positions = setup_positions(s);
    const size_t out_len = setup_out_len(s);
    char label[320];
    snprintf(label, sizeof label, "%s [%s %s%s gamma %g%s %s%s%s]", s->label, names_mode(s->mode),
             prec_name(p), s->star ? " FL*" : "", s->gamma, s->probs ? " probabilities" : "",
             names_reduction(s->red), s->ls != 0.0 ? " label smoothing" : "",
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
    if (s->mode == FOCAL_MODE_SOFTMAX) {
        reference_softmax(s, x, dense, weight, out_ref, grad_ref, zero);
    } else {
        reference_sigmoid(s, p, x, dense, weight, out_ref, grad_ref, zero);
    }

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

/* The mode a shared-body test runs in, as its cmocka state. */
static focal_mode softmax_mode = FOCAL_MODE_SOFTMAX;
static focal_mode sigmoid_mode = FOCAL_MODE_SIGMOID;

/* ------------------------------------------------------------------------
 * NaN locality, both modes
 *
 * A NaN input reaches the outputs that depend on it and nothing else: the
 * position's in softmax mode (the softmax mixes its classes), the
 * element's in sigmoid mode, and a reduced value. Every other output is
 * bitwise the clean run's, the clean run having a finite value there.
 * ------------------------------------------------------------------------ */

enum { NAN_N = 3, NAN_C = 4, NAN_INNER = 3, NAN_ELEMS = NAN_N * NAN_C * NAN_INNER,
       NAN_POS = NAN_N * NAN_INNER };

typedef enum nan_kind {
    NAN_INDEX,    /* logits, index targets */
    NAN_DENSE,    /* logits, dense targets */
    NAN_INDEX_LS, /* index targets with label smoothing (softmax: the dense path) */
    NAN_PROBS,    /* probabilities, dense targets */
    NAN_STAR,     /* FL*, dense targets */
} nan_kind;

static const char *const nan_kind_names[] = {"logits/index", "logits/dense", "index+ls",
                                             "probabilities", "FL*"};

typedef struct nan_row {
    focal_mode mode;
    focal_reduction red;
    nan_kind kind;
    size_t nan_class; /* the NaN is at (n = 1, this class, s = 1) */
    const char *where;
    uint64_t seed;
} nan_row;

/* With NONE nothing but the NaN position (element) is touched. With MEAN
 * the reduced value is, but the other outputs' gradient is not: the
 * denominators depend on targets and weights only, never on a loss. */
static const nan_row nan_rows[] = {
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_NONE, NAN_INDEX, 2, "a non-target logit", 0xa11ce},
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_NONE, NAN_INDEX, 0, "the target logit", 0xa11ce},
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_MEAN, NAN_INDEX, 2, "a non-target logit", 0xa11ce},
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_MEAN, NAN_INDEX, 0, "the target logit", 0xa11ce},
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_WEIGHTED_MEAN, NAN_INDEX, 3, "a non-target logit",
     0xa11ce},
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_NONE, NAN_DENSE, 2, "a logit", 0xa11ce},
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_MEAN, NAN_DENSE, 0, "a logit", 0xa11ce},
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_NONE, NAN_INDEX_LS, 2, "a non-target logit", 0xa11ce},
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_MEAN, NAN_INDEX_LS, 0, "the target logit", 0xa11ce},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_NONE, NAN_INDEX, 2, "an element", 0x7a7a},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_NONE, NAN_DENSE, 2, "an element", 0x7a7b},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_NONE, NAN_PROBS, 2, "an element", 0x7a7c},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_NONE, NAN_STAR, 2, "an element", 0x7a7d},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_MEAN, NAN_INDEX, 2, "an element", 0x7a7a},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_MEAN, NAN_DENSE, 2, "an element", 0x7a7b},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_MEAN, NAN_PROBS, 2, "an element", 0x7a7c},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_MEAN, NAN_STAR, 2, "an element", 0x7a7d},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_SUM_OVER_POSITIVES, NAN_INDEX, 2, "an element", 0x7a7a},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_SUM_OVER_POSITIVES, NAN_DENSE, 2, "an element", 0x7a7b},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_SUM_OVER_POSITIVES, NAN_PROBS, 2, "an element", 0x7a7c},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_SUM_OVER_POSITIVES, NAN_STAR, 2, "an element", 0x7a7d},
};

typedef struct nan_data {
    double x[NAN_ELEMS], x_clean[NAN_ELEMS], y[NAN_ELEMS], w[NAN_POS], up[NAN_ELEMS];
    int64_t target[NAN_POS];
    double alpha[NAN_C];
    double gamma;
    /* The upstream gradient is all ones, so the NaN run's backward gradient
     * is also held to the clean fused call's. */
    int unit_upstream;
} nan_data;

static size_t nan_elem(const nan_row *r)
{
    return (1 * NAN_C + r->nan_class) * NAN_INNER + 1;
}

/* Softmax: targets in [0, c) with the NaN position's class 0, soft dense
 * targets (every class has a share), unit upstream gradient; the clean run
 * has 0 where the NaN is. */
static void nan_data_softmax(const nan_row *r, prec p, nan_data *d)
{
    static const double alpha[NAN_C] = {0.25, 1.0, 0.5, 2.0};
    numcheck_rng rng;
    numcheck_rng_seed(&rng, r->seed);
    for (size_t i = 0; i < NAN_ELEMS; i++) {
        d->x[i] = round_to(numcheck_rng_uniform(&rng, -3.0, 3.0), p);
        d->y[i] = round_to(numcheck_rng_uniform(&rng, 0.05, 0.3), p);
        d->up[i] = 1.0;
    }
    for (size_t i = 0; i < NAN_POS; i++) {
        d->target[i] = numcheck_rng_below(&rng, NAN_C);
        d->w[i] = round_to(numcheck_rng_uniform(&rng, 0.5, 2.0), p);
    }
    d->target[1 * NAN_INNER + 1] = 0;
    memcpy(d->x_clean, d->x, sizeof d->x);
    d->x[nan_elem(r)] = NAN;
    d->x_clean[nan_elem(r)] = 0.0;
    memcpy(d->alpha, alpha, sizeof alpha);
    d->gamma = 2.0;
    d->unit_upstream = 1;
}

/* Sigmoid: targets in [0, c], dense targets in [0, 1], a random upstream
 * gradient; the clean run keeps the value the NaN replaced. */
static void nan_data_sigmoid(const nan_row *r, prec p, nan_data *d)
{
    static const double alpha[NAN_C] = {0.25, 0.5, 0.75, 0.4};
    numcheck_rng rng;
    numcheck_rng_seed(&rng, r->seed);
    for (size_t i = 0; i < NAN_ELEMS; i++) {
        d->x[i] = round_to(r->kind == NAN_PROBS ? numcheck_rng_uniform(&rng, 0.05, 0.95)
                                                : numcheck_rng_uniform(&rng, -3.0, 3.0),
                           p);
        d->y[i] = round_to(numcheck_rng_uniform(&rng, 0.0, 1.0), p);
        d->up[i] = round_to(numcheck_rng_uniform(&rng, -1.0, 1.0), p);
    }
    for (size_t i = 0; i < NAN_POS; i++) {
        d->target[i] = numcheck_rng_below(&rng, NAN_C + 1);
        d->w[i] = round_to(numcheck_rng_uniform(&rng, 0.5, 2.0), p);
    }
    memcpy(d->x_clean, d->x, sizeof d->x);
    d->x[nan_elem(r)] = NAN;
    memcpy(d->alpha, alpha, sizeof alpha);
    d->gamma = r->kind == NAN_STAR ? 1.5 : 2.0;
    if (r->red != FOCAL_REDUCTION_NONE) {
        d->up[0] = round_to(0.75, p);
    }
    d->unit_upstream = 0;
}

static size_t nan_case(const nan_row *r, prec p)
{
    nan_data d;
    if (r->mode == FOCAL_MODE_SOFTMAX) {
        nan_data_softmax(r, p, &d);
    } else {
        nan_data_sigmoid(r, p, &d);
    }
    const size_t e_nan = nan_elem(r);
    const size_t pos_nan = 1 * NAN_INNER + 1;

    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, r->mode), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, d.gamma), FOCAL_OK);
    assert_int_equal(focal_loss_set_alpha_vector(loss, d.alpha, NAN_C), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, r->red), FOCAL_OK);
    if (r->kind == NAN_INDEX_LS) {
        assert_int_equal(focal_loss_set_label_smoothing(loss, 0.1), FOCAL_OK);
    } else if (r->kind == NAN_PROBS) {
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
    } else if (r->kind == NAN_STAR) {
        assert_int_equal(focal_loss_set_variant(loss, FOCAL_VARIANT_FL_STAR), FOCAL_OK);
    }

    const int use_index = r->kind == NAN_INDEX || r->kind == NAN_INDEX_LS;
    const int64_t *target = use_index ? d.target : NULL;
    const double *dense = use_index ? NULL : d.y;
    const size_t out_len =
        r->red == FOCAL_REDUCTION_NONE ? none_out_len(r->mode, NAN_POS, NAN_ELEMS) : 1;
    /* The NONE output the NaN lands in. */
    const size_t out_nan = r->mode == FOCAL_MODE_SOFTMAX ? pos_nan : e_nan;
    job j = {loss, p, NAN_N, NAN_C, NAN_INNER, d.x, target, dense, d.w};
    job jc = {loss, p, NAN_N, NAN_C, NAN_INNER, d.x_clean, target, dense, d.w};
    char label[160];
    snprintf(label, sizeof label, "NaN in %s (element %zu) [%s %s %s %s]", r->where, e_nan,
             names_mode(r->mode), prec_name(p), nan_kind_names[r->kind], names_reduction(r->red));

    double out_f[NAN_ELEMS], out_fb[NAN_ELEMS], out_c[NAN_ELEMS];
    double grad_fb[NAN_ELEMS], grad_b[NAN_ELEMS], grad_c[NAN_ELEMS], grad_bc[NAN_ELEMS];
    focal_status st[5] = {job_forward(&j, out_f, out_len), job_fused(&j, out_fb, out_len, grad_fb),
                          job_backward(&j, d.up, out_len, grad_b),
                          job_fused(&jc, out_c, out_len, grad_c),
                          d.unit_upstream ? FOCAL_OK : job_backward(&jc, d.up, out_len, grad_bc)};
    for (int i = 0; i < 5; i++) {
        if (st[i] != FOCAL_OK) {
            print_error("%s: call %d returned %d, expected FOCAL_OK (%s)\n", label, i, (int)st[i],
                        focal_last_error());
            focal_loss_destroy(loss);
            return 1;
        }
    }
    const double *backward_clean = d.unit_upstream ? grad_c : grad_bc;

    size_t bad = 0;
    for (size_t i = 0; i < out_len; i++) {
        const int touched = out_len == 1 || i == out_nan;
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
    for (size_t e = 0; e < NAN_ELEMS; e++) {
        const size_t pos = e / (NAN_C * NAN_INNER) * NAN_INNER + e % NAN_INNER;
        const int touched = r->mode == FOCAL_MODE_SOFTMAX ? pos == pos_nan : e == e_nan;
        const double got[2] = {grad_fb[e], grad_b[e]};
        const double clean[2] = {grad_c[e], backward_clean[e]};
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
    const focal_mode mode = *(const focal_mode *)*state;
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t i = 0; i < sizeof nan_rows / sizeof nan_rows[0]; i++) {
            if (nan_rows[i].mode == mode) {
                bad += nan_case(&nan_rows[i], both_precs[pi]);
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Zero denominators, both modes: when MEAN, WEIGHTED_MEAN or
 * SUM_OVER_POSITIVES would divide by 0 (or NONE and SUM have nothing to
 * add), every output and gradient is exactly 0.
 * ------------------------------------------------------------------------ */

enum { ZERO_N = 2, ZERO_C = 3, ZERO_INNER = 2, ZERO_ELEMS = ZERO_N * ZERO_C * ZERO_INNER,
       ZERO_POS = ZERO_N * ZERO_INNER };

typedef struct zero_row {
    focal_mode mode;
    const char *what;
    focal_reduction red;
    const int64_t *target;    /* or NULL */
    const double *dense;      /* or NULL */
    const double *weight;     /* or NULL */
    const double *alpha_vec;  /* or NULL */
    int alpha_one;            /* scalar alpha 1 */
    int ignore;               /* ignore_index -100 set */
} zero_row;

static const int64_t zero_all_ignored[ZERO_POS] = {-100, -100, -100, -100};
static const int64_t softmax_some_targets[ZERO_POS] = {0, 2, 1, 2};
static const int64_t sigmoid_some_targets[ZERO_POS] = {0, 3, 1, 2};
static const int64_t sigmoid_background[ZERO_POS] = {3, 3, 3, 3};
static const double zero_weights[ZERO_POS] = {0.0, 0.0, 0.0, 0.0};
static const double zero_alpha[ZERO_C] = {0.0, 0.0, 0.0};
static const double zero_dense[ZERO_ELEMS] = {0.0};
static const double some_alpha[ZERO_C] = {0.5, 1.0, 2.0};

static const zero_row zero_rows[] = {
    {FOCAL_MODE_SOFTMAX, "all positions ignored", FOCAL_REDUCTION_MEAN, zero_all_ignored, NULL,
     NULL, NULL, 0, 1},
    {FOCAL_MODE_SOFTMAX, "all positions ignored", FOCAL_REDUCTION_WEIGHTED_MEAN,
     zero_all_ignored, NULL, NULL, NULL, 0, 1},
    {FOCAL_MODE_SOFTMAX, "all positions ignored, alpha vector", FOCAL_REDUCTION_WEIGHTED_MEAN,
     zero_all_ignored, NULL, NULL, some_alpha, 0, 1},
    {FOCAL_MODE_SOFTMAX, "all positions ignored", FOCAL_REDUCTION_SUM, zero_all_ignored, NULL,
     NULL, NULL, 0, 1},
    {FOCAL_MODE_SOFTMAX, "all positions ignored", FOCAL_REDUCTION_NONE, zero_all_ignored, NULL,
     NULL, NULL, 0, 1},
    {FOCAL_MODE_SOFTMAX, "all weights zero", FOCAL_REDUCTION_WEIGHTED_MEAN, softmax_some_targets,
     NULL, zero_weights, NULL, 0, 1},
    {FOCAL_MODE_SOFTMAX, "all weights zero, alpha vector", FOCAL_REDUCTION_WEIGHTED_MEAN,
     softmax_some_targets, NULL, zero_weights, some_alpha, 0, 1},
    {FOCAL_MODE_SOFTMAX, "all weights zero", FOCAL_REDUCTION_MEAN, softmax_some_targets, NULL,
     zero_weights, NULL, 0, 1},
    {FOCAL_MODE_SOFTMAX, "alpha vector all zero", FOCAL_REDUCTION_WEIGHTED_MEAN,
     softmax_some_targets, NULL, NULL, zero_alpha, 0, 1},
    {FOCAL_MODE_SOFTMAX, "dense targets all zero", FOCAL_REDUCTION_WEIGHTED_MEAN, NULL,
     zero_dense, NULL, some_alpha, 0, 0},
    {FOCAL_MODE_SIGMOID, "all positions ignored", FOCAL_REDUCTION_NONE, zero_all_ignored, NULL,
     NULL, NULL, 0, 1},
    {FOCAL_MODE_SIGMOID, "all positions ignored", FOCAL_REDUCTION_MEAN, zero_all_ignored, NULL,
     NULL, NULL, 0, 1},
    {FOCAL_MODE_SIGMOID, "all positions ignored", FOCAL_REDUCTION_SUM, zero_all_ignored, NULL,
     NULL, NULL, 0, 1},
    {FOCAL_MODE_SIGMOID, "all positions ignored", FOCAL_REDUCTION_WEIGHTED_MEAN,
     zero_all_ignored, NULL, NULL, NULL, 0, 1},
    {FOCAL_MODE_SIGMOID, "all positions ignored", FOCAL_REDUCTION_SUM_OVER_POSITIVES,
     zero_all_ignored, NULL, NULL, NULL, 0, 1},
    {FOCAL_MODE_SIGMOID, "all weights zero", FOCAL_REDUCTION_WEIGHTED_MEAN, sigmoid_some_targets,
     NULL, zero_weights, NULL, 0, 1},
    {FOCAL_MODE_SIGMOID, "all weights zero", FOCAL_REDUCTION_MEAN, sigmoid_some_targets, NULL,
     zero_weights, NULL, 0, 1},
    /* alpha 1 weighs negatives by 1 - alpha = 0: with background only
     * every alpha_t is 0; the same with dense targets all 0 (no weights:
     * the float32 kernel's one-stretch form). */
    {FOCAL_MODE_SIGMOID, "alpha 1, background only", FOCAL_REDUCTION_WEIGHTED_MEAN,
     sigmoid_background, NULL, NULL, NULL, 1, 1},
    {FOCAL_MODE_SIGMOID, "alpha 1, dense targets all 0", FOCAL_REDUCTION_WEIGHTED_MEAN, NULL,
     zero_dense, NULL, NULL, 1, 1},
};

static size_t zero_case(const zero_row *r, prec p)
{
    static const double x_src[ZERO_ELEMS] = {0.5, -1.0, 2.0, 0.25, -0.75, 1.5,
                                             3.0, -2.0, 0.0, 1.0,  -0.5,  0.125};
    double x[ZERO_ELEMS];
    for (size_t i = 0; i < ZERO_ELEMS; i++) {
        x[i] = round_to(x_src[i], p);
    }
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, r->mode), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, r->red), FOCAL_OK);
    if (r->ignore) {
        assert_int_equal(focal_loss_set_ignore_index(loss, -100), FOCAL_OK);
    }
    if (r->alpha_vec != NULL) {
        assert_int_equal(focal_loss_set_alpha_vector(loss, r->alpha_vec, ZERO_C), FOCAL_OK);
    }
    if (r->alpha_one) {
        assert_int_equal(focal_loss_set_alpha(loss, 1.0), FOCAL_OK);
    }
    char label[200];
    snprintf(label, sizeof label, "zero denominator: %s [%s %s %s]", r->what, names_mode(r->mode),
             prec_name(p), names_reduction(r->red));
    job j = {loss, p, ZERO_N, ZERO_C, ZERO_INNER, x, r->target, r->dense, r->weight};
    const size_t out_len =
        r->red == FOCAL_REDUCTION_NONE ? none_out_len(r->mode, ZERO_POS, ZERO_ELEMS) : 1;
    double out_f[ZERO_ELEMS], out_fb[ZERO_ELEMS], grad_fb[ZERO_ELEMS], grad_b[ZERO_ELEMS];
    double up[ZERO_ELEMS];
    for (size_t i = 0; i < ZERO_ELEMS; i++) {
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
        for (size_t e = 0; e < ZERO_ELEMS; e++) {
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
    const focal_mode mode = *(const focal_mode *)*state;
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t i = 0; i < sizeof zero_rows / sizeof zero_rows[0]; i++) {
            if (zero_rows[i].mode == mode) {
                bad += zero_case(&zero_rows[i], both_precs[pi]);
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------------------
 * Bitwise determinism across thread counts, both modes: every thread
 * count against threads = 1, the fused call always, the backward call
 * (random upstream) where the row says so.
 * ------------------------------------------------------------------------ */

typedef struct det_row {
    focal_mode mode;
    focal_reduction red;
    int dense_targets;
    int64_t n, c, inner;
    int with_backward;
} det_row;

static const det_row det_rows[] = {
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_MEAN, 0, 64, 50, 32 * 32, 1},
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_NONE, 0, 64, 50, 32 * 32, 1},
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_WEIGHTED_MEAN, 1, 8, 50, 32 * 32, 1},
    {FOCAL_MODE_SOFTMAX, FOCAL_REDUCTION_SUM, 0, 4096, 37, 1, 1},
    /* 10000 x 80 is 400 tiles in 256 chunks of one or two tiles. */
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_MEAN, 0, 10000, 80, 1, 1},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_SUM_OVER_POSITIVES, 0, 10000, 80, 1, 0},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_MEAN, 1, 10000, 80, 1, 1},
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_SUM_OVER_POSITIVES, 1, 10000, 80, 1, 0},
    /* Per-element outputs and upstream gradients across an NCHW layout. */
    {FOCAL_MODE_SIGMOID, FOCAL_REDUCTION_NONE, 0, 4, 80, 32 * 32, 1},
};

/* Targets drawn as each mode sees them: softmax soft targets of about 1/c
 * each and 5% ignored positions; sigmoid mostly-zero dense targets, and
 * index targets with 5% ignored and about half background. */
static double det_dense_target(focal_mode mode, numcheck_rng *rng, int64_t c, prec p)
{
    if (mode == FOCAL_MODE_SOFTMAX) {
        return round_to(numcheck_rng_uniform(rng, 0.0, 2.0 / (double)c), p);
    }
    double u = numcheck_rng_uniform(rng, 0.0, 1.0);
    return u < 0.97 ? 0.0 : round_to(numcheck_rng_uniform(rng, 0.0, 1.0), p);
}

static int64_t det_index_target(focal_mode mode, numcheck_rng *rng, int64_t c)
{
    double u = numcheck_rng_uniform(rng, 0.0, 1.0);
    if (mode == FOCAL_MODE_SOFTMAX) {
        return u < 0.05 ? -100 : numcheck_rng_below(rng, c);
    }
    return u < 0.05 ? -100 : u < 0.6 ? c : numcheck_rng_below(rng, c);
}

static size_t determinism_case(const det_row *r, prec p)
{
    const int softmax = r->mode == FOCAL_MODE_SOFTMAX;
    const int64_t n = r->n, c = r->c, inner = r->inner;
    const size_t elems = (size_t)(n * c * inner);
    const size_t positions = (size_t)(n * inner);
    const size_t out_len =
        r->red == FOCAL_REDUCTION_NONE ? none_out_len(r->mode, positions, elems) : 1;
    numcheck_rng rng;
    numcheck_rng_seed(&rng, (softmax ? 0xde7e : 0x51de7) + (uint64_t)r->red * 7 +
                                (uint64_t)r->dense_targets);
    double *x = numcheck_alloc(elems, sizeof *x);
    double *y = r->dense_targets ? numcheck_alloc(elems, sizeof *y) : NULL;
    int64_t *target = r->dense_targets ? NULL : numcheck_alloc(positions, sizeof *target);
    double *w = numcheck_alloc(positions, sizeof *w);
    double *up = numcheck_alloc(out_len, sizeof *up);
    double *alpha = numcheck_alloc((size_t)c, sizeof *alpha);
    for (size_t i = 0; i < elems; i++) {
        x[i] = round_to(numcheck_rng_uniform(&rng, -6.0, 6.0), p);
        if (y != NULL) {
            y[i] = det_dense_target(r->mode, &rng, c, p);
        }
    }
    for (size_t i = 0; i < positions; i++) {
        if (target != NULL) {
            target[i] = det_index_target(r->mode, &rng, c);
        }
        w[i] = round_to(numcheck_rng_uniform(&rng, 0.0, 2.0), p);
    }
    for (size_t i = 0; i < out_len; i++) {
        up[i] = round_to(numcheck_rng_uniform(&rng, -1.0, 1.0), p);
    }
    for (int64_t k = 0; k < c; k++) {
        alpha[k] = softmax ? numcheck_rng_uniform(&rng, 0.25, 1.0)
                           : numcheck_rng_uniform(&rng, 0.1, 0.9);
    }

    /* FOCAL_TEST_QUICK=1 (the coverage stage, the slow checkers and the
     * emulated architectures): 1, 2 and 7 only. */
    static const int threads[] = {1, 2, 7, 3, 4};
    const size_t nthreads = proc_quick() ? 3 : 5;
    double *out_ref = numcheck_alloc(out_len, sizeof *out_ref);
    double *grad_ref = numcheck_alloc(elems, sizeof *grad_ref);
    double *gradb_ref = numcheck_alloc(elems, sizeof *gradb_ref);
    double *out = numcheck_alloc(out_len, sizeof *out);
    double *grad = numcheck_alloc(elems, sizeof *grad);
    double *gradb = numcheck_alloc(elems, sizeof *gradb);
    char label[160];
    size_t bad = 0;
    for (size_t ti = 0; ti < nthreads; ti++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, r->mode), FOCAL_OK);
        assert_int_equal(focal_loss_set_gamma(loss, 2.0), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha_vector(loss, alpha, c), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, r->red), FOCAL_OK);
        if (!r->dense_targets) {
            assert_int_equal(focal_loss_set_ignore_index(loss, -100), FOCAL_OK);
        }
        assert_int_equal(focal_loss_set_threads(loss, threads[ti]), FOCAL_OK);
        job j = {loss, p, n, c, inner, x, target, y, w};
        double *o = ti == 0 ? out_ref : out;
        double *g = ti == 0 ? grad_ref : grad;
        double *gb = ti == 0 ? gradb_ref : gradb;
        focal_status s1 = job_fused(&j, o, out_len, g);
        focal_status s2 = r->with_backward ? job_backward(&j, up, out_len, gb) : FOCAL_OK;
        snprintf(label, sizeof label, "threads %d vs 1 [%s %s %s%s (%lld,%lld,%lld)]", threads[ti],
                 names_mode(r->mode), prec_name(p), names_reduction(r->red),
                 r->dense_targets ? " dense" : " index", (long long)n, (long long)c,
                 (long long)inner);
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
            if (r->with_backward) {
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
    const focal_mode mode = *(const focal_mode *)*state;
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t i = 0; i < sizeof det_rows / sizeof det_rows[0]; i++) {
            if (det_rows[i].mode == mode) {
                bad += determinism_case(&det_rows[i], both_precs[pi]);
            }
        }
    }
    assert_int_equal(bad, 0);
}

/* ========================================================================
 * Softmax mode
 * ======================================================================== */

/* ------------------------------------------------------------------------
 * Logits of magnitude 1e4
 * ------------------------------------------------------------------------ */

static void test_softmax_large_logits(void **state)
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
                    setup s = {.mode = FOCAL_MODE_SOFTMAX};
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

static void test_softmax_small_gamma_saturated(void **state)
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
                        setup s = {.mode = FOCAL_MODE_SOFTMAX};
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

static void test_softmax_masked_logits(void **state)
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
                    setup s = {.mode = FOCAL_MODE_SOFTMAX};
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
static void test_softmax_masked_logits_dense(void **state)
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
            setup s = {.mode = FOCAL_MODE_SOFTMAX};
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
             prec_name(p), names_reduction(red));
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

static void test_softmax_cross_entropy(void **state)
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
             names_reduction(red));
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

static void test_softmax_cross_entropy_label_smoothing(void **state)
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

static void test_softmax_keras_form(void **state)
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
                    setup s = {.mode = FOCAL_MODE_SOFTMAX};
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

static void test_softmax_range_switches(void **state)
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
                    setup s = {.mode = FOCAL_MODE_SOFTMAX};
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

static void test_softmax_dense_subnormal_denominator(void **state)
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

static void test_softmax_probabilities_clipped(void **state)
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
    /* eps 1e-300, below the range of the vector tables' reciprocal
     * estimate (they divide there): 0 is below; 1e-280, 1e-250 and 1e-30 inside,
     * with gradients near -1e280, -1e250 and -1e30. */
    static const double x_tiny[ELEMS] = {
        0.0,   0.5,  1e-250, 0.25,
        1e-30, 0.75, 0.125,  0.125,
        0.25,  1.0,  1e-280, 0.5,
    };
    static const int64_t targets_tiny[N] = {2, 0, 2};
    static const double alpha[C] = {0.5, 1.0, 0.25, 2.0};
    static const double gammas[] = {0.0, 0.5, 2.0};
    static const focal_reduction reds[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_SUM};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 3; gi++) {
            for (size_t ri = 0; ri < 2; ri++) {
                for (int a = 0; a < 2; a++) {
                    for (int v = 0; v < 6; v++) {
                        setup s = {.mode = FOCAL_MODE_SOFTMAX};
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
                        case 4:
                            s.label = "probabilities, default eps, targets 2";
                            s.x = x_default;
                            s.eps = 0.0;
                            s.target = targets_default2;
                            break;
                        default:
                            /* float64 only: float32 clips at 2^-149 at least. */
                            if (both_precs[pi] != PREC_F64)
                                continue;
                            s.label = "probabilities, eps 1e-300";
                            s.x = x_tiny;
                            s.eps = 1e-300;
                            s.target = targets_tiny;
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

/* ========================================================================
 * Sigmoid mode
 * ======================================================================== */

/* ------------------------------------------------------------------------
 * The closed form over a grid of ordinary inputs
 * ------------------------------------------------------------------------ */

static void test_sigmoid_closed_form_grid(void **state)
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
                                setup s = {.mode = FOCAL_MODE_SIGMOID};
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
             prec_name(p), variant_names[variant], names_reduction(red), alpha_kind, ls,
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

static void test_sigmoid_index_dense_equivalence(void **state)
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

static void test_sigmoid_large_logits(void **state)
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
                        setup s = {.mode = FOCAL_MODE_SIGMOID};
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
static void test_sigmoid_small_gamma_saturated(void **state)
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
                setup s = {.mode = FOCAL_MODE_SIGMOID};
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

static void test_sigmoid_fl_star(void **state)
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
                            setup s = {.mode = FOCAL_MODE_SIGMOID};
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
                    setup s = {.mode = FOCAL_MODE_SIGMOID};
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
             star ? "FL* gamma 1 beta 0" : "FL gamma 0", prec_name(p), names_reduction(red),
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

static void test_sigmoid_cross_entropy(void **state)
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

static void test_sigmoid_keras_form(void **state)
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
static void test_sigmoid_probabilities_clipped(void **state)
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
    static const double x_tiny[ELEMS] = {0.0,   1e-280, 1e-250, 0.5, 1.0 - 1e-12, 0.75,
                                         1e-30, 0.3,    0.999,  1e-9, 0.7,         1e-200};
    static const double gammas[] = {0.0, 0.5, 2.0};
    size_t bad = 0;
    for (size_t pi = 0; pi < 2; pi++) {
        for (size_t gi = 0; gi < 3; gi++) {
            for (int d = 0; d < 3; d++) {
                for (int r = 0; r < 2; r++) {
                    setup s = {.mode = FOCAL_MODE_SIGMOID};
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
            setup s = {.mode = FOCAL_MODE_SIGMOID};
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
            /* eps 1e-300 (float64: float32 clips at 2^-149 at least), below
             * the range of the vector tables' reciprocal estimate (they
             * divide there): probabilities down to 1e-280 inside. */
            if (both_precs[pi] != PREC_F64)
                continue;
            for (int d = 0; d < 2; d++) {
                s.label = d ? "clipped probabilities, eps 1e-300, soft targets"
                            : "clipped probabilities, eps 1e-300, hard targets";
                s.x = x_tiny;
                s.dense = d ? soft : hard;
                s.eps = 1e-300;
                bad += run_compare(&s, both_precs[pi]);
            }
            /* eps 5e-324, the smallest double: 1 / p overflows for the
             * subnormal p, and a target of 0 there must still give y / p
             * = 0 (not 0 times infinity). */
            static const double x_sub[4] = {1e-321, 1e-310, 0.5, 0.25};
            static const double y_sub[4] = {0.0, 0.0, 1.0, 0.5};
            setup t = s;
            t.label = "clipped probabilities, eps 5e-324, subnormal p with y = 0";
            t.n = 1;
            t.c = 4;
            t.x = x_sub;
            t.dense = y_sub;
            t.eps = 0x1p-1074;
            bad += run_compare(&t, both_precs[pi]);
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
static void test_sigmoid_masked_logits(void **state)
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
                    setup s = {.mode = FOCAL_MODE_SIGMOID};
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
                             prec_name(p), gammas[gi], d ? "dense" : "index", names_reduction(red));
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
 * SUM_OVER_POSITIVES: the sum divided by max(1, the positives' count)
 * ------------------------------------------------------------------------ */

static void test_sigmoid_sum_over_positives(void **state)
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
                    setup s = {.mode = FOCAL_MODE_SIGMOID};
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

static void test_sigmoid_prior_bias(void **state)
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

/* ========================================================================
 * Registration: one cmocka test per concern and mode
 * ======================================================================== */

#define IN_MODE(name, f) {name, f, NULL, NULL, NULL}
#define IN_BOTH(name, f)                                                                     \
    {name "/softmax", f, NULL, NULL, &softmax_mode},                                         \
    {name "/sigmoid", f, NULL, NULL, &sigmoid_mode}

int main(void)
{
    const struct CMUnitTest tests[] = {
        IN_MODE("large_logits/softmax", test_softmax_large_logits),
        IN_MODE("large_logits/sigmoid", test_sigmoid_large_logits),
        IN_MODE("small_gamma_saturated/softmax", test_softmax_small_gamma_saturated),
        IN_MODE("small_gamma_saturated/sigmoid", test_sigmoid_small_gamma_saturated),
        IN_MODE("masked_logits/softmax", test_softmax_masked_logits),
        IN_MODE("masked_logits_dense/softmax", test_softmax_masked_logits_dense),
        IN_MODE("masked_logits/sigmoid", test_sigmoid_masked_logits),
        IN_BOTH("nan_locality", test_nan_locality),
        IN_BOTH("zero_denominator", test_zero_denominator),
        IN_MODE("cross_entropy/softmax", test_softmax_cross_entropy),
        IN_MODE("cross_entropy_label_smoothing/softmax", test_softmax_cross_entropy_label_smoothing),
        IN_MODE("cross_entropy/sigmoid", test_sigmoid_cross_entropy),
        IN_MODE("keras_form/softmax", test_softmax_keras_form),
        IN_MODE("keras_form/sigmoid", test_sigmoid_keras_form),
        IN_MODE("probabilities_clipped/softmax", test_softmax_probabilities_clipped),
        IN_MODE("probabilities_clipped/sigmoid", test_sigmoid_probabilities_clipped),
        IN_BOTH("thread_determinism", test_thread_determinism),
        IN_MODE("range_switches/softmax", test_softmax_range_switches),
        IN_MODE("dense_subnormal_denominator/softmax", test_softmax_dense_subnormal_denominator),
        IN_MODE("closed_form_grid/sigmoid", test_sigmoid_closed_form_grid),
        IN_MODE("index_dense_equivalence/sigmoid", test_sigmoid_index_dense_equivalence),
        IN_MODE("fl_star/sigmoid", test_sigmoid_fl_star),
        IN_MODE("sum_over_positives/sigmoid", test_sigmoid_sum_over_positives),
        IN_MODE("prior_bias/sigmoid", test_sigmoid_prior_bias),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
