/*
 * NaN locality on large tensors: a NaN in one input element makes the
 * losses that element touches NaN (the position's loss in softmax mode,
 * where the softmax mixes the classes; that element's loss in sigmoid
 * mode and with probabilities input) and nothing else, whatever the
 * layout, the precision, the instruction-set path and the number of
 * library threads (the tensors are large enough for two workers and many
 * chunks, and NaNs sit in several chunks).
 *
 * Every other output is checked against a closed form. The inputs are
 * chosen so that one exists:
 *   softmax, logits: the c logits of a position are equal (each position
 *     its own value), so p = 1/c for every class;
 *   softmax and sigmoid, probabilities: every input is P = 0.25 (inside
 *     the clip), p_t = P or 1 - P;
 *   sigmoid, logits: every logit is 0, so p = 1/2.
 * With g(p) = -(1 - p)^gamma log p (the focal term) and
 * g'(p) = gamma (1 - p)^(gamma - 1) log p - (1 - p)^gamma / p:
 *   softmax, targets y (one-hot, smoothed or dense), S = sum_j y_j:
 *     loss = S g(1/c), d loss / d x_i = g'(1/c) (1/c) (y_i - S/c);
 *   softmax, probabilities: loss = sum_j y_j g(P), d / d p_j = y_j g'(P);
 *   sigmoid, per element with target y in {0, 1}: loss = g(p_t), and
 *     d / d x = g'(p_t) p (1 - p) (2y - 1), d / d p = g'(p_t) (2y - 1).
 * Reduction NONE; the gradient is the fused call's, of the sum of out.
 * gamma is 2 and 3 (both have shortcuts in the vector kernels).
 * FOCAL_TEST_QUICK=1 (set by .ci/sanitizers.sh for ThreadSanitizer and
 * valgrind) keeps one shape and one gamma per kind, alternating, with two
 * library threads.
 *
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <focal/focal.h>

#include "numcheck.h"
#include "proc.h"

#define PROB 0.25

static int quick;
#define LS 0.1

typedef enum kind {
    SOFTMAX_INDEX,
    SOFTMAX_SMOOTHED,   /* index targets with label smoothing */
    SOFTMAX_DENSE,
    SOFTMAX_PROB_INDEX,
    SOFTMAX_PROB_DENSE,
    SIGMOID_INDEX,
    SIGMOID_DENSE,
    SIGMOID_PROB_INDEX,
    KIND_COUNT
} kind;

static const char *const kind_names[KIND_COUNT] = {
    "softmax/index", "softmax/index+ls", "softmax/dense", "softmax/prob-index",
    "softmax/prob-dense", "sigmoid/index", "sigmoid/dense", "sigmoid/prob-index",
};

static int is_sigmoid(kind k) { return k >= SIGMOID_INDEX; }
static int is_dense(kind k) { return k == SOFTMAX_DENSE || k == SOFTMAX_PROB_DENSE || k == SIGMOID_DENSE; }
static int is_prob(kind k) { return k == SOFTMAX_PROB_INDEX || k == SOFTMAX_PROB_DENSE || k == SIGMOID_PROB_INDEX; }

static double g(double p, double gamma) { return -pow(1 - p, gamma) * log(p); }
static double dg(double p, double gamma)
{
    return gamma * pow(1 - p, gamma - 1) * log(p) - pow(1 - p, gamma) / p;
}

typedef struct problem_set {
    kind k;
    int64_t n, c, inner, positions, elems;
    double gamma;
    int64_t *t;        /* index targets */
    double *y;         /* effective target of every element (smoothing applied) */
    double *x;         /* inputs, in double; NaN where planted */
    unsigned char *nan_elem;
    unsigned char *nan_pos;
} problem_set;

static int64_t elem(const problem_set *ps, int64_t pos, int64_t cls)
{
    const int64_t image = pos / ps->inner, s = pos % ps->inner;
    return (image * ps->c + cls) * ps->inner + s;
}

