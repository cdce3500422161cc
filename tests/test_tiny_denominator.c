/*
 * WEIGHTED_MEAN far from 1. Softmax dense targets on the row layout (more
 * than 64 classes, inner 1) under a denominator below 2^-900: the library
 * then normalises each row's coefficients before it divides (plan.c's
 * `tiny`), so that neither the row's terms nor the quotient underflow.
 * Weights or alpha far above 1 (up to DBL_MAX), or a subnormal alpha
 * with huge weights: the library scales them by powers of two (plan.c's
 * scale_alpha and scale_weights), so that no sum overflows where the
 * ratio does not. The value and the gradient of the reduced loss do not
 * depend on the scale of the weights or of the alpha vector, so the test
 * makes them extreme and checks both against a long double reference
 * (whose range holds every product) of
 *
 *   L = sum_r w_r sum_c y_rc a_c f(p_rc) / sum_r w_r sum_c y_rc a_c,
 *   f(p) = -(1 - p)^gamma log p,
 *   dL/dx_rj = w_r / D sum_c y_rc a_c f'(p_rc) p_rc ([c == j] - p_rj),
 *   f'(p) = gamma (1 - p)^(gamma - 1) log p - (1 - p)^gamma / p
 *
 * (docs/math.md), and the sigmoid's with index targets and a scalar alpha
 * of +-DBL_MAX / 2 (alpha_t = a y + (1 - a)(1 - y)):
 *
 *   L = sum w alpha_t f(p_t) / sum w alpha_t,
 *   dL/dx = w alpha_t f'(p_t) (2 y - 1) p (1 - p) / D.
 *
 * A softmax DIVISOR of 2^-958 over rows of logits -104 (rows and planes).
 * The gradient with respect to sigmoid targets under subnormal weights.
 * And the sigmoid with subnormal dense targets, alpha 1 and gamma 0, whose
 * denominator (the targets' sum) is subnormal.
 *
 * Tiny weights with float64 only: float32 weights cannot be that small;
 * the alpha vector is double for both.
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

#include <focal/focal.h>

#define ROWS 5
#define CLASSES 80   /* above 64: the row layout */
#define ELEMENTS (ROWS * CLASSES)
#define TINY 0x1p-1000

typedef struct problem {
    double x[ELEMENTS], y[ELEMENTS], w[ROWS], alpha[CLASSES];
    double wscale, ascale;   /* the weights' and alpha's magnitudes */
    double gamma;
} problem;

static uint64_t lcg_state;

static double uniform(void)
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(lcg_state >> 11) * 0x1p-53;
}

/* Weights wscale (1 + r) / ROWS, alpha ascale (1 + c % 3) / 3. */
static void problem_init(problem *pb, double wscale, double ascale, double gamma, uint64_t seed)
{
    lcg_state = seed;
    pb->wscale = wscale;
    pb->ascale = ascale;
    pb->gamma = gamma;
    for (int r = 0; r < ROWS; r++) {
        double sum = 0;
        for (int c = 0; c < CLASSES; c++) {
            pb->x[r * CLASSES + c] = 6.0 * uniform() - 3.0;
            /* A sparse distribution: about a quarter of the classes. */
            const double v = uniform() < 0.25 ? uniform() : 0.0;
            pb->y[r * CLASSES + c] = v;
            sum += v;
        }
        if (sum == 0) {
            pb->y[r * CLASSES + r] = 1.0;
            sum = 1.0;
        }
        for (int c = 0; c < CLASSES; c++)
            pb->y[r * CLASSES + c] /= sum;
        pb->w[r] = wscale * ((1.0 + r) / ROWS);
    }
    for (int c = 0; c < CLASSES; c++)
        pb->alpha[c] = ascale * ((1.0 + (c % 3)) / 3);
}

/* The reference loss and gradient, from the values as the call sees them
 * (float32 inputs rounded first). */
