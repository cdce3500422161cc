/*
 * Precision of float32 results: each float32 call against the float64 call
 * on the same (widened) inputs, on the table in use (ctest runs this suite
 * once per table the CPU can run). Every table computes in double and
 * rounds once on output, so a float32 result is the float64 one rounded,
 * up to the elementary functions' error far below float's:
 *
 *   each softmax position's loss        within 1 ulp of the float64 loss
 *   each gradient entry                 within 1 ulp of its row's largest
 *                                       float64 entry (the c entries of a
 *                                       position)
 *   each sigmoid element's loss         within 1 ulp of its row's largest
 *                                       float64 loss
 *
 * (the release asks for 4 ulp; 1 is what the design delivers). Logits are
 * uniform in [-20, 20]; gamma runs to 4; targets hard (index, and dense
 * 0/1) and soft (dense uniform in [0, 1]); reduction NONE with the fused
 * call (the gradient of the sum of out), and MEAN for the reduced value.
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

#include <focal/focal.h>

#include "errcheck.h"
#include "numcheck.h"

#define ULP_BOUND 1.0

/* The size of one float ulp at magnitude m. */
static double float_ulp(double m)
{
    m = fabs(m);
    if (m < 0x1p-126)
        return 0x1p-149;
    int e;
    frexp(m, &e);
    return ldexp(1.0, e - 24);
}

typedef struct worst {
    double ulps;
    char where[160];
} worst;

static void note(worst *w, double ulps, const char *what, int64_t i)
{
    if (ulps > w->ulps) {
        w->ulps = ulps;
        snprintf(w->where, sizeof w->where, "%s [%lld]", what, (long long)i);
    }
}

static const double gammas[] = {0.0, 0.5, 1.0, 2.0, 2.5, 4.0};
static const int64_t softmax_shapes[][3] = {{64, 5, 1}, {64, 19, 1}, {32, 80, 1}, {16, 1000, 1}, {2, 19, 33}, {2, 100, 9}};
static const int64_t sigmoid_shapes[][3] = {{64, 80, 1}, {64, 1, 1}, {2, 7, 33}, {8, 13, 1}};

