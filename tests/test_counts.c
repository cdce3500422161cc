/*
 * The shard's counts (focal_counts_*) against sums written out by hand,
 * under every reduction: a data-parallel caller counts once and may have
 * set any reduction (DIVISOR included) before it does, so every count is
 * reported whatever the reduction. Softmax with index targets (alpha
 * vector, weights, ignore_index) and sigmoid with dense targets (scalar
 * alpha, weights), float32 and float64.
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

#include <focal/focal.h>

enum { N = 7, C = 3 };

static const focal_reduction REDUCTIONS[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN, FOCAL_REDUCTION_SUM,
                                             FOCAL_REDUCTION_WEIGHTED_MEAN, FOCAL_REDUCTION_DIVISOR};

static void check_counts(const double got[3], const double want[3], const char *what, int reduction)
{
    for (int k = 0; k < 3; k++) {
        /* NaN never passes; an infinity only where one is wanted. */
        if (got[k] != want[k] && !(fabs(got[k] - want[k]) <= 1e-6 * fmax(1.0, fabs(want[k])))) {
            print_error("%s, reduction %d: counts[%d] = %.17g, want %.17g\n", what, reduction, k, got[k], want[k]);
            fail();
        }
    }
}

static void test_softmax_index(void **state)
{
    (void)state;
    const int64_t target[N] = {0, 2, -1, 1, 2, -1, 0};   /* -1: ignored */
    const double alpha[C] = {0.25, 0.5, 0.75};
    const double w64[N] = {1.0, 0.5, 3.0, 2.0, 1.5, 4.0, 0.25};
    float w32[N];
    for (int i = 0; i < N; i++)
        w32[i] = (float)w64[i];
    /* non-ignored positions; sum of w alpha[t] over them; no positives in softmax mode */
    double want[3] = {0, 0, 0};
    for (int i = 0; i < N; i++) {
        if (target[i] < 0)
            continue;
        want[0] += 1;
        want[1] += w64[i] * alpha[target[i]];
    }
    for (size_t r = 0; r < sizeof REDUCTIONS / sizeof REDUCTIONS[0]; r++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha_vector(loss, alpha, C), FOCAL_OK);
        assert_int_equal(focal_loss_set_ignore_index(loss, -1), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, REDUCTIONS[r]), FOCAL_OK);
        double got[3] = {-1, -1, -1};
        assert_int_equal(focal_counts_f64(loss, N, C, 1, target, w64, got), FOCAL_OK);
        check_counts(got, want, "softmax f64", (int)REDUCTIONS[r]);
        double got32[3] = {-1, -1, -1};
        assert_int_equal(focal_counts_f32(loss, N, C, 1, target, w32, got32), FOCAL_OK);
        check_counts(got32, want, "softmax f32", (int)REDUCTIONS[r]);
        focal_loss_destroy(loss);
    }
}

static void test_sigmoid_dense(void **state)
{
    (void)state;
    const double y64[N * C] = {1, 0, 0, 0, 0.5, 0, 0, 0, 1, 0.25, 0, 0, 1, 1, 0, 0, 0, 0, 0.75, 0, 1};
    const double w64[N] = {1.0, 0.5, 3.0, 2.0, 1.5, 4.0, 0.25};
    const double a = 0.25;
    float y32[N * C], w32[N];
    for (int i = 0; i < N * C; i++)
        y32[i] = (float)y64[i];
    for (int i = 0; i < N; i++)
        w32[i] = (float)w64[i];
    /* elements; sum of w (a y + (1 - a)(1 - y)); sum of the targets */
    double want[3] = {(double)(N * C), 0, 0};
    for (int i = 0; i < N; i++)
        for (int j = 0; j < C; j++) {
            const double y = y64[i * C + j];
            want[1] += w64[i] * (a * y + (1 - a) * (1 - y));
            want[2] += y;
        }
    const focal_reduction sig[] = {FOCAL_REDUCTION_NONE, FOCAL_REDUCTION_MEAN, FOCAL_REDUCTION_SUM,
                                   FOCAL_REDUCTION_WEIGHTED_MEAN, FOCAL_REDUCTION_SUM_OVER_POSITIVES,
                                   FOCAL_REDUCTION_DIVISOR};
    for (size_t r = 0; r < sizeof sig / sizeof sig[0]; r++) {
        focal_loss *loss = NULL;
        assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
        assert_int_equal(focal_loss_set_alpha(loss, a), FOCAL_OK);
        assert_int_equal(focal_loss_set_reduction(loss, sig[r]), FOCAL_OK);
        double got[3] = {-1, -1, -1};
        assert_int_equal(focal_counts_dense_f64(loss, N, C, 1, y64, w64, got), FOCAL_OK);
        check_counts(got, want, "sigmoid f64", (int)sig[r]);
        double got32[3] = {-1, -1, -1};
        assert_int_equal(focal_counts_dense_f32(loss, N, C, 1, y32, w32, got32), FOCAL_OK);
        check_counts(got32, want, "sigmoid f32", (int)sig[r]);
        focal_loss_destroy(loss);
    }
}