static void reference(const problem *pb, long double *loss, long double grad[ELEMENTS])
{
    long double num = 0, den = 0;
    long double f[ELEMENTS], fd[ELEMENTS], p[ELEMENTS];
    const long double g = pb->gamma;
    for (int r = 0; r < ROWS; r++) {
        const double *x = pb->x + r * CLASSES;
        long double m = x[0], s = 0;
        for (int c = 1; c < CLASSES; c++)
            m = x[c] > m ? x[c] : m;
        for (int c = 0; c < CLASSES; c++)
            s += expl(x[c] - m);
        for (int c = 0; c < CLASSES; c++) {
            const int e = r * CLASSES + c;
            const long double logp = (x[c] - m) - logl(s);
            p[e] = expl(logp);
            const long double q = 1.0L - p[e];
            f[e] = -powl(q, g) * logp;
            fd[e] = g * powl(q, g - 1.0L) * logp - powl(q, g) / p[e];
            num += (long double)pb->w[r] * pb->y[e] * pb->alpha[c] * f[e];
            den += (long double)pb->w[r] * pb->y[e] * pb->alpha[c];
        }
    }
    *loss = num / den;
    for (int r = 0; r < ROWS; r++) {
        long double dot = 0;   /* sum_c y a f'(p) p */
        for (int c = 0; c < CLASSES; c++) {
            const int e = r * CLASSES + c;
            dot += (long double)pb->y[e] * pb->alpha[c] * fd[e] * p[e];
        }
        for (int j = 0; j < CLASSES; j++) {
            const int e = r * CLASSES + j;
            /* sum_c y_c a_c f'(p_c) p_c [c == j] - p_j dot */
            const long double own = (long double)pb->y[e] * pb->alpha[j] * fd[e] * p[e];
            grad[e] = (long double)pb->w[r] / den * (own - p[e] * dot);
        }
    }
}

static focal_loss *context_for(const problem *pb)
{
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_WEIGHTED_MEAN), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, pb->gamma), FOCAL_OK);
    assert_int_equal(focal_loss_set_alpha_vector(loss, pb->alpha, CLASSES), FOCAL_OK);
    return loss;
}

/* |got - want| within rel times (|want| + scale). */
static int close_to(double got, long double want, long double scale, double rel)
{
    return isfinite(got) && fabsl((long double)got - want) <= rel * (fabsl(want) + scale);
}

static void check(const char *what, const problem *pb, double loss, const double *grad, double rel)
{
    long double ref_loss, ref_grad[ELEMENTS];
    reference(pb, &ref_loss, ref_grad);
    long double scale = 0;
    for (int e = 0; e < ELEMENTS; e++)
        scale = fabsl(ref_grad[e]) > scale ? fabsl(ref_grad[e]) : scale;
    int bad = 0;
    if (!close_to(loss, ref_loss, 0, rel)) {
        print_error("%s: loss %.17g, reference %.17Lg\n", what, loss, ref_loss);
        bad++;
    }
    for (int e = 0; e < ELEMENTS; e++)
        if (!close_to(grad[e], ref_grad[e], scale, rel) && bad++ < 8)
            print_error("%s: grad[%d] = %.17g, reference %.17Lg\n", what, e, grad[e], ref_grad[e]);
    assert_int_equal(bad, 0);
}

static void run_f64(double wscale, double ascale, double gamma, uint64_t seed)
{
    problem pb;
    problem_init(&pb, wscale, ascale, gamma, seed);
    focal_loss *loss = context_for(&pb);
    double out = NAN, grad[ELEMENTS];
    assert_int_equal(focal_forward_backward_dense_f64(loss, ROWS, CLASSES, 1, pb.x, pb.y, pb.w, &out, grad),
                     FOCAL_OK);
    char what[96];
    snprintf(what, sizeof what, "float64, weights %g, alpha %g, gamma %g", wscale, ascale, gamma);
    check(what, &pb, out, grad, 1e-12);
    focal_loss_destroy(loss);
}

static void test_f64_tiny_weights(void **state)
{
    (void)state;
    run_f64(TINY, 1.0, 2.0, 1);
    run_f64(TINY, 1.0, 0.5, 2);
}