/* kind: 0 index targets, 1 dense 0/1, 2 dense soft. */
static void check_one(focal_mode mode, int kind, double gamma, const int64_t shape[3], uint64_t seed, worst *w)
{
    const int64_t n = shape[0], c = shape[1], inner = shape[2];
    const int64_t elems = n * c * inner, positions = n * inner;
    const int64_t nout = mode == FOCAL_MODE_SOFTMAX ? positions : elems;
    numcheck_rng rng;
    numcheck_rng_seed(&rng, seed);
    float *x32 = numcheck_alloc((size_t)elems, sizeof(float)), *y32 = numcheck_alloc((size_t)elems, sizeof(float));
    double *x64 = numcheck_alloc((size_t)elems, sizeof(double)), *y64 = numcheck_alloc((size_t)elems, sizeof(double));
    int64_t *t = numcheck_alloc((size_t)positions, sizeof(int64_t));
    float *out32 = numcheck_alloc((size_t)nout, sizeof(float)), *g32 = numcheck_alloc((size_t)elems, sizeof(float));
    double *out64 = numcheck_alloc((size_t)nout, sizeof(double)), *g64 = numcheck_alloc((size_t)elems, sizeof(double));
    for (int64_t i = 0; i < elems; i++) {
        x32[i] = (float)numcheck_rng_uniform(&rng, -20.0, 20.0);
        x64[i] = x32[i];
        y32[i] = kind == 2 ? (float)numcheck_rng_uniform(&rng, 0.0, 1.0) : (float)numcheck_rng_below(&rng, 2);
    }
    if (mode == FOCAL_MODE_SOFTMAX && kind != 0) {
        /* A softmax target distribution per position. */
        for (int64_t p = 0; p < positions; p++) {
            const int64_t image = p / inner, s = p % inner;
            double sum = 0;
            for (int64_t j = 0; j < c; j++)
                sum += y32[(image * c + j) * inner + s];
            for (int64_t j = 0; j < c; j++) {
                float *y = &y32[(image * c + j) * inner + s];
                *y = sum > 0 ? (float)(*y / sum) : (j == 0 ? 1.0f : 0.0f);
            }
        }
    }
    for (int64_t i = 0; i < elems; i++)
        y64[i] = y32[i];
    for (int64_t p = 0; p < positions; p++)
        t[p] = numcheck_rng_below(&rng, mode == FOCAL_MODE_SOFTMAX ? c : c + 1);

    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, mode), FOCAL_OK);
    assert_int_equal(focal_loss_set_gamma(loss, gamma), FOCAL_OK);
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_NONE), FOCAL_OK);
    focal_status s32, s64;
    if (kind == 0) {
        s32 = focal_forward_backward_f32(loss, n, c, inner, x32, t, NULL, out32, g32);
        s64 = focal_forward_backward_f64(loss, n, c, inner, x64, t, NULL, out64, g64);
    } else {
        s32 = focal_forward_backward_dense_f32(loss, n, c, inner, x32, y32, NULL, out32, g32);
        s64 = focal_forward_backward_dense_f64(loss, n, c, inner, x64, y64, NULL, out64, g64);
    }
    assert_int_equal(s32, FOCAL_OK);
    assert_int_equal(s64, FOCAL_OK);

    char what[128];
    snprintf(what, sizeof what, "%s kind %d gamma %g shape (%lld, %lld, %lld)",
             mode == FOCAL_MODE_SOFTMAX ? "softmax" : "sigmoid", kind, gamma, (long long)n, (long long)c,
             (long long)inner);
    for (int64_t p = 0; p < positions; p++) {
        const int64_t image = p / inner, s = p % inner;
        double gmax = 0, lmax = 0;
        for (int64_t j = 0; j < c; j++) {
            const int64_t i = (image * c + j) * inner + s;
            gmax = fmax(gmax, fabs(g64[i]));
            if (mode == FOCAL_MODE_SIGMOID)
                lmax = fmax(lmax, fabs(out64[i]));
        }
        if (mode == FOCAL_MODE_SOFTMAX) {
            const double u = fabs((double)out32[p] - out64[p]) / float_ulp(out64[p]);
            note(w, u, what, p);
            if (!(u <= ULP_BOUND))
                errcheck_problem("%s: loss[%lld] = %.9g, float64 %.17g: %.2f ulp", what, (long long)p,
                                 (double)out32[p], out64[p], u);
        }
        for (int64_t j = 0; j < c; j++) {
            const int64_t i = (image * c + j) * inner + s;
            const double ug = fabs((double)g32[i] - g64[i]) / float_ulp(gmax);
            note(w, ug, what, i);
            if (!(ug <= ULP_BOUND))
                errcheck_problem("%s: grad[%lld] = %.9g, float64 %.17g, row max %.3g: %.2f ulp", what,
                                 (long long)i, (double)g32[i], g64[i], gmax, ug);
            if (mode == FOCAL_MODE_SIGMOID) {
                const double ul = fabs((double)out32[i] - out64[i]) / float_ulp(lmax);
                note(w, ul, what, i);
                if (!(ul <= ULP_BOUND))
                    errcheck_problem("%s: loss[%lld] = %.9g, float64 %.17g, row max %.3g: %.2f ulp", what,
                                     (long long)i, (double)out32[i], out64[i], lmax, ul);
            }
        }
    }
    /* The reduced value (MEAN) too. */
    float m32;
    double m64;
    assert_int_equal(focal_loss_set_reduction(loss, FOCAL_REDUCTION_MEAN), FOCAL_OK);
    if (kind == 0) {
        assert_int_equal(focal_forward_f32(loss, n, c, inner, x32, t, NULL, &m32), FOCAL_OK);
        assert_int_equal(focal_forward_f64(loss, n, c, inner, x64, t, NULL, &m64), FOCAL_OK);
    } else {
        assert_int_equal(focal_forward_dense_f32(loss, n, c, inner, x32, y32, NULL, &m32), FOCAL_OK);
        assert_int_equal(focal_forward_dense_f64(loss, n, c, inner, x64, y64, NULL, &m64), FOCAL_OK);
    }
    const double um = fabs((double)m32 - m64) / float_ulp(m64);
    note(w, um, what, -1);
    if (!(um <= ULP_BOUND))
        errcheck_problem("%s: mean = %.9g, float64 %.17g: %.2f ulp", what, (double)m32, m64, um);
    focal_loss_destroy(loss);
    free(x32);
    free(y32);
    free(x64);
    free(y64);
    free(t);
    free(out32);
    free(g32);
    free(out64);
    free(g64);
}

static void test_float32_against_float64(void **state)
{
    (void)state;
    worst w = {0};
    uint64_t seed = 1;
    for (int mode = 0; mode < 2; mode++) {
        const size_t nshapes = mode == 0 ? sizeof softmax_shapes / sizeof softmax_shapes[0]
                                         : sizeof sigmoid_shapes / sizeof sigmoid_shapes[0];
        for (int kind = 0; kind < 3; kind++)
            for (size_t g = 0; g < sizeof gammas / sizeof gammas[0]; g++)
                for (size_t sh = 0; sh < nshapes; sh++)
                    check_one((focal_mode)mode, kind, gammas[g], mode == 0 ? softmax_shapes[sh] : sigmoid_shapes[sh],
                              seed++, &w);
    }
    printf("precision (%s table): worst %.3f ulp at %s\n", focal_isa(), w.ulps, w.where);
    errcheck_finish();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_float32_against_float64, errcheck_reset_tally),
    };
    return cmocka_run_group_tests_name("precision", tests, NULL, NULL);
}