/* Alphas far from 1: sum(w alpha_t) is formed with alphas scaled by a
 * power of two and scaled back, so that it is the true sum rounded, not a
 * NaN from infinities of both signs (sigmoid alpha +-DBL_MAX: a y + (1 -
 * a)(1 - y) is +-DBL_MAX on positives and about -+DBL_MAX on negatives)
 * nor an overflow of partial sums whose total is finite. */
static void test_alpha_far_from_one(void **state)
{
    (void)state;
    enum { PN = 3, PC = 1 };
    /* Two positives and a negative: 2a + (1 - a) = a + 1, which rounds to
     * a for |a| = DBL_MAX; unscaled, a + a overflows first. */
    const double y[PN * PC] = {1, 1, 0};
    const float y32[PN * PC] = {1, 1, 0};
    const double alphas[] = {DBL_MAX, -DBL_MAX, 0x1p600};
    for (size_t i = 0; i < sizeof alphas / sizeof alphas[0]; i++) {
        const double a = alphas[i];
        const double want[3] = {PN * PC, a + 1.0, 2};
        for (int r = 0; r < 2; r++) {
            focal_loss *loss = NULL;
            assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SIGMOID), FOCAL_OK);
            assert_int_equal(focal_loss_set_alpha(loss, a), FOCAL_OK);
            assert_int_equal(focal_loss_set_reduction(loss, r ? FOCAL_REDUCTION_WEIGHTED_MEAN : FOCAL_REDUCTION_SUM),
                             FOCAL_OK);
            double got[3] = {-1, -1, -1};
            assert_int_equal(focal_counts_dense_f64(loss, PN, PC, 1, y, NULL, got), FOCAL_OK);
            check_counts(got, want, "sigmoid alpha far from 1, f64", r);
            double got32[3] = {-1, -1, -1};
            assert_int_equal(focal_counts_dense_f32(loss, PN, PC, 1, y32, NULL, got32), FOCAL_OK);
            check_counts(got32, want, "sigmoid alpha far from 1, f32", r);
            focal_loss_destroy(loss);
        }
    }
    /* Softmax, an alpha vector with entries of +-2^1000: 2^1000 (class 0)
     * twice, -2^1000 (class 1) once, 1 (class 2) once. */
    const int64_t t[4] = {0, 1, 0, 2};
    const double av[3] = {0x1p1000, -0x1p1000, 1.0};
    const double want[3] = {4, 0x1p1000 + 1.0, 0};
    focal_loss *loss = NULL;
    assert_int_equal(focal_loss_create(&loss, FOCAL_MODE_SOFTMAX), FOCAL_OK);
    assert_int_equal(focal_loss_set_alpha_vector(loss, av, 3), FOCAL_OK);
    double got[3] = {-1, -1, -1};
    assert_int_equal(focal_counts_f64(loss, 4, 3, 1, t, NULL, got), FOCAL_OK);
    check_counts(got, want, "softmax alpha vector far from 1", 0);
    focal_loss_destroy(loss);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_index),
        cmocka_unit_test(test_sigmoid_dense),
        cmocka_unit_test(test_alpha_far_from_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