static void test_f64_tiny_alpha(void **state)
{
    (void)state;
    run_f64(1.0, TINY, 2.0, 3);
    run_f64(1.0, TINY, 0.0, 4);
}

/* Weights up to DBL_MAX: sum(w alpha_t) overflows unless scaled. */
static void test_f64_huge_weights(void **state)
{
    (void)state;
    run_f64(0x1.fffffffffffffp+1023, 1.0, 2.0, 6);
    run_f64(0x1.fffffffffffffp+1023, 0x1p-600, 0.0, 7);
}

/* A subnormal alpha with weights of 2^600: w / sum(w alpha_t) overflows
 * unless alpha is scaled. And alpha near DBL_MAX. */
static void test_f64_extreme_alpha(void **state)
{
    (void)state;
    run_f64(0x1p600, 3e-310, 2.0, 8);
    run_f64(1.0, 3e-310, 2.0, 9);
    run_f64(1.0, 0x1.fffffffffffffp+1023, 2.0, 10);
    run_f64(0x1p1000, 0x1p1000, 0.5, 11);
}

static void test_f32_tiny_alpha(void **state)
{
    (void)state;
    problem pb;
    problem_init(&pb, 1.0, TINY, 2.0, 5);
    float x[ELEMENTS], y[ELEMENTS], w[ROWS], grad[ELEMENTS];
    for (int e = 0; e < ELEMENTS; e++) {
        x[e] = (float)pb.x[e];
        y[e] = (float)pb.y[e];
        pb.x[e] = x[e];   /* the reference takes the rounded values */
        pb.y[e] = y[e];
    }
    for (int r = 0; r < ROWS; r++)
        w[r] = (float)pb.w[r];
    focal_loss *loss = context_for(&pb);
    float out = NAN;
    assert_int_equal(focal_forward_backward_dense_f32(loss, ROWS, CLASSES, 1, x, y, w, &out, grad), FOCAL_OK);
    double gd[ELEMENTS];
    for (int e = 0; e < ELEMENTS; e++)
        gd[e] = grad[e];
    /* Computed in double, rounded once to float. */
    check("float32, tiny alpha, gamma 2", &pb, out, gd, 0x1p-22);
    focal_loss_destroy(loss);
}

/* Sigmoid, index targets (one positive class per row), scalar alpha a. */
#define SIG_N 6
#define SIG_C 3

static void sigmoid_reference(const double *x, const int64_t *t, const double *w, double a, double gamma,
                              long double *loss, long double *grad)
{
    long double num = 0, den = 0, dl[SIG_N * SIG_C], at[SIG_N * SIG_C];
    for (int i = 0; i < SIG_N; i++)
        for (int j = 0; j < SIG_C; j++) {
            const int e = i * SIG_C + j, y = t[i] == j;
            const long double p = 1.0L / (1.0L + expl(-(long double)x[e]));
            const long double pt = y ? p : 1.0L - p, q = 1.0L - pt;
            at[e] = y ? (long double)a : 1.0L - a;
            const long double f = -powl(q, gamma) * logl(pt);
            const long double fd = gamma * powl(q, gamma - 1.0L) * logl(pt) - powl(q, gamma) / pt;
            dl[e] = fd * (2 * y - 1) * p * (1.0L - p);
            num += w[i] * at[e] * f;
            den += w[i] * at[e];
        }
    *loss = den == 0 ? 0 : num / den;
    for (int i = 0; i < SIG_N; i++)
        for (int j = 0; j < SIG_C; j++) {
            const int e = i * SIG_C + j;
            grad[e] = den == 0 ? 0 : w[i] * at[e] * dl[e] / den;
        }
}