static void problem_init(problem_set *ps, kind k, int64_t n, int64_t c, int64_t inner, double gamma)
{
    memset(ps, 0, sizeof *ps);
    ps->k = k;
    ps->n = n;
    ps->c = c;
    ps->inner = inner;
    ps->gamma = gamma;
    ps->positions = n * inner;
    ps->elems = n * c * inner;
    ps->t = numcheck_alloc((size_t)ps->positions, sizeof(int64_t));
    ps->y = numcheck_alloc((size_t)ps->elems, sizeof(double));
    ps->x = numcheck_alloc((size_t)ps->elems, sizeof(double));
    ps->nan_elem = numcheck_alloc((size_t)ps->elems, 1);
    ps->nan_pos = numcheck_alloc((size_t)ps->positions, 1);
    memset(ps->nan_elem, 0, (size_t)ps->elems);
    memset(ps->nan_pos, 0, (size_t)ps->positions);

    for (int64_t pos = 0; pos < ps->positions; pos++) {
        /* Sigmoid index targets include the background class c. */
        ps->t[pos] = (pos * 7 + 3) % (is_sigmoid(k) ? c + 1 : c);
        const double shift = (double)(pos % 11) - 5.0;
        for (int64_t j = 0; j < c; j++) {
            const int64_t e = elem(ps, pos, j);
            double y;
            if (k == SOFTMAX_SMOOTHED)
                y = (j == ps->t[pos] ? 1 - LS : 0) + LS / (double)c;
            else if (k == SOFTMAX_DENSE || k == SOFTMAX_PROB_DENSE)
                y = (double)((pos + j) % 4) / 4.0;   /* 0, 1/4, 1/2, 3/4 */
            else if (k == SIGMOID_DENSE)
                y = (double)((pos + 2 * j) % 3 == 0);
            else
                y = j == ps->t[pos] ? 1.0 : 0.0;
            ps->y[e] = y;
            ps->x[e] = is_prob(k) ? PROB : is_sigmoid(k) ? 0.0 : shift;
        }
    }
    /* NaNs in several chunks, at elements whose loss has a term for them
     * (with probabilities input a class with y = 0 is not read). */
    const int64_t where[4] = {0, ps->positions / 3 + 1, ps->positions / 2 + 5, ps->positions - 1};
    for (int i = 0; i < 4; i++) {
        const int64_t pos = where[i];
        int64_t cls = (pos + i) % c;
        if (is_prob(k) && !is_sigmoid(k)) {
            for (int64_t j = 0; j < c; j++)
                if (ps->y[elem(ps, pos, (cls + j) % c)] > 0) {
                    cls = (cls + j) % c;
                    break;
                }
        }
        const int64_t e = elem(ps, pos, cls);
        ps->x[e] = NAN;
        ps->nan_elem[e] = 1;
        ps->nan_pos[pos] = 1;
    }
}

static void problem_free(problem_set *ps)
{
    free(ps->t);
    free(ps->y);
    free(ps->x);
    free(ps->nan_elem);
    free(ps->nan_pos);
}

/* The closed forms of the header; out index per position (softmax) or
 * element (sigmoid). */
static double want_out_softmax(const problem_set *ps, int64_t pos)
{
    double sum = 0;
    for (int64_t j = 0; j < ps->c; j++) {
        const double y = ps->y[elem(ps, pos, j)];
        sum += y * (is_prob(ps->k) ? g(PROB, ps->gamma) : g(1.0 / (double)ps->c, ps->gamma));
    }
    return sum;
}