static void run_sigmoid(double a, double wscale, double gamma)
{
    double x[SIG_N * SIG_C], w[SIG_N], grad[SIG_N * SIG_C], out = NAN;
    int64_t t[SIG_N];
    lcg_state = 12;
    for (int e = 0; e < SIG_N * SIG_C; e++)
        x[e] = 6.0 * uniform() - 3.0;
    for (int i = 0; i < SIG_N; i++) {
        t[i] = i % SIG_C;
        w[i] = wscale * ((1.0 + i) / SIG_N);
    }
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_WEIGHTED_MEAN), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, gamma), FOCAL_OK);
    assert_int_equal(focal_loss_set_alpha(loss, a), FOCAL_OK);
    assert_int_equal(focal_forward_backward_f64(loss, SIG_N, SIG_C, 1, x, t, w, &out, grad), FOCAL_OK);
    long double ref, ref_grad[SIG_N * SIG_C], scale = 0;
    sigmoid_reference(x, t, w, a, gamma, &ref, ref_grad);
    for (int e = 0; e < SIG_N * SIG_C; e++)
        scale = fabsl(ref_grad[e]) > scale ? fabsl(ref_grad[e]) : scale;
    int bad = 0;
    if (!close_to(out, ref, 0, 1e-12)) {
        print_error("sigmoid, alpha %g, weights %g: loss %.17g, reference %.17Lg\n", a, wscale, out, ref);
        bad++;
    }
    for (int e = 0; e < SIG_N * SIG_C; e++)
        if (!close_to(grad[e], ref_grad[e], scale, 1e-12) && bad++ < 8)
            print_error("sigmoid, alpha %g, weights %g: grad[%d] = %.17g, reference %.17Lg\n", a, wscale, e,
                        grad[e], ref_grad[e]);
    assert_int_equal(bad, 0);
    focal_loss_destroy(loss);
}

static void test_sigmoid_extreme_alpha(void **state)
{
    (void)state;
    run_sigmoid(0x1.fffffffffffffp+1022, 1.0, 2.0);
    run_sigmoid(-0x1.fffffffffffffp+1022, 0x1p900, 2.0);
    run_sigmoid(0x1p-1000, 0x1.fffffffffffffp+1023, 0.0);
    /* Zero weights: a zero denominator, so 0 and a zero gradient (the
     * alpha sums used to overflow into inf - inf). */
    run_sigmoid(0x1.fffffffffffffp+1023, 0.0, 2.0);
}

/* Sigmoid, dense targets, alpha 1 (alpha_t = y), gamma 0: the mean of
 * the binary cross-entropy weighted by the targets, which are subnormal:
 *
 *   L = sum y BCE(x, y) / sum y,   dL/dx = y (p - y) / sum y.
 *
 * The denominator is subnormal; 1 / denominator overflows. */
static void test_sigmoid_subnormal_targets(void **state)
{
    (void)state;
    enum { N = 16 };
    double x[N], y[N], grad[N], out = NAN;
    lcg_state = 13;
    for (int e = 0; e < N; e++) {
        x[e] = 6.0 * uniform() - 3.0;
        y[e] = e % 3 == 0 ? 0x1p-1030 * (1 + e) : 0.0;
    }
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_WEIGHTED_MEAN), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
    assert_int_equal(focal_loss_set_alpha(loss, 1.0), FOCAL_OK);
    assert_int_equal(focal_forward_backward_dense_f64(loss, N / 2, 2, 1, x, y, NULL, &out, grad), FOCAL_OK);
    long double num = 0, den = 0, ref_grad[N], scale = 0;
    for (int e = 0; e < N; e++) {
        const long double p = 1.0L / (1.0L + expl(-(long double)x[e]));
        num += y[e] * -(y[e] * logl(p) + (1.0L - y[e]) * log1pl(-p));
        den += y[e];
    }
    for (int e = 0; e < N; e++) {
        const long double p = 1.0L / (1.0L + expl(-(long double)x[e]));
        ref_grad[e] = y[e] * (p - y[e]) / den;
        scale = fabsl(ref_grad[e]) > scale ? fabsl(ref_grad[e]) : scale;
    }
    int bad = 0;
    if (!close_to(out, num / den, 0, 1e-12)) {
        print_error("sigmoid, subnormal targets: loss %.17g, reference %.17Lg\n", out, num / den);
        bad++;
    }
    for (int e = 0; e < N; e++)
        if (!close_to(grad[e], ref_grad[e], scale, 1e-12) && bad++ < 8)
            print_error("sigmoid, subnormal targets: grad[%d] = %.17g, reference %.17Lg\n", e, grad[e], ref_grad[e]);
    assert_int_equal(bad, 0);
    focal_loss_destroy(loss);
}

/* Softmax, index targets, gamma 0 (cross-entropy) under a DIVISOR of
 * 2^-958, with rows whose logits are all -104 (every e^x about 7e-46):
 *
 *   L = sum -log p_t / divisor,   dL/dx_j = (p_j - [j == t]) / divisor,
 *
 * about 4e288 per element, finite; the other classes' share G / R of the
 * target's gradient used to overflow on the direct scale of e^x. Rows
 * (inner 1) and planes (inner 4). */
static void run_small_divisor(int64_t inner)
{
    enum { C = 72, POS = 8 };
    const double divisor = 0x1p-958;
    double x[POS * C], g[POS * C], out = NAN;
    int64_t t[POS];
    const int64_t n = POS / inner;
    lcg_state = 14;
    for (int i = 0; i < POS; i++)
        t[i] = (i * 5) % C;
    /* Position i, class j at (i / inner) * C * inner + j * inner + i % inner. */
    for (int i = 0; i < POS; i++)
        for (int j = 0; j < C; j++)
            x[(i / inner) * C * inner + j * inner + i % inner] = i % 2 == 0 ? -104.0 : 4.0 * uniform() - 2.0;
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_DIVISOR), FOCAL_OK);
    assert_int_equal(focal_loss_set_divisor(loss, divisor), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
    assert_int_equal(focal_forward_backward_f64(loss, n, C, inner, x, t, NULL, &out, g), FOCAL_OK);
    long double ref = 0, ref_grad[POS * C], scale = 0;
    for (int i = 0; i < POS; i++) {
        long double m = -INFINITY, sum = 0;
        for (int j = 0; j < C; j++)
            m = fmaxl(m, x[(i / inner) * C * inner + j * inner + i % inner]);
        for (int j = 0; j < C; j++)
            sum += expl(x[(i / inner) * C * inner + j * inner + i % inner] - m);
        for (int j = 0; j < C; j++) {
            const int e = (int)((i / inner) * C * inner + j * inner + i % inner);
            const long double lp = (x[e] - m) - logl(sum);
            if (j == t[i])
                ref -= lp / divisor;
            ref_grad[e] = (expl(lp) - (j == t[i])) / divisor;
            scale = fabsl(ref_grad[e]) > scale ? fabsl(ref_grad[e]) : scale;
        }
    }
    int bad = 0;
    if (!close_to(out, ref, 0, 1e-12)) {
        print_error("divisor 2^-958, inner %lld: loss %.17g, reference %.17Lg\n", (long long)inner, out, ref);
        bad++;
    }
    for (int e = 0; e < POS * C; e++)
        if (!close_to(g[e], ref_grad[e], scale, 1e-12) && bad++ < 8)
            print_error("divisor 2^-958, inner %lld: grad[%d] = %.17g, reference %.17Lg\n", (long long)inner, e,
                        g[e], ref_grad[e]);
    assert_int_equal(bad, 0);
    focal_loss_destroy(loss);
}

static void test_softmax_small_divisor(void **state)
{
    (void)state;
    run_small_divisor(1);
    run_small_divisor(4);
}

/* Zero weights under WEIGHTED_MEAN give 0 and a zero gradient for every
 * variant that takes it, whatever alpha is (float32 and float64, the
 * alpha sums of +-DBL_MAX used to overflow into inf - inf). */