static double want_grad(const problem_set *ps, int64_t pos, int64_t cls)
{
    const double y = ps->y[elem(ps, pos, cls)];
    if (is_sigmoid(ps->k)) {
        const double p = is_prob(ps->k) ? PROB : 0.5;
        const double pt = y == 1 ? p : 1 - p;
        const double d = dg(pt, ps->gamma) * (2 * y - 1);
        return is_prob(ps->k) ? d : d * p * (1 - p);
    }
    if (is_prob(ps->k))
        return y * dg(PROB, ps->gamma);
    const double c = (double)ps->c;
    double s = 0;
    for (int64_t j = 0; j < ps->c; j++)
        s += ps->y[elem(ps, pos, j)];
    return dg(1.0 / c, ps->gamma) * (1.0 / c) * (y - s / c);
}

static focal_loss *context_for(const problem_set *ps, int threads)
{
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, is_sigmoid(ps->k) ? FOCAL_MODE_SIGMOID : FOCAL_MODE_SOFTMAX),
                     FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, ps->gamma), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
    assert_int_equal(focal_loss_set_threads(loss, threads), FOCAL_OK);
    if (is_prob(ps->k))
        assert_int_equal(focal_loss_set_input(loss, FOCAL_INPUT_PROBABILITIES), FOCAL_OK);
    if (ps->k == SOFTMAX_SMOOTHED)
        assert_int_equal(focal_loss_set_label_smoothing(loss, LS), FOCAL_OK);
    return loss;
}

/* Runs the fused call and checks every output; returns the mismatches. */
static int check(const problem_set *ps, int f64, int threads)
{
    focal_loss *loss = context_for(ps, threads);
    const int64_t outs = is_sigmoid(ps->k) ? ps->elems : ps->positions;
    double *out = numcheck_alloc((size_t)outs, sizeof(double));
    double *grad = numcheck_alloc((size_t)ps->elems, sizeof(double));
    focal_status s;
    if (f64) {
        if (is_dense(ps->k))
            s = focal_forward_backward_dense_f64(loss, ps->n, ps->c, ps->inner, ps->x, ps->y, NULL, out, grad);
        else
            s = focal_forward_backward_f64(loss, ps->n, ps->c, ps->inner, ps->x, ps->t, NULL, out, grad);
    } else {
        float *xf = numcheck_alloc((size_t)ps->elems, sizeof(float));
        float *yf = numcheck_alloc((size_t)ps->elems, sizeof(float));
        float *of = numcheck_alloc((size_t)outs, sizeof(float));
        float *gf = numcheck_alloc((size_t)ps->elems, sizeof(float));
        for (int64_t i = 0; i < ps->elems; i++) {
            xf[i] = (float)ps->x[i];
            yf[i] = (float)ps->y[i];
        }
        if (is_dense(ps->k))
            s = focal_forward_backward_dense_f32(loss, ps->n, ps->c, ps->inner, xf, yf, NULL, of, gf);
        else
            s = focal_forward_backward_f32(loss, ps->n, ps->c, ps->inner, xf, ps->t, NULL, of, gf);
        for (int64_t i = 0; i < outs; i++)
            out[i] = of[i];
        for (int64_t i = 0; i < ps->elems; i++)
            grad[i] = gf[i];
        free(xf);
        free(yf);
        free(of);
        free(gf);
    }
    focal_loss_destroy(loss);

    char label[128];
    snprintf(label, sizeof label, "%s %s gamma %g threads %d (%" PRId64 ", %" PRId64 ", %" PRId64 ")",
             kind_names[ps->k], f64 ? "f64" : "f32", ps->gamma, threads, ps->n, ps->c, ps->inner);
    if (s != FOCAL_OK) {
        print_error("%s: status %d (%s)\n", label, (int)s, focal_last_error());
        free(out);
        free(grad);
        return 1;
    }
    const double rtol = f64 ? 1e-12 : 2e-5, atol = f64 ? 1e-15 : 1e-6;
    int bad = 0;
    for (int64_t i = 0; i < outs; i++) {
        int touched;
        double want = 0;
        if (is_sigmoid(ps->k)) {
            touched = ps->nan_elem[i];
            const double y = ps->y[i], p = is_prob(ps->k) ? PROB : 0.5;
            want = g(y == 1 ? p : 1 - p, ps->gamma);
        } else {
            touched = ps->nan_pos[i];
            want = want_out_softmax(ps, i);
        }
        const int ok = touched ? isnan(out[i]) : (isfinite(out[i]) && numcheck_close(out[i], want, rtol, atol));
        if (!ok && bad++ < 6)
            print_error("%s: out[%" PRId64 "] = %.9g, expected %s%.9g\n", label, i, out[i],
                        touched ? "NaN, not " : "", touched ? out[i] : want);
    }
    for (int64_t pos = 0; pos < ps->positions; pos++)
        for (int64_t j = 0; j < ps->c; j++) {
            const int64_t e = elem(ps, pos, j);
            /* Softmax over logits mixes the row: a NaN's whole row is
             * its own business. Elsewhere only the NaN element is. */
            if (ps->nan_pos[pos] && !is_sigmoid(ps->k) && !is_prob(ps->k))
                continue;
            if (ps->nan_elem[e]) {
                if (!isnan(grad[e]) && bad++ < 6)
                    print_error("%s: grad[%" PRId64 "] = %.9g at the NaN input, expected NaN\n", label, e,
                                grad[e]);
                continue;
            }
            const double want = want_grad(ps, pos, j);
            if (!(isfinite(grad[e]) && numcheck_close(grad[e], want, rtol, atol)) && bad++ < 6)
                print_error("%s: grad[%" PRId64 "] = %.9g, expected %.9g\n", label, e, grad[e], want);
        }
    if (bad > 0)
        print_error("%s: %d mismatch(es)\n", label, bad);
    free(out);
    free(grad);
    return bad;
}