static void test_zero_weights_family(void **state)
{
    (void)state;
    /* Poly-1 (FL only) leaves alpha unscaled: there the per-position alpha
     * sums overflow themselves and a zero weight must still add nothing. */
    static const struct {
        focal_variant variant;
        double poly;
    } cases[] = {{FOCAL_VARIANT_FL, 0},  {FOCAL_VARIANT_FL_STAR, 0},
                 {FOCAL_VARIANT_QFL, 0}, {FOCAL_VARIANT_ASL, 0},
                 {FOCAL_VARIANT_FL, 2.2049510092281193e-314}, {FOCAL_VARIANT_FL, 1.0}};
    enum { N = 3, C = 4 };
    const double xd[N * C] = {-2.875, 1, 0.5, -1, 3, -4, 0.25, 2, -0.5, 0, 1.5, -2};
    const int64_t t[N] = {1, 4, 0};
    const double wd[N] = {-0.0, 0.0, 0.0};
    double yd[N * C];
    float xf[N * C], wf[N], yf[N * C];
    for (int e = 0; e < N * C; e++) {
        xf[e] = (float)xd[e];
        yd[e] = (double)((e * 5) % 4) / 4;
        yf[e] = (float)yd[e];
    }
    for (int i = 0; i < N; i++)
        wf[i] = (float)wd[i];
    for (size_t v = 0; v < sizeof cases / sizeof cases[0]; v++)
        for (int sign = -1; sign <= 1; sign += 2)
            for (int dense = 0; dense < 4; dense++) {
                /* Index or dense targets, rows (n N, inner 1) or planes (n 1,
                 * inner N). */
                const int64_t n = dense & 2 ? 1 : N, inner = dense & 2 ? N : 1;
                focal_loss *loss = NULL;
                assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
                assert_int_equal(focal_loss_set_variant(loss, cases[v].variant), FOCAL_OK);
                assert_int_equal(focal_loss_set_poly_epsilon(loss, cases[v].poly), FOCAL_OK);
                assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_WEIGHTED_MEAN), FOCAL_OK);
                assert_int_equal(focal_loss_set_alpha(loss, sign * 0x1.fffffffffffffp+1023), FOCAL_OK);
                double outd = NAN, gd[N * C];
                float outf = NAN, gf[N * C];
                if (dense & 1) {
                    assert_int_equal(focal_forward_backward_dense_f64(loss, n, C, inner, xd, yd, wd, &outd, gd),
                                     FOCAL_OK);
                    assert_int_equal(focal_forward_backward_dense_f32(loss, n, C, inner, xf, yf, wf, &outf, gf),
                                     FOCAL_OK);
                } else {
                    assert_int_equal(focal_forward_backward_f64(loss, n, C, inner, xd, t, wd, &outd, gd), FOCAL_OK);
                    assert_int_equal(focal_forward_backward_f32(loss, n, C, inner, xf, t, wf, &outf, gf), FOCAL_OK);
                }
                if (outd != 0 || outf != 0)
                    print_error("variant %d, poly %g, %s targets, inner %d, alpha %+d DBL_MAX: loss %g (f64), %g "
                                "(f32), not 0\n",
                                (int)cases[v].variant, cases[v].poly, dense & 1 ? "dense" : "index", (int)inner, sign,
                                outd, (double)outf);
                assert_true(outd == 0 && outf == 0);
                for (int e = 0; e < N * C; e++)
                    assert_true(gd[e] == 0 && gf[e] == 0);
                focal_loss_destroy(loss);
            }
}

/* The gradient with respect to dense sigmoid targets, WEIGHTED_MEAN
 * without alpha (the denominator, sum(w) over the elements, does not
 * depend on the targets), gamma 0 (binary cross-entropy, whose derivative
 * in y is -x), subnormal weights:
 *
 *   dL/dy_e = -w_e x_e / sum(w),
 *
 * finite, while 1 / sum(w) overflows. The weights' products are subnormal,
 * with about 24 significant bits: 1e-6. */