/* Rows (inner = 1) and planes (inner > 1), above the library's parallel
 * threshold. c = 8 takes the float32 kernels' class-major layout. */
static const int64_t shapes[2][3] = {{8200, 8, 1}, {2, 8, 4100}};

static void run_kind(kind k)
{
    int bad = 0;
    for (int sh = 0; sh < 2; sh++)
        for (int gi = 0; gi < 2; gi++) {
            if (quick && gi != (sh + (int)k) % 2)
                continue;
            problem_set ps;
            problem_init(&ps, k, shapes[sh][0], shapes[sh][1], shapes[sh][2], gi ? 3.0 : 2.0);
            for (int f64 = 0; f64 < 2; f64++)
                for (int threads = quick ? 2 : 1; threads <= 2; threads++)
                    bad += check(&ps, f64, threads);
            problem_free(&ps);
        }
    assert_int_equal(bad, 0);
}

static void test_softmax_index(void **state) { (void)state; run_kind(SOFTMAX_INDEX); }
static void test_softmax_smoothed(void **state) { (void)state; run_kind(SOFTMAX_SMOOTHED); }
static void test_softmax_dense(void **state) { (void)state; run_kind(SOFTMAX_DENSE); }
static void test_softmax_prob_index(void **state) { (void)state; run_kind(SOFTMAX_PROB_INDEX); }
static void test_softmax_prob_dense(void **state) { (void)state; run_kind(SOFTMAX_PROB_DENSE); }
static void test_sigmoid_index(void **state) { (void)state; run_kind(SIGMOID_INDEX); }
static void test_sigmoid_dense(void **state) { (void)state; run_kind(SIGMOID_DENSE); }
static void test_sigmoid_prob_index(void **state) { (void)state; run_kind(SIGMOID_PROB_INDEX); }

int main(void)
{
    quick = proc_quick();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_index),       cmocka_unit_test(test_softmax_smoothed),
        cmocka_unit_test(test_softmax_dense),       cmocka_unit_test(test_softmax_prob_index),
        cmocka_unit_test(test_softmax_prob_dense),  cmocka_unit_test(test_sigmoid_index),
        cmocka_unit_test(test_sigmoid_dense),       cmocka_unit_test(test_sigmoid_prob_index),
    };
    return cmocka_run_group_tests_name("nan_locality", tests, NULL, NULL);
}