static void test_target_gradient_subnormal_weights(void **state)
{
    (void)state;
    enum { N = 4, C = 3 };
    double x[N * C], y[N * C], w[N], g[N * C], up = 1.0;
    lcg_state = 15;
    long double sum = 0;
    for (int i = 0; i < N; i++) {
        w[i] = 0x1p-1050 * (1 + i);
        sum += (long double)w[i] * C;
    }
    for (int e = 0; e < N * C; e++) {
        x[e] = 6.0 * uniform() - 3.0;
        y[e] = uniform();
    }
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_WEIGHTED_MEAN), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, 0.0), FOCAL_OK);
    assert_int_equal(focal_backward_target_dense_f64(loss, N, C, 1, x, y, w, &up, g), FOCAL_OK);
    int bad = 0;
    for (int e = 0; e < N * C; e++) {
        const long double want = -(long double)w[e / C] * x[e] / sum;
        if (!close_to(g[e], want, 0, 1e-6) && bad++ < 8)
            print_error("target gradient, subnormal weights: [%d] = %.17g, reference %.17Lg\n", e, g[e], want);
    }
    assert_int_equal(bad, 0);
    focal_loss_destroy(loss);
}

/* The target gradient where the reduced loss L and each class's term
 * divided by the denominator lie beyond the double range: softmax dense
 * targets all 0 with label smoothing 1e-65, so that the WEIGHTED_MEAN
 * denominator is 1e-65 per position (no alpha), and one logit of -1e279,
 * whose term is about 1e279. Then
 *
 *   dL/dy_j = (1 - ls) (term_j - L) / D
 *
 * is beyond the double range for every class: +inf for the class of the
 * huge term, -inf for the others, never NaN (the two products used to
 * meet as inf - inf). Rows and class-major planes; float64. */
static void test_target_gradient_beyond_range(void **state)
{
    (void)state;
    enum { C = 4, POS = 2 };
    const double row[C] = {0.5, 1.0, -1e279, 2.0}, ls = 1e-65;
    long double lse = 0, term[C], L = 0;
    for (int j = 0; j < C; j++)
        lse += expl((long double)row[j]);
    lse = logl(lse);
    for (int j = 0; j < C; j++) {
        const long double lp = (long double)row[j] - lse, q = -expm1l(lp);
        term[j] = q * q * -lp;
        L += term[j] / C;   /* every y'_j is ls / C: L is the mean term */
    }
    for (int planes = 0; planes <= 1; planes++) {
        double x[POS * C], y[POS * C], g[POS * C], up = 1.0;
        for (int i = 0; i < POS; i++)
            for (int j = 0; j < C; j++) {
                x[planes ? j * POS + i : i * C + j] = row[j];
                y[i * C + j] = 0.0;
            }
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_WEIGHTED_MEAN), FOCAL_OK);
        assert_int_equal(focal_loss_set_label_smoothing(loss, ls), FOCAL_OK);
        const int64_t n = planes ? 1 : POS, inner = planes ? POS : 1;
        assert_int_equal(focal_backward_target_dense_f64(loss, n, C, inner, x, y, NULL, &up, g), FOCAL_OK);
        int bad = 0;
        for (int i = 0; i < POS; i++)
            for (int j = 0; j < C; j++) {
                const double got = g[planes ? j * POS + i : i * C + j];
                const long double want = (1 - (long double)ls) * (term[j] - L) / ((long double)ls * POS);
                if (!(fabsl(want) > DBL_MAX ? got == (want > 0 ? INFINITY : -INFINITY) : close_to(got, want, 0, 1e-12))
                    && bad++ < 8)
                    print_error("target gradient beyond range, %s: [%d][%d] = %g, reference %Lg\n",
                                planes ? "planes" : "rows", i, j, got, want);
            }
        assert_int_equal(bad, 0);
        focal_loss_destroy(loss);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f64_tiny_weights),
        cmocka_unit_test(test_f64_tiny_alpha),
        cmocka_unit_test(test_f32_tiny_alpha),
        cmocka_unit_test(test_f64_huge_weights),
        cmocka_unit_test(test_f64_extreme_alpha),
        cmocka_unit_test(test_sigmoid_extreme_alpha),
        cmocka_unit_test(test_sigmoid_subnormal_targets),
        cmocka_unit_test(test_softmax_small_divisor),
        cmocka_unit_test(test_zero_weights_family),
        cmocka_unit_test(test_target_gradient_beyond_range),
        cmocka_unit_test(test_target_gradient_subnormal_weights),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
